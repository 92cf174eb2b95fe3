"""The fixes: checked edits to NESTML's generated C++ where its behaviour would mislead a user or is wrong.

Each is a pass of the table in ``edits/__init__.py`` (its name first) and fails closed: where NESTML's code
is not what the fix expects, the build stops, naming the fix and the model.

``moved_parameters``
    After co-generation NESTML moves a synapse's postsynaptic parameters into
    the neuron (``tau_tr_post`` -> the neuron's ``tau_tr_post__for_<synapse>``)
    but leaves the synapse's own copy settable, where it is silently ignored. We
    make the synapse refuse it with a message that names the neuron's parameter.
``history_entry``
    A co-generated neuron prunes its spike history as soon as an entry has been
    read by every synapse. But a synapse's onReceive(post) block that reads a
    postsynaptic trace (the triplet rule's o2) needs the entry *before* the
    spike it processes, which may already be gone: the trace then reads as 0.
    We keep an entry until the one after it has been read as well.
``volume_transmitter``
    A synapse with a vt port takes its volume transmitter as a common property
    (``nest.SetDefaults(synapse, {"volume_transmitter": vt})``), but NESTML's
    common properties do not report it, and PyNEST's SetDefaults refuses a key
    that GetDefaults lacks. We report it, as NEST's stdp_dopamine_synapse does.
``wrong_neuron``
    A co-generated synapse connected to a neuron it was not generated with
    calls exit(1) (the Python process, a Jupyter kernel, dies). It raises NEST's
    IllegalConnection instead.
``unused_tau_minus``
    A co-generated neuron accepts ``tau_minus`` (NEST's archiving-node
    parameter, which every stdp_synapse user sets) and never reads it. It
    refuses a new value, naming the parameters that count.
``non_finite``
    NESTML's ``set_status`` takes NaN for any value. Every model refuses NaN,
    and an infinity where the value was finite, naming the variable, as NEST's
    own models do.
``gap_junctions``
    Gap-junction neurons, to do what NEST's own (hh_psc_alpha_gap) do. NESTML
    9.0.0's never tell NEST they take part in waveform relaxation, so NEST
    never iterates them: the coupling runs on the neighbours' voltage of the
    previous communication interval. Once iterated, an iteration would read
    (and so clear) the spike buffers of the step and send the spikes it finds,
    spikes that the real update then loses or sends again. And GSL-integrated
    ones evaluate the neighbours' waveform at the step's end for the whole
    step (the polynomial's time is set before each GSL call instead of read
    from GSL's time). On NEST's two-neuron example coupled HH neurons spiked up
    to 1.4 ms away from hh_psc_alpha_gap. And the time at which a neuron
    whose V_m is solved exactly reads the waveform is a member no constructor
    sets: its first step read an uninitialised double (a NaN in one run of
    twenty coupled LIFs: every V_m NaN from then on, no spike). And the loop
    that reads the continuous inputs of the step is emitted once per
    continuous port: with a current port beside the gap port the second
    reading finds the first one's emptied buffer, so a step_current_generator
    never reaches the neuron. Each of the six is fixed (the time starts at 0,
    the step's start; the inputs are read once).

The fix of NESTML's Euler steps outside ``update`` (``post_trace_euler``) is beside the solvers
(``edits/solvers.py``). The C++ they insert names this file.
"""

from __future__ import annotations

import re

from nestml_lab.codegen import names
from nestml_lab.codegen.edits.cpp import NoMatch, NotApplicable
from nestml_lab.codegen.edits.model import Model, moved_variables


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


_GAP_TIME = "const double __t_gap = node.gap_junction_step / nest::Time::get_resolution().get_ms();"
_GAP_TIME_PATCHED = ("const double __t_gap = ( node.gap_junction_step < 0 ? __time : node.gap_junction_step ) "
                     "/ nest::Time::get_resolution().get_ms();  // patched (codegen/edits/fixes.py): GSL's time")
