"""Small, checked edits to NESTML's generated C++ where its behaviour would mislead a user or is wrong.

1. After co-generation NESTML moves a synapse's postsynaptic parameters into
   the neuron (``tau_tr_post`` -> the neuron's ``tau_tr_post__for_<synapse>``)
   but leaves the synapse's own copy settable, where it is silently ignored. We
   make the synapse refuse it with a message that names the neuron's parameter.
2. A co-generated neuron prunes its spike history as soon as an entry has been
   read by every synapse. But a synapse's onReceive(post) block that reads a
   postsynaptic trace (the triplet rule's o2) needs the entry *before* the
   spike it processes, which may already be gone: the trace then reads as 0.
   We keep an entry until the one after it has been read as well.
3. A synapse with a vt port takes its volume transmitter as a common property
   (``nest.SetDefaults(synapse, {"volume_transmitter": vt})``), but NESTML's
   common properties do not report it, and PyNEST's SetDefaults refuses a key
   that GetDefaults lacks. We report it, as NEST's stdp_dopamine_synapse does.
"""

from __future__ import annotations

import re

from nestml_lab.codegen import names


def moved_variables(neuron_header: str, synapse_plain: str) -> list[str]:
    """Synapse variables that NESTML moved into the co-generated neuron."""
    pattern = re.compile(r'const Name _(\w+)' + re.escape(names.MOVED_VARIABLE + synapse_plain) + r'\(')
    return sorted(set(pattern.findall(neuron_header)))


def refuse_moved_variables(synapse_header: str, synapse: str, synapse_plain: str, neuron: str,
                           moved: list[str]) -> tuple[str, list[str]]:
    """Make the synapse's status dictionary refuse (and stop showing) variables moved to ``neuron``.

    Returns
    -------
    text : str
        The patched header.
    patched : list of str
        The variables that were still exposed by the synapse and are now refused.
    """
    patched = []
    for var in moved:
        name_ref = rf"(?:nest::)?{re.escape(synapse)}_names::_{re.escape(var)}\b"
        setter = re.compile(rf"^(\s*)__d\.update_value\(\s*({name_ref})\s*,\s*tmp_{re.escape(var)}\s*\);", re.M)
        m = setter.search(synapse_header)
        if not m:
            continue
        indent, ref = m.group(1), m.group(2)
        moved_name = var + names.MOVED_VARIABLE + synapse_plain
        message = (f"{var} of synapse {synapse} is not used: after co-generation it is the postsynaptic "
                   f"neuron's parameter {moved_name} (set it on the {neuron} neurons, e.g. with "
                   f"nest.SetDefaults or nest.Create params)")
        replacement = (f'{indent}if ( __d->known( {ref} ) )\n'
                       f'{indent}{{\n'
                       f'{indent}  throw nest::BadProperty( "{message}" );\n'
                       f'{indent}}}')
        synapse_header = synapse_header[:m.start()] + replacement + synapse_header[m.end():]
        getter = re.compile(rf"^\s*__d\[\s*{name_ref}\s*\]\s*=\s*get_{re.escape(var)}\(\);\n", re.M)
        synapse_header = getter.sub("", synapse_header)
        patched.append(var)
    return synapse_header, patched


PRUNE_CONDITION = "if ( history_.front().access_counter_ >= n_incoming_"
PRUNE_PATCHED = PRUNE_CONDITION + " and history_[ 1 ].access_counter_ >= n_incoming_"


def keep_preceding_history_entry(neuron_source: str) -> tuple[str, bool]:
    """Patch a co-generated neuron's history pruning (see the module docstring, point 2).

    Returns the patched source and whether the pruning condition was found.
    """
    if PRUNE_PATCHED in neuron_source:
        return neuron_source, True
    if PRUNE_CONDITION not in neuron_source:
        return neuron_source, False
    return neuron_source.replace(PRUNE_CONDITION, PRUNE_PATCHED), True


_VT_GET_STATUS = """    void get_status( DictionaryDatum& d ) const
    {
        CommonSynapseProperties::get_status( d );
    }"""


def report_volume_transmitter(synapse_header: str) -> tuple[str, bool]:
    """Make a vt-port synapse's common properties report ``volume_transmitter`` (empty until one is set)."""
    if "volume_transmitter* vt_ = nullptr;" not in synapse_header:
        return synapse_header, False
    if synapse_header.count(_VT_GET_STATUS) != 1:
        return synapse_header, False
    patched = _VT_GET_STATUS[:-len("    }")] + """        // patched (codegen/patches.py): report the volume transmitter, as NEST's stdp_dopamine_synapse does
        d[ names::volume_transmitter ] = NodeCollection::create( static_cast< const Node* >( vt_ ) );
    }"""
    return synapse_header.replace(_VT_GET_STATUS, patched), True
