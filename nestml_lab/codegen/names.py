"""The one place that knows the names NESTML gives generated models.

NESTML appends a suffix to every model name and, when it co-generates a
neuron with plastic synapses, renames both (``neuron__with_synapse``) and
moves the synapse's postsynaptic variables into the neuron with the suffix
``__for_<synapse>``. Code generation, the module registration and the harness
all call these functions; nobody retypes a mangled name.
"""

from __future__ import annotations

from typing import Sequence

SEPARATOR = "__with_"
JOINER = "_and_"
MOVED_VARIABLE = "__for_"


def plain(model: str, suffix: str) -> str:
    """NEST name of a model generated on its own, e.g. ``iaf_psc_exp_neuron_nestml``."""
    return model + suffix


def paired_neuron(neuron: str, synapses: Sequence[str], suffix: str) -> str:
    """NEST name of ``neuron`` co-generated with ``synapses`` (in manifest order)."""
    return plain(neuron, suffix) + SEPARATOR + JOINER.join(plain(s, suffix) for s in synapses)


def paired_synapse(synapse: str, neuron: str, synapses: Sequence[str], suffix: str) -> str:
    """NEST name of ``synapse`` co-generated with ``neuron`` and its partner ``synapses``.

    With one synapse NESTML names it after the plain neuron, with several after
    the co-generated neuron (whose name lists them all).
    """
    if synapse not in synapses:
        raise ValueError(f"{synapse!r} is not among the paired synapses {list(synapses)}")
    if len(synapses) == 1:
        partner = plain(neuron, suffix)
    else:
        partner = paired_neuron(neuron, synapses, suffix)
    return plain(synapse, suffix) + SEPARATOR + partner


def short_pair(neuron: str, synapse: str, suffix: str) -> tuple[str, str]:
    """Short, stable NEST names ``(neuron, synapse)`` of a co-generated pair.

    They are the names NESTML gives the pair when the neuron carries only this
    synapse, e.g. ``iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml`` and
    ``stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml``, so they do not
    change when another synapse joins the neuron. The module registers them
    beside NESTML's names (which list every synapse of the neuron).
    """
    return paired_neuron(neuron, [synapse], suffix), paired_synapse(synapse, neuron, [synapse], suffix)


def moved_variable(variable: str, synapse: str, suffix: str) -> str:
    """Name, in the co-generated neuron, of a synapse variable NESTML moved there.

    e.g. ``tau_tr_post`` of ``stdp_synapse`` -> ``tau_tr_post__for_stdp_synapse_nestml``.
    """
    return variable + MOVED_VARIABLE + plain(synapse, suffix)


def own_name(nest_name: str) -> str:
    """A co-generated model's NEST name without its partner: ``stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml``
    -> ``stdp_synapse_nestml`` (the name moved variables carry, :func:`moved_variable`).
    """
    return nest_name.split(SEPARATOR)[0]