_GAP_GSL_STEP = re.compile(r"^(\s*)gap_junction_step = B_\.__step;\n(?=\n\s*const int status = gsl_odeiv_evolve_apply)", re.M)
_SPIKE_BUFFER_READ = re.compile(r"^(\s*get_spike_input(?:s|_received)_grid_sum_\(\)\[i\] = )"
                                r"(get_spike_input(?:s|_received)_\(\)\[i\])\.get_value\(lag\);$", re.M)
_SPIKE_SEND = re.compile(r"^(\s*)(set_spiketime\(nest::Time::step\(origin\.get_steps\(\) \+ lag \+ 1\)\);\n"
                         r"\s*nest::SpikeEvent se;\n\s*nest::kernel\(\)\.event_delivery_manager\.send\(\*this, se, lag\);)",
                         re.M)


_CONTINUOUS_READ = """    for (long i = 0; i < NUM_CONTINUOUS_INPUT_PORTS; ++i)
    {
        if ( called_from_wfr_update )
        {
          get_continuous_inputs_grid_sum_()[i] = get_continuous_inputs_()[i].get_value_wfr_update(lag);
        }
        else
        {
          get_continuous_inputs_grid_sum_()[i] = get_continuous_inputs_()[i].get_value(lag);
        }
    }
"""


def gap_junction_neuron(source: str, neuron: str) -> tuple[str, list[str]]:
    """Make a gap-junction neuron take part in waveform relaxation as NEST's own do (docstring, point 8).

    Returns the patched source and what was not as expected (empty when all is well).
    """
    if "set_node_uses_wfr(" in source:   # patched already
        return source, []
    missing = []
    ctor = re.compile(rf"^{re.escape(neuron)}::{re.escape(neuron)}\((?:const {re.escape(neuron)}& __n)?\):[^{{]*\{{\n", re.M)
    if len(ctor.findall(source)) != 2:
        missing.append("its two constructors")
    source = ctor.sub(lambda m: m.group(0) + "  // patched (codegen/edits/fixes.py): iterated by NEST's waveform relaxation\n"
                      "  set_node_uses_wfr( nest::kernel().simulation_manager.use_wfr() );\n"
                      "  gap_junction_step = 0.0;  // patched: NESTML leaves it uninitialised\n", source)
    body = source.find(f"bool {neuron}::update_(")
    end = source.find("return wfr_tol_exceeded;", body)
    if body < 0 or end < 0:
        return source, missing + ["its update_()"]
    update = source[body:end]
    if "NUM_SPIKE_RECEPTORS" in update:
        update, n = _SPIKE_BUFFER_READ.subn(
            r"\1called_from_wfr_update ? \2.get_value_wfr_update(lag) : \2.get_value(lag);", update)
        if n != 2:
            missing.append("its spike-buffer reads")
    update = _SPIKE_SEND.sub(lambda m: f"{m.group(1)}if ( not called_from_wfr_update )  // patched: a waveform "
                             f"relaxation iteration sends no spike\n{m.group(1)}{{\n{m.group(1)}  "
                             + m.group(2).replace("\n", "\n  ") + f"\n{m.group(1)}}}", update)
    reads = update.count(_CONTINUOUS_READ)
    if reads > 1:   # one reading of every continuous port per step, not one per port
        first = update.index(_CONTINUOUS_READ) + len(_CONTINUOUS_READ)
        update = update[:first] + update[first:].replace(_CONTINUOUS_READ, "")
    elif reads == 0 and "NUM_CONTINUOUS_INPUT_PORTS" in update:
        missing.append("its reading of the continuous inputs")
    gsl = "gsl_odeiv_evolve_apply" in update and _GAP_TIME_PATCHED not in source
    if gsl and (source.count(_GAP_TIME) != 1 or len(_GAP_GSL_STEP.findall(update)) != 1):
        missing.append("the time of its gap current in GSL's dynamics")
    elif gsl:
        update = _GAP_GSL_STEP.sub(r"\1gap_junction_step = -1;  // GSL's own time within the step\n", update)
    source = source[:body] + update + source[end:]
    return (source.replace(_GAP_TIME, _GAP_TIME_PATCHED) if gsl else source), missing


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
    patched = _VT_GET_STATUS[:-len("    }")] + """        // patched (codegen/edits/fixes.py): report the volume transmitter, as NEST's stdp_dopamine_synapse does
        d[ names::volume_transmitter ] = NodeCollection::create( static_cast< const Node* >( vt_ ) );
    }"""
    return synapse_header.replace(_VT_GET_STATUS, patched), True


