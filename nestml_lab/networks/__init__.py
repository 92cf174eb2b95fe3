"""Declarative experiments: a network and its simulation sessions described by one YAML parameter tree.

The package reads as the steps: :mod:`~nestml_lab.networks.schema` (every key once: what it takes, its
default, unit and meaning; docs/trees.md's table is made from it), :mod:`~nestml_lab.networks.tree` (a tree
read, checked and resolved, with :mod:`~nestml_lab.networks.checks` and :mod:`~nestml_lab.networks.memory`),
:mod:`~nestml_lab.networks.build` (the network in NEST), :mod:`~nestml_lab.networks.sessions` (the sessions
run) and :mod:`~nestml_lab.networks.storage` (the run folder).

The tree (seed notebook 003 shows the idea) has three parts, and may name the projects whose models it
uses (``modules:``, folders relative to the tree file; a leaf ``nestml: <model>`` is looked up in them in
order, then in the catalog; ``catalog: <model>`` is the catalog's)::

    modules: [../my_models]                                # optional

    kernel:    {resolution_ms: 0.1, seed: 1, threads: 2}   # threads per process, or instead
                                                           # total_num_virtual_procs: 2 (processes x threads:
                                                           # the same spikes for 1 x 2 and 2 x 1)
    network:
      neuron_models:      # a tree: every node may carry params / nest_params; leaves are models and
        params: {catalog: iaf_psc_exp_neuron}          # inherit from their ancestors (leaf wins)
        nest_params: {C_m: 250.0}
        exc: {nest_params: {I_e: 10.0}}
      synapse_models:     # likewise; a leaf names a NEST built-in (nest_model) or a catalog synapse
        ee: {params: {catalog: stdp_synapse, partner: iaf_psc_exp_neuron}, nest_params: {weight: 10.0}}
      populations:        # name -> model (a neuron-model leaf, or nest:<device>) and size
        E: {model: exc, n: 100}
        L: {model: exc, spatial: {shape: [20, 20], extent: [1.0, 1.0], edge_wrap: true}}   # a grid layer
        inputs: {model: "nest:poisson_generator", n: 50, parrots: true,   # each generator repeated by a
                 spatial: {random: true}}                                 # parrot at a random place
      connections:        # list of projections (target_range: [first, stop) of the target population)
        - {source: E, target: E, synapse: ee, rule: {rule: fixed_indegree, indegree: 10}}
        - {source: inputs, target: L, rule: {rule: pairwise_bernoulli, mask: {circular: {radius: 0.3}},
                                             p: {gaussian: {std: 0.1, p_center: 0.8}}},   # or {exponential: {beta}}
           nest_params: {delay: {distance: {offset: 1.0, slope: 2.0}}}}   # ms: 1 + 2 x distance
      recorders:          # spikes of populations, weights of a bounded sample of sources' connections,
        - {name: spikes, populations: [E]}        # or state variables of at most max_nodes per population
        - {name: w, weights: {source: E, synapse: ee, max_sources: 100}}
        - {name: vm, multimeter: {populations: [E], record_from: [V_m], interval_ms: 1.0, max_nodes: 10}}
    sessions:             # named phases, run in order; each may change units before it runs
      warmup: {simulation_time_ms: 200, record: false}
      high_input: {simulation_time_ms: 500, unit_changes: [{population: noise, nest_params: {rate: 20.0}}]}

A value in ``nest_params`` may be a distribution, drawn per node or connection
by NEST: ``{normal: {mean: -65, std: 5}}``, ``{uniform: {min: 0, max: 1}}``,
``{redraw: {normal: {...}, min: 0, max: .inf}}``.
Unknown keys anywhere are errors that name the file and the path in the tree.

Spatial populations (seed notebook 003's layers) sit on a grid (``shape: [columns, rows]``) or
at random places in their ``extent``; a connection between two of them may have a ``mask``,
a kernel as its probability ``p`` and distance-dependent values. ``parrots: true`` makes a
stimulator layer: the generators are repeated by parrot neurons, which carry the positions
and stand for the population in connections and recorders (unit changes go to the
generators). :meth:`RunData.gids` finds a population's node ids, at a grid ``location``
or nearest a point.

:func:`simulate` runs a tree and returns what it recorded (merged over MPI
processes: :mod:`nestml_lab.parallel`); :func:`run` also writes, into its output folder, the fully resolved tree
(``parameter_tree.yml``: every leaf with its inherited parameters), the
versions (``versions.json``), the session times (``session_times.yml``), the positions
of spatial populations (``positions.npz``) and
the recorded data per session (``data/<session>.npz``, the layout of every
experiment's arrays, docs/results.md: ``<recorder>.senders`` and ``<recorder>.times`` for
spikes and multimeters, ``.<variable>`` for a multimeter's state variables, ``.source``,
``.target`` and ``.weight`` for weights read at the end of the session from at most
``max_sources`` sources, so memory stays bounded); :func:`load` reads a run back
and :func:`rerun_tree` gives the tree of a run folder to run it again.
"""

from __future__ import annotations

from pathlib import Path

from nestml_lab.networks.checks import TreeError
from nestml_lab.networks.sessions import simulate, simulate_in_chunks
from nestml_lab.networks.storage import RunData, load, spike_arrays, write
from nestml_lab.networks.tree import Tree, parse, read, rerun_tree

#: The example trees that ship with the toolkit (``networks/``: the three network experiments as trees).
EXAMPLES = Path(__file__).resolve().parent.parent / "trees_examples"

__all__ = ["EXAMPLES", "RunData", "Tree", "TreeError", "load", "parse", "read", "rerun_tree", "run", "simulate",
           "simulate_in_chunks", "spike_arrays", "write"]


def run(tree: Tree, out_dir: str | Path, progress=None) -> Path:
    """:func:`simulate`, then :func:`write` the run folder (once, by rank 0 under MPI); return the folder.

    Parameters
    ----------
    tree : Tree
        From :func:`parse` or :func:`read`.
    out_dir : str or Path
        The run folder.
    progress : callable, optional
        Takes progress lines.

    Returns
    -------
    Path
        ``out_dir``, complete on every process when this returns.
    """
    from nestml_lab import parallel

    out = write(simulate(tree, progress), out_dir)
    parallel.barrier()   # the folder is complete before any process goes on to read it
    return out