_WRONG_NEURON = re.compile(
    r'catch \(std::bad_cast &exp\) \{\n(\s*)std::cerr << "wrong type of neuron connected! Synapse \'(\w+)\' will only '
    r'work with neuron \'(\w+)\'\.\\n";\n\s*exit\(1\);')


def refuse_wrong_neuron(synapse_header: str) -> tuple[str, bool]:
    """A co-generated synapse connected to another neuron raises NEST's IllegalConnection instead of exit(1).

    NESTML's check_connection ends the whole process (a Jupyter kernel dies);
    NEST's own models raise ``IllegalConnection``, which PyNEST turns into a
    Python exception.
    """
    def replace(m: re.Match) -> str:
        indent, synapse, neuron = m.groups()
        return (f'catch (std::bad_cast &exp) {{\n'
                f'{indent}// patched (codegen/edits/fixes.py): NESTML calls exit(1) here\n'
                f'{indent}throw nest::IllegalConnection( "{synapse} connects only to {neuron} (the neuron it was '
                f'generated with, or its short name), not to " + t.get_name() );')

    patched, n = _WRONG_NEURON.subn(replace, synapse_header)
    return patched, n == 1


_ARCHIVING_SET = "  ArchivingNode::set_status(__d);\n"


def refuse_unused_tau_minus(neuron_header: str, moved: dict[str, list[str]]) -> tuple[str, bool]:
    """A co-generated neuron refuses a new ``tau_minus``/``tau_minus_triplet``, naming the parameters that count.

    Every NEST user sets ``tau_minus`` on the postsynaptic neuron for
    ``stdp_synapse``; after co-generation the postsynaptic traces are the
    neuron's ``tau_tr_post__for_<synapse>`` (and the like), and the archiving
    node's ``tau_minus`` is never read. Setting it to the value it has (a
    get/set round trip) stays allowed. ``moved`` maps each synapse to the names
    of its time constants in the neuron.
    """
    if neuron_header.count(_ARCHIVING_SET) != 1:
        return neuron_header, False
    counted = "; ".join(f"{s}: {', '.join(v)}" for s, v in moved.items() if v) or "none"
    message = ("is not used by this co-generated neuron: its synapses' postsynaptic traces have their own "
               f"time constants, set those instead ({counted})")
    check = ("  // patched (codegen/edits/fixes.py): tau_minus is NEST's archiving-node parameter, unused after co-generation\n"
             "  {\n"
             "    DictionaryDatum __archived;\n"
             "    ArchivingNode::get_status( __archived );\n"
             "    for ( const std::string& __n : { nest::names::tau_minus, nest::names::tau_minus_triplet } )\n"
             "    {\n"
             "      double __v;\n"
             "      if ( __d.update_value( __n, __v ) and __v != __archived.get< double >( __n ) )\n"
             "      {\n"
             f'        throw nest::BadProperty( __n + " {message}" );\n'
             "      }\n"
             "    }\n"
             "  }\n")
    return neuron_header.replace(_ARCHIVING_SET, check + _ARCHIVING_SET), True


_FINITE_HELPER = """
// nestml-lab: NaN, and infinities where the value was finite, are refused as NEST's own models refuse them
#ifndef NESTML_LAB_REQUIRE_FINITE
#define NESTML_LAB_REQUIRE_FINITE
#include <cmath>
#include <string>
inline void nestml_lab_require_finite( const double value, const double before, const char* name )
{
  if ( std::isnan( value ) or ( std::isinf( value ) and not std::isinf( before ) ) )
  {
    throw nest::BadProperty( std::string( name ) + " must be a finite number, not " + std::to_string( value ) );
  }
}
#endif
"""
_TMP = re.compile(r"double tmp_(\w+) = (get_\w+)\(\);")
_NEURON_UPDATE = re.compile(r"(update_value_param\(__d, [\w:]+, tmp_(\w+), this\);)")
_SYNAPSE_UPDATE = re.compile(r"(__d\.update_value\([\w:]+, tmp_(\w+)\);)")


def has_real_setters(header: str) -> bool:
    """Whether a generated header's ``set_status`` sets a real (double) parameter or state variable."""
    return bool(_TMP.search(header)) and ("update_value_param(" in header or "__d.update_value(" in header)


def refuse_non_finite(header: str) -> tuple[str, int]:
    """Make a generated model's ``set_status`` refuse NaN for any parameter or state variable, and an
    infinity where the value was finite (a bound such as ``V_min = -inf`` may stay infinite), naming the
    variable; return the header and how many values are checked (0: the pattern was not found).
    """
    getters = dict(_TMP.findall(header))
    count = 0

    def check(match: re.Match) -> str:
        nonlocal count
        name = match.group(2)
        if name not in getters:
            return match.group(1)
        count += 1
        return f'{match.group(1)} nestml_lab_require_finite(tmp_{name}, {getters[name]}(), "{name}");'

    header = _NEURON_UPDATE.sub(check, header)
    header = _SYNAPSE_UPDATE.sub(check, header)
    if count:
        includes = list(re.finditer(r"^#include .*$", header, re.M))
        at = includes[-1].end() if includes else 0
        header = header[:at] + "\n" + _FINITE_HELPER + header[at:]
    return header, count


# --------------------------------------------------------------------------- the passes

def moved_parameters(m: Model) -> str:
    """A co-generated synapse refuses the parameters NESTML moved into its neuron, naming the neuron's."""
    m.header, _ = refuse_moved_variables(m.header, m.name, m.synapse.plain, m.unit.paired, m.moved())
    return ""


def _found(result: tuple[str, bool], what: str) -> str:
    """The text a patch returned, or NoMatch naming ``what`` where it did not find NESTML's code."""
    text, found = result
    if not found:
        raise NoMatch(what)
    return text


def history_entry(m: Model) -> str:
    """A co-generated neuron keeps a history entry until the one after it has been read as well."""
    m.cpp = _found(keep_preceding_history_entry(m.cpp), "the history pruning")
    return ""


def unused_tau_minus(m: Model) -> str:
    """A co-generated neuron refuses a new tau_minus, naming its synapses' time constants."""
    taus = {s.model: [v + names.MOVED_VARIABLE + s.plain for v in moved_variables(m.header, s.plain)
                      if v.startswith("tau")] for s in m.unit.synapses.values()}
    m.header = _found(refuse_unused_tau_minus(m.header, taus), "the set_status")
    return ""


def gap_junctions(m: Model) -> str:
    """A gap-junction neuron takes part in NEST's waveform relaxation as NEST's own do."""
    text, missing = gap_junction_neuron(m.cpp, m.name)
    m.cpp = _found((text, not missing), f"the gap-junction code ({', '.join(missing)})")
    return ""


def wrong_neuron(m: Model) -> str:
    """A co-generated synapse connected to another neuron raises NEST's IllegalConnection, not exit(1)."""
    m.header = _found(refuse_wrong_neuron(m.header), "the connection check")
    return ""


def volume_transmitter(m: Model) -> str:
    """A vt-port synapse's common properties report its volume transmitter."""
    m.header = _found(report_volume_transmitter(m.header), "the vt-port code")
    return ""


def non_finite(m: Model) -> str:
    """Every model's set_status refuses NaN, and infinities where the value was finite."""
    text, checked = refuse_non_finite(m.header)
    if not checked:
        if has_real_setters(m.header):
            raise NoMatch("the set_status (refuse_non_finite)")
        raise NotApplicable("integer and boolean values need no check")
    m.header = text
    return ""
