"""Declarative experiments: a network and its simulation sessions described by one YAML parameter tree.

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

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from nestml_lab import module as catalog
from nestml_lab import yaml_strict
from nestml_lab.tree_checks import (
    BYTES_PER_SYNAPSE_UNKNOWN, MAX_CONNECTIONS_PER_VP, SYNAPSE_SIZEOF, TreeError, check_kernel, check_keys,
    check_mask, check_memory, check_name, check_spatial, check_values, connection_counts,
    positive_number, uses_distance, whole_number,
)
from nestml_lab.provenance import provenance


def _leaves(node: dict, where: str, inherited: dict | None = None) -> dict[str, dict]:
    """Resolve a model tree: every leaf with ``params`` and ``nest_params`` merged from the root down."""
    if not isinstance(node, dict):
        raise TreeError(f"{where}: expected a mapping")
    inherited = inherited or {"params": {}, "nest_params": {}}
    for key in ("params", "nest_params"):
        if key in node and not isinstance(node[key], dict):
            raise TreeError(f"{where}.{key}: expected a mapping")
    here = {"params": {**inherited["params"], **node.get("params", {})},
            "nest_params": {**inherited["nest_params"], **node.get("nest_params", {})}}
    children = {k: v for k, v in node.items() if k not in ("params", "nest_params")}
    if not children:
        return {where.rsplit(".", 1)[-1]: here}
    out = {}
    for name, child in children.items():
        for leaf, resolved in _leaves(child, f"{where}.{name}", here).items():
            if leaf in out:
                raise TreeError(f"{where}: two models named {leaf!r}")
            out[leaf] = resolved
    return out


@dataclass
class Tree:
    """A validated, resolved experiment tree."""

    kernel: dict
    neuron_models: dict
    synapse_models: dict
    populations: dict
    connections: list
    recorders: list
    sessions: dict
    source: str = "<tree>"
    raw: dict = field(default_factory=dict)
    modules: list = field(default_factory=list)   # project folders (absolute) whose models leaves name

    def resolved(self) -> dict:
        """The whole tree with every model leaf's inherited parameters written out."""
        return {"modules": self.modules, "kernel": self.kernel, "network": {
            "neuron_models": self.neuron_models, "synapse_models": self.synapse_models,
            "populations": self.populations, "connections": self.connections, "recorders": self.recorders},
            "sessions": self.sessions}



KERNEL_KEYS = {"resolution_ms", "seed", "threads", "total_num_virtual_procs"}
MODEL_PARAMS = {"nest_model", "catalog", "nestml", "partner"}
#: A model leaf names its model with exactly one of these.
MODEL_SOURCES = ("nest_model", "catalog", "nestml")


def parse(data: dict, source: str = "<tree>") -> Tree:
    """Validate a tree (a loaded YAML document) and resolve its inheritance."""
    check_keys(data, {"modules", "kernel", "network", "sessions"}, source, {"network", "sessions"})
    modules = _project_folders(data.get("modules"), source)
    kernel = {"resolution_ms": 0.1, "seed": 1, "threads": 1, **(data.get("kernel") or {})}
    check_keys(kernel, KERNEL_KEYS, f"{source}: kernel")
    positive_number(kernel["resolution_ms"], f"{source}: kernel.resolution_ms")
    kernel["seed"] = whole_number(kernel["seed"], f"{source}: kernel.seed")
    for key in ("threads", "total_num_virtual_procs"):
        if key in kernel:
            kernel[key] = whole_number(kernel[key], f"{source}: kernel.{key}")
    if "total_num_virtual_procs" in kernel:
        if "threads" in (data.get("kernel") or {}):
            raise TreeError(f"{source}: kernel: give threads (per process) or total_num_virtual_procs "
                            "(processes x threads), not both")
        del kernel["threads"]
    net = data["network"]
    check_keys(net, {"neuron_models", "synapse_models", "populations", "connections", "recorders"},
           f"{source}: network", {"populations"})
    neuron_models = _leaves(net["neuron_models"], f"{source}: network.neuron_models") \
        if net.get("neuron_models") else {}
    synapse_models = _leaves(net["synapse_models"], f"{source}: network.synapse_models") \
        if net.get("synapse_models") else {}
    for kind, models in (("neuron_models", neuron_models), ("synapse_models", synapse_models)):
        for name, leaf in models.items():
            where = f"{source}: network.{kind}.{name}.params"
            check_keys(leaf["params"], MODEL_PARAMS, where)
            if sum(k in leaf["params"] for k in MODEL_SOURCES) != 1:
                raise TreeError(f"{where}: give exactly one of nest_model (a NEST built-in), nestml (a model of "
                                "the tree's modules, then of the catalog) or catalog")
            if "nestml" in leaf["params"] and not isinstance(leaf["params"]["nestml"], str):
                raise TreeError(f"{where}.nestml: expected a model name, got {leaf['params']['nestml']!r}")
    for kind, models in (("neuron_models", neuron_models), ("synapse_models", synapse_models)):
        for name, leaf in models.items():
            check_values(leaf["nest_params"], f"{source}: network.{kind}.{name}.nest_params")
    populations = {}
    for name, pop in (net["populations"] or {}).items():
        where = f"{source}: network.populations.{name}"
        check_name(name, where)
        check_keys(pop, {"model", "n", "nest_params", "spatial", "parrots"}, where, {"model"})
        model = pop["model"]
        if not isinstance(model, str):
            raise TreeError(f"{where}.model: expected a model name, got {model!r}")
        check_values(pop.get("nest_params", {}), f"{where}.nest_params")
        if not model.startswith("nest:") and model not in neuron_models:
            raise TreeError(f"{where}.model: {model!r} is neither a neuron model of the tree "
                            f"({', '.join(neuron_models) or 'none'}) nor nest:<model>")
        resolved = {"model": model, "n": whole_number(pop.get("n", 1), f"{where}.n"),
                    "nest_params": pop.get("nest_params", {})}
        if "spatial" in pop:
            resolved["spatial"], resolved["n"] = check_spatial(pop["spatial"], f"{where}.spatial", pop.get("n"))
        if "parrots" in pop:
            if not isinstance(pop["parrots"], bool):
                raise TreeError(f"{where}.parrots: expected true or false, got {pop['parrots']!r}")
            if pop["parrots"] and not model.startswith("nest:"):
                raise TreeError(f"{where}.parrots: parrots repeat the spikes of stimulator devices (nest:<generator>), "
                                f"not of {model!r}")
            resolved["parrots"] = pop["parrots"]
        populations[name] = resolved
    connections = []
    for i, conn in enumerate(net.get("connections") or []):
        where = f"{source}: network.connections[{i}]"
        check_keys(conn, {"source", "target", "target_range", "synapse", "rule", "nest_params"}, where,
               {"source", "target"})
        if "target_range" in conn:
            r = conn["target_range"]
            if isinstance(conn["target"], list) or not (isinstance(r, list) and len(r) == 2):
                raise TreeError(f"{where}.target_range: [first, stop) of a single target population")
        for end in ("source", "target"):
            names = conn[end] if isinstance(conn[end], list) else [conn[end]]
            for n in names:
                if not isinstance(n, str) or n not in populations:
                    raise TreeError(f"{where}.{end}: unknown population {n!r}; there are: {', '.join(populations)}")
        if "synapse" in conn and conn["synapse"] not in synapse_models:
            raise TreeError(f"{where}.synapse: unknown synapse model {conn['synapse']!r}; there are: "
                            f"{', '.join(synapse_models) or 'none'}")
        if "target_range" in conn:
            size = populations[conn["target"]]["n"]
            first = whole_number(conn["target_range"][0], f"{where}.target_range[0]", 0)
            stop = whole_number(conn["target_range"][1], f"{where}.target_range[1]", 0)
            if not first < stop <= size:
                raise TreeError(f"{where}.target_range: [{first}, {stop}) is not inside {conn['target']} "
                                f"(0 .. {size})")
        if not isinstance(conn.get("rule", {}), dict):
            raise TreeError(f"{where}.rule: expected a mapping such as {{rule: fixed_indegree, indegree: 10}}")
        check_values(conn.get("nest_params", {}), f"{where}.nest_params")
        rule = conn.get("rule", {})
        synapse_params = synapse_models[conn["synapse"]]["nest_params"] if "synapse" in conn else {}
        spatial = isinstance(rule.get("p"), dict) or "mask" in rule or uses_distance(conn.get("nest_params", {})) \
            or uses_distance(synapse_params)
        if spatial:
            ends = [conn[end] for end in ("source", "target")]
            if any(isinstance(e, list) or "spatial" not in populations[e] for e in ends) or "target_range" in conn:
                raise TreeError(f"{where}: a mask, a kernel or a distance-dependent value needs one source and one "
                                "target population, both with spatial positions")
            if "mask" in rule:
                check_mask(rule["mask"], f"{where}.rule.mask")
            if isinstance(rule.get("p"), dict):
                check_kernel(rule["p"], f"{where}.rule.p")
        connections.append({"rule": {"rule": "all_to_all"}, "nest_params": {}, **conn})
    recorders = []
    for i, rec in enumerate(net.get("recorders") or []):
        where = f"{source}: network.recorders[{i}]"
        check_keys(rec, {"name", "populations", "weights", "multimeter"}, where, {"name"})
        check_name(rec["name"], f"{where}.name")
        if rec["name"] in {r["name"] for r in recorders}:
            raise TreeError(f"{where}.name: a second recorder named {rec['name']!r} (its data would replace "
                            "the first's)")
        if sum(k in rec for k in ("populations", "weights", "multimeter")) != 1:
            raise TreeError(f"{where}: give one of populations (spikes), weights (a connection sample) or "
                            "multimeter (state variables)")
        for n in rec.get("populations", []):
            if n not in populations:
                raise TreeError(f"{where}.populations: unknown population {n!r}")
        if "multimeter" in rec:
            m = rec["multimeter"]
            check_keys(m, {"populations", "record_from", "interval_ms", "max_nodes"}, f"{where}.multimeter",
                       {"populations", "record_from"})
            for n in m["populations"] if isinstance(m["populations"], list) else [m["populations"]]:
                if n not in populations:
                    raise TreeError(f"{where}.multimeter.populations: unknown population {n!r}")
            if not (isinstance(m["record_from"], list) and m["record_from"]
                    and all(isinstance(v, str) and v.isidentifier() for v in m["record_from"])):
                raise TreeError(f"{where}.multimeter.record_from: expected a list of state variable names, "
                                f"got {m['record_from']!r}")
            positive_number(m.get("interval_ms", 1.0), f"{where}.multimeter.interval_ms")
            whole_number(m.get("max_nodes", 10), f"{where}.multimeter.max_nodes")
        if "weights" in rec:
            w = rec["weights"]
            check_keys(w, {"source", "synapse", "max_sources"}, f"{where}.weights", {"source", "synapse"})
            if w["source"] not in populations:
                raise TreeError(f"{where}.weights.source: unknown population {w['source']!r}")
            if w["synapse"] not in synapse_models:
                raise TreeError(f"{where}.weights.synapse: unknown synapse model {w['synapse']!r}")
            if "max_sources" in w:
                whole_number(w["max_sources"], f"{where}.weights.max_sources")
        recorders.append(rec)
    sessions = {}
    for name, s in (data["sessions"] or {}).items():
        where = f"{source}: sessions.{name}"
        check_name(name, where)
        check_keys(s, {"simulation_time_ms", "record", "unit_changes"}, where, {"simulation_time_ms"})
        positive_number(s["simulation_time_ms"], f"{where}.simulation_time_ms")
        if not isinstance(s.get("record", True), bool):
            raise TreeError(f"{where}.record: expected true or false, got {s['record']!r}")
        for j, change in enumerate(s.get("unit_changes") or []):
            check_keys(change, {"population", "nest_params"}, f"{where}.unit_changes[{j}]", {"population", "nest_params"})
            if not isinstance(change["population"], str) or change["population"] not in populations:
                raise TreeError(f"{where}.unit_changes[{j}].population: unknown population {change['population']!r}")
            check_values(change["nest_params"], f"{where}.unit_changes[{j}].nest_params")
        sessions[name] = {"record": True, "unit_changes": [], **s}
    if not sessions:
        raise TreeError(f"{source}: sessions: at least one session is needed")
    def synapse_bytes(conn: dict) -> int:   # the size of NEST's built-ins where known; simulate() reads the rest
        leaf = synapse_models.get(conn.get("synapse"), {"params": {"nest_model": "static_synapse"}})
        return SYNAPSE_SIZEOF.get(leaf["params"].get("nest_model"), BYTES_PER_SYNAPSE_UNKNOWN)

    check_memory(populations, connections, source, synapse_bytes)
    return Tree(kernel, neuron_models, synapse_models, populations, connections, recorders, sessions, source, data,
                modules)


def _project_folders(value, source: str) -> list[str]:
    """The tree's ``modules:``: project folders, relative to the tree file; returned absolute."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TreeError(f"{source}: modules: expected a list of project folders, got {value!r}")
    base = Path(source).parent if Path(source).is_file() else Path.cwd()
    out = []
    for v in value:
        folder = (base / v).resolve()
        if not (folder / "module.yaml").is_file() and not (folder.suffix in (".yaml", ".yml") and folder.is_file()):
            raise TreeError(f"{source}: modules: {v!r} is not a project folder ({folder} has no module.yaml)")
        out.append(str(folder))
    return out


def read(path: str | Path) -> Tree:
    """Read and validate a YAML experiment tree."""
    path = Path(path)
    try:
        data = yaml_strict.load(path.read_text())
    except FileNotFoundError:
        raise TreeError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise TreeError(f"{path}: not a text file (not UTF-8)") from None
    except yaml.YAMLError as exc:
        raise TreeError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, (dict, type(None))):
        raise TreeError(f"{path}: expected a mapping with kernel, network and sessions")
    return parse(data or {}, str(path))


def _value(nest, v):
    if isinstance(v, dict) and len(v) == 1:
        (kind, args), = v.items()
        if kind == "redraw":   # {redraw: {normal: {...}, min: .., max: ..}}: drawn again until inside
            dist = {k: a for k, a in args.items() if k not in ("min", "max")}
            return nest.math.redraw(_value(nest, dist), min=float(args.get("min", -np.inf)),
                                    max=float(args.get("max", np.inf)))
        if kind == "normal":
            return nest.random.normal(mean=args["mean"], std=args["std"])
        if kind == "uniform":
            return nest.random.uniform(min=args["min"], max=args["max"])
        if kind == "lognormal":
            return nest.random.lognormal(mean=args["mean"], std=args["std"])
        if kind == "distance":   # offset + slope x the distance between source and target
            return args["offset"] + args["slope"] * nest.spatial.distance
    return v


def _conn_spec(nest, rule: dict) -> dict:
    """A tree's connection rule as NEST's conn_spec: a kernel ``p`` becomes a spatial distribution."""
    spec = dict(rule)
    p = spec.get("p")
    if isinstance(p, dict):
        (kind, args), = p.items()
        d = nest.spatial.distance
        if kind == "gaussian":
            kernel = nest.spatial_distributions.gaussian(d, mean=float(args.get("mean", 0.0)), std=float(args["std"]))
        else:
            kernel = nest.spatial_distributions.exponential(d, beta=float(args["beta"]))
        spec["p"] = float(args.get("p_center", 1.0)) * kernel
    return spec


#: What a spatial connection may set per connection (the rest goes to a copy of the synapse model).
_PER_CONNECTION = {"synapse_model", "weight", "delay", "receptor_type"}


def _create(nest, model: str, pop: dict):
    """``pop["n"]`` nodes of ``model``; with ``spatial``, at a grid's points or at positions drawn uniformly in
    the extent (see tree_checks.check_spatial)."""
    spatial = pop.get("spatial")
    if spatial is None:
        return nest.Create(model, pop["n"])
    if "shape" in spatial:
        return nest.Create(model, positions=nest.spatial.grid(
            shape=list(spatial["shape"]), extent=list(spatial["extent"]), center=list(spatial["center"]),
            edge_wrap=spatial["edge_wrap"]))
    half = [e / 2 for e in spatial["extent"]]
    return nest.Create(model, pop["n"], positions=nest.spatial.free(
        [nest.random.uniform(min=c - h, max=c + h) for c, h in zip(spatial["center"], half)],
        extent=list(spatial["extent"]), edge_wrap=spatial["edge_wrap"]))


def _find(leaf: dict, kind: str, modules: list, where: str) -> str:
    """NEST name of a model leaf: a NEST built-in, a catalog model, or (``nestml``) the first of the tree's
    modules that has it, then the catalog. ``partner`` names the model it was co-generated with."""
    p = leaf["params"]
    if "nest_model" in p:
        return p["nest_model"]
    candidates = [catalog._catalog_stamp()] if "catalog" in p else [*modules, catalog._catalog_stamp()]
    name = p.get("catalog", p.get("nestml"))
    tried = []
    for mod in candidates:
        try:
            if "partner" in p:
                pair = mod.pair(name, p["partner"]) if kind == "neuron" else mod.pair(p["partner"], name)
                return pair[0] if kind == "neuron" else pair[1]
            return mod.neuron(name) if kind == "neuron" else mod.synapse(name)
        except KeyError as exc:
            tried.append(f"{mod.name}: {exc.args[0] if exc.args else exc}")
    raise TreeError(f"{where}: no {kind} {name!r}" + (f" with partner {p['partner']!r}" if "partner" in p else "")
                    + " in " + "; ".join(tried))


def _plan(nest, tree: Tree, synapse_of) -> tuple[int, int]:
    """The network's memory estimate with the real size of each synapse model (refused if it does not fit), and
    the virtual processes NEST needs for its largest synapse model's connections. ``synapse_of(conn)``: the
    NEST synapse model of a connection (looked up once per model)."""
    models = [synapse_of(conn) for conn in tree.connections]
    sizes = {m: int(nest.GetDefaults(m).get("sizeof") or BYTES_PER_SYNAPSE_UNKNOWN) for m in set(models)}
    estimate = check_memory(tree.populations, tree.connections, tree.source, lambda conn: sizes[synapse_of(conn)])
    per_model: dict[str, int] = {}
    for model, count in zip(models, connection_counts(tree.populations, tree.connections)):
        per_model[model] = per_model.get(model, 0) + count
    needed = max([-(-count // MAX_CONNECTIONS_PER_VP) for count in per_model.values()] + [1])
    return estimate, needed


def _nodes(pops: dict, names):
    """The populations named by ``names`` (one name or a list), joined in that order."""
    names = names if isinstance(names, list) else [names]
    return sum((pops[n] for n in names[1:]), pops[names[0]])


#: Sessions run in pieces of this much model time (ms), so that long ones can report progress; NEST's
#: Run() in pieces gives the same network state and spikes as one Simulate() (tested).
CHUNK_MS = 200.0
#: Seconds of wall time between two progress lines of one session (none for sessions shorter than this).
PROGRESS_EVERY_S = 10.0


def _on_terminal() -> bool:
    import sys

    return sys.stderr.isatty()


def simulate_in_chunks(nest, duration_ms: float, resolution_ms: float, say, label: str,
                       bar: bool | None = None) -> None:
    """``nest.Simulate(duration_ms)`` as Prepare, Run in pieces, Cleanup.

    A session that takes longer than :data:`PROGRESS_EVERY_S` shows its progress: on a terminal
    (``bar``; default: when stderr is one) a tqdm bar on stderr with the time left, otherwise a line
    through ``say`` every :data:`PROGRESS_EVERY_S` (done, elapsed, an estimate of what is left), so
    that logs of batch jobs stay readable.
    """
    steps = int(round(duration_ms / resolution_ms))
    per_chunk = max(1, int(round(CHUNK_MS / resolution_ms)))
    if steps <= per_chunk:
        nest.Simulate(duration_ms)
        return
    progress_bar = None
    if bar if bar is not None else _on_terminal():
        from tqdm import tqdm

        progress_bar = tqdm(total=round(duration_ms), unit="ms", desc=label, delay=PROGRESS_EVERY_S, leave=False,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} ms model time "
                                       "[{elapsed}<{remaining}]")
    t0 = last = time.perf_counter()
    nest.Prepare()
    try:
        done = 0
        while done < steps:
            n = min(per_chunk, steps - done)
            nest.Run(n * resolution_ms)
            done += n
            now = time.perf_counter()
            if progress_bar is not None:
                progress_bar.update(round(done * resolution_ms) - progress_bar.n)
            elif now - last >= PROGRESS_EVERY_S and done < steps:
                last = now
                left = (now - t0) * (steps - done) / done
                say(f"{label}: {100 * done / steps:3.0f} % of {duration_ms:g} ms, {now - t0:.0f} s so far, "
                    f"about {left:.0f} s left")
    finally:
        nest.Cleanup()
        if progress_bar is not None:
            progress_bar.close()


class _NestStep:
    """Turns NEST's error in one step of building or running a tree into a TreeError naming the tree path."""

    def __init__(self, nest, source: str):
        self.errors = tuple(e for e in (getattr(getattr(nest, "NESTErrors", None), "KernelException", None),
                                        getattr(nest, "NESTError", None)) if isinstance(e, type))
        self.source, self.where = source, ""

    def __call__(self, where: str) -> "_NestStep":
        self.where = where
        return self

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        # NEST's kernel errors, and PyNEST's own checks (ValueError, TypeError) of what the tree gave it
        if exc is not None and not isinstance(exc, TreeError) and isinstance(exc, (*self.errors, ValueError,
                                                                                  TypeError)):
            raise TreeError(f"{self.source}: {self.where}: NEST refused it: {exc}") from None
        return False


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB): VmHWM, which a forked child does not inherit (ru_maxrss does)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass
class RunData:
    """A run in memory (from :func:`simulate`) or read back (:func:`load`).

    Under MPI every process holds the whole run: the spikes and weight samples
    of all processes, merged and sorted (see :mod:`nestml_lab.parallel`).
    """

    tree: dict
    versions: dict
    session_times: dict
    spikes: dict   # session -> recorder -> (senders, times)
    weights: dict  # session -> recorder -> (sources, targets, weights)
    analog: dict = field(default_factory=dict)   # session -> multimeter -> {"senders", "times", variable: values}
    positions: dict = field(default_factory=dict)   # spatial population -> (n, 2) positions, in node order

    def ids(self, population: str) -> np.ndarray:
        """Node ids of a population (for ``parrots: true``, the parrots)."""
        first = int(self.versions["first_ids"][population])
        return np.arange(first, first + int(self.versions["sizes"][population]))

    def gids(self, population: str, location=None) -> np.ndarray:
        """Node ids of ``population``; with ``location``, those at that place of a spatial population.

        On a grid, ``location`` is ``(column, row)`` (row 0 at the top, as NEST numbers them); on free
        positions, coordinates, which give the nearest node.
        """
        ids = self.ids(population)
        if location is None:
            return ids
        if population not in self.positions:
            raise KeyError(f"{population!r} has no spatial positions; spatial populations: "
                           f"{', '.join(self.positions) or 'none'}")
        pos = self.positions[population]
        spatial = self.tree["network"]["populations"][population]["spatial"]
        if "shape" in spatial:
            (cols, rows), (ex, ey), (cx, cy) = spatial["shape"], spatial["extent"], spatial["center"]
            col, row = location
            if not (0 <= col < cols and 0 <= row < rows):
                raise KeyError(f"{population!r} is a {cols} x {rows} grid: no location {tuple(location)}")
            where = np.array([cx - ex / 2 + (col + 0.5) * ex / cols, cy + ey / 2 - (row + 0.5) * ey / rows])
            return ids[np.all(np.isclose(pos, where, atol=1e-9), axis=1)]
        return ids[[int(np.argmin(np.sum((pos - np.asarray(location, dtype=float)) ** 2, axis=1)))]]


def simulate(tree: Tree, progress=None) -> RunData:
    """Build the network, run the sessions in order, and return what was recorded (nothing is written)."""
    import nest

    from nestml_lab import parallel

    catalog.reset_kernel()
    modules = []
    for folder in tree.modules:
        try:
            modules.append(catalog.load(folder))   # installed beside the catalog; reset_kernel keeps them
        except catalog.ModuleNotBuiltError as exc:
            raise TreeError(f"{tree.source}: modules: {exc}") from None
    nest.verbosity = nest.VerbosityLevel.ERROR
    say = progress if progress and parallel.is_root() else (lambda line: None)
    nest.resolution = tree.kernel["resolution_ms"]
    resolved: dict[str, str] = {}

    def synapse_model(key: str) -> str:
        """NEST name of the tree's synapse model ``key``, looked up once."""
        if key not in resolved:
            resolved[key] = _find(tree.synapse_models[key], "synapse", modules,
                                  f"{tree.source}: network.synapse_models.{key}")
        return resolved[key]

    memory_estimate, needed_vps = _plan(
        nest, tree, lambda conn: synapse_model(conn["synapse"]) if "synapse" in conn else "static_synapse")
    if "total_num_virtual_procs" in tree.kernel:
        vps = int(tree.kernel["total_num_virtual_procs"])
        if vps % parallel.num_processes():
            raise TreeError(f"{tree.source}: kernel.total_num_virtual_procs: {vps} is not a multiple of the "
                            f"{parallel.num_processes()} MPI processes")
        if vps < needed_vps:
            raise TreeError(f"{tree.source}: kernel.total_num_virtual_procs: {vps} is too few: NEST takes at most "
                            f"{MAX_CONNECTIONS_PER_VP} connections of one synapse model per virtual process, and "
                            f"this network needs {needed_vps}")
        nest.total_num_virtual_procs = vps
    else:
        threads = int(tree.kernel["threads"])
        if threads * parallel.num_processes() < needed_vps:
            threads = -(-needed_vps // parallel.num_processes())
            say(f"[tree] {threads} threads per process instead of {tree.kernel['threads']}: NEST takes at most "
                f"{MAX_CONNECTIONS_PER_VP} connections of one synapse model per virtual process, and this "
                f"network needs {needed_vps} virtual processes (threads may exceed cores)")
        nest.local_num_threads = threads
    nest.rng_seed = tree.kernel["seed"]
    step = _NestStep(nest, tree.source)
    t_build = time.perf_counter()
    pops, devices, positions = {}, {}, {}
    for name, pop in tree.populations.items():
        if pop["model"].startswith("nest:"):
            model, params = pop["model"][5:], {}
        else:
            leaf = tree.neuron_models[pop["model"]]
            model, params = _find(leaf, "neuron", modules, f"{tree.source}: network.neuron_models.{pop['model']}"), \
                leaf["nest_params"]
        with step(f"network.populations.{name}"):
            if pop.get("parrots"):   # stimulators, each repeated by a parrot neuron that holds the position
                nodes = devices[name] = nest.Create(model, pop["n"])
                parrots = _create(nest, "parrot_neuron", pop)
                nest.Connect(nodes, parrots, "one_to_one")
            else:
                nodes = _create(nest, model, pop)
            params = {**params, **pop["nest_params"]}
            if params:
                nodes.set({k: _value(nest, v) for k, v in params.items()})
        pops[name] = parrots if pop.get("parrots") else nodes
        if "spatial" in pop:
            positions[name] = np.array(nest.GetPosition(pops[name]), dtype=float).reshape(len(pops[name]), -1)
    layout = parallel.layout()
    say(f"[tree] {sum(len(p) for p in pops.values())} nodes in {len(pops)} populations; "
        f"{layout['mpi_processes']} process(es) x {layout['threads_per_process']} thread(s)")
    copies = {}   # synapse model -> the copies spatial connections made of it
    for i, conn in enumerate(tree.connections):
        src, tgt = _nodes(pops, conn["source"]), _nodes(pops, conn["target"])
        if "target_range" in conn:
            first, stop = conn["target_range"]
            tgt = tgt[int(first):int(stop)]
        syn = {}
        if "synapse" in conn:
            leaf = tree.synapse_models[conn["synapse"]]
            syn = {"synapse_model": synapse_model(conn["synapse"]), **leaf["nest_params"]}
        syn.update(conn["nest_params"])
        with step(f"network.connections[{i}]"):
            spec = _conn_spec(nest, conn["rule"])
            if "mask" in spec or isinstance(conn["rule"].get("p"), dict):
                # NEST's spatial Connect takes only weight and delay per connection: the synapse's other
                # parameters become the defaults of a copy of its model
                own = {k: v for k, v in syn.items() if k not in _PER_CONNECTION}
                if own:
                    model = syn.get("synapse_model", "static_synapse")
                    copy = f"{model}__tree_connection_{i}"
                    nest.CopyModel(model, copy, own)
                    copies.setdefault(model, []).append(copy)
                    syn = {**{k: v for k, v in syn.items() if k in _PER_CONNECTION}, "synapse_model": copy}
            nest.Connect(src, tgt, spec, {k: _value(nest, v) for k, v in syn.items()})
    recorders, weight_samples, multimeters = {}, {}, {}
    for rec in tree.recorders:
        if "multimeter" in rec:   # state variables of at most max_nodes neurons of each population
            m = rec["multimeter"]
            with step(f"network.recorders.{rec['name']}"):
                mm = nest.Create("multimeter", params={"record_from": list(m["record_from"]),
                                                       "interval": float(m.get("interval_ms", 1.0))})
                names = m["populations"] if isinstance(m["populations"], list) else [m["populations"]]
                for n in names:
                    nest.Connect(mm, pops[n][:int(m.get("max_nodes", 10))])
            multimeters[rec["name"]] = (mm, tuple(m["record_from"]))
        elif "populations" in rec:
            sr = nest.Create("spike_recorder")
            for n in rec["populations"]:
                nest.Connect(pops[n], sr)
            recorders[rec["name"]] = sr
        else:   # read per session from a bounded sample of sources: never every connection at once
            w = rec["weights"]
            source = pops[w["source"]]
            sources = source[:min(len(source), int(w.get("max_sources", 100)))]   # NEST refuses a slice past the end
            synapse = synapse_model(w["synapse"])
            weight_samples[rec["name"]] = (sources, [synapse, *copies.get(synapse, [])])
    recorder_ids = np.array([sr.global_id for sr in recorders.values()], dtype=int)
    build_s = time.perf_counter() - t_build
    times, spikes, weights, analog = {}, {}, {}, {}
    t_model = 0.0
    for name, s in tree.sessions.items():
        for j, change in enumerate(s["unit_changes"]):
            with step(f"sessions.{name}.unit_changes[{j}]"):
                target = devices.get(change["population"], pops[change["population"]])   # parrots: the devices
                target.set({k: _value(nest, v) for k, v in change["nest_params"].items()})
        for sr in [*recorders.values(), *(mm for mm, _ in multimeters.values())]:
            sr.n_events = 0   # each session's data is its own
        t0 = time.perf_counter()
        with step(f"sessions.{name}"):
            simulate_in_chunks(nest, float(s["simulation_time_ms"]), tree.kernel["resolution_ms"], say,
                               f"[tree] session {name}", bar=None if progress and parallel.is_root() else False)
        wall = time.perf_counter() - t0
        times[name] = {"start_ms": t_model, "end_ms": t_model + float(s["simulation_time_ms"]), "wall_s": wall}
        t_model += float(s["simulation_time_ms"])
        if s["record"]:
            spikes[name] = {}
            for r, sr in recorders.items():
                ev = parallel.events(sr)
                spikes[name][r] = (ev["senders"], ev["times"])
            analog[name] = {r: parallel.events(mm, ("senders", "times", *variables))
                            for r, (mm, variables) in multimeters.items()}
            weights[name] = {}
            for r, (sources, models) in weight_samples.items():   # the synapse model and its copies
                got = [parallel.connections(nest.GetConnections(source=sources, synapse_model=m)) for m in models]
                keys = ("source", "target", "weight")
                merged = {k: np.concatenate([g[k] for g in got]).astype(int if k != "weight" else float)
                          for k in keys}
                keep = ~np.isin(merged["target"], recorder_ids)   # not the links to recorders
                weights[name][r] = tuple(merged[k][keep] for k in keys)
        say(f"[tree] session {name}: {s['simulation_time_ms']:g} ms in {wall:.1f} s")
    per_process = parallel.allgather({"build_s": build_s, "peak_rss_mb": peak_rss_mb(),
                                      "simulate_s": sum(t["wall_s"] for t in times.values())})
    info = {"tree": tree.source, "first_ids": {name: int(p[0].global_id) for name, p in pops.items()},
            "sizes": {n: len(p) for n, p in pops.items()}, **layout,
            "build_s": max(p["build_s"] for p in per_process),
            "peak_rss_mb": max(p["peak_rss_mb"] for p in per_process), "per_process": per_process,
            "modules": {m.name: {"project": str(m.project), "source_hash": m.stamp["source_hash"],
                                 "so_sha256": m.stamp["so_sha256"]} for m in modules},
            "memory_estimate_mb": memory_estimate / 1e6}
    return RunData(tree.resolved(), {**provenance(), **info}, times, spikes, weights, analog, positions)


def spike_arrays(spikes: dict) -> dict:
    """``{name: (senders, times)}`` -> the arrays of the NPZ layout of run folders and of every experiment
    (``<name>.senders``, ``<name>.times`` in ms; docs/results.md)."""
    out = {}
    for name, (senders, times) in spikes.items():
        out[f"{name}.senders"], out[f"{name}.times"] = np.asarray(senders), np.asarray(times)
    return out


def write(data: RunData, out_dir: str | Path) -> Path:
    """Write a run folder (see the module docstring) and return it.

    Under MPI only rank 0 writes. The folder is assembled beside its place and
    renamed into it, so a run that fails leaves no folder that looks complete;
    an earlier run in the same place is replaced only once the new one is whole.
    """
    import shutil

    from nestml_lab import parallel

    out = Path(out_dir)
    if not parallel.is_root():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "data").mkdir(parents=True)
    (partial / "parameter_tree.yml").write_text(yaml.safe_dump(data.tree, sort_keys=False))
    for session, recs in data.spikes.items():
        arrays = spike_arrays(recs)
        for r, (src, tgt, w) in data.weights.get(session, {}).items():
            arrays[f"{r}.source"], arrays[f"{r}.target"], arrays[f"{r}.weight"] = src, tgt, w
        for r, values in data.analog.get(session, {}).items():
            arrays.update({f"{r}.{k}": v for k, v in values.items()})   # "." is in no name: no clash
        np.savez_compressed(partial / "data" / f"{session}.npz", **arrays)
    if data.positions:
        np.savez_compressed(partial / "positions.npz", **data.positions)
    (partial / "session_times.yml").write_text(yaml.safe_dump(data.session_times, sort_keys=False))
    (partial / "versions.json").write_text(json.dumps(data.versions, indent=1))
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    partial.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return out


def run(tree: Tree, out_dir: str | Path, progress=None) -> Path:
    """:func:`simulate`, then :func:`write` the run folder (once, by rank 0 under MPI); return the folder."""
    from nestml_lab import parallel

    out = write(simulate(tree, progress), out_dir)
    parallel.barrier()   # the folder is complete before any process goes on to read it
    return out


def load(run_dir: str | Path) -> RunData:
    """Read a run folder written by :func:`run`; the tree in it says which arrays belong to which recorder."""
    run_dir = Path(run_dir)
    tree = yaml.safe_load((run_dir / "parameter_tree.yml").read_text())
    times = yaml.safe_load((run_dir / "session_times.yml").read_text())
    recorders = (tree.get("network") or {}).get("recorders") or []
    spikes, weights, analog = {}, {}, {}
    for session in times:
        f = run_dir / "data" / f"{session}.npz"
        if not f.exists():
            continue
        with np.load(f) as d:
            spikes[session], weights[session], analog[session] = {}, {}, {}
            for rec in recorders:
                r = rec["name"]
                if "multimeter" in rec:
                    keys = ("senders", "times", *rec["multimeter"]["record_from"])
                    analog[session][r] = {k: d[f"{r}.{k}"] for k in keys}
                elif "weights" in rec:
                    weights[session][r] = (d[f"{r}.source"], d[f"{r}.target"], d[f"{r}.weight"])
                else:
                    spikes[session][r] = (d[f"{r}.senders"], d[f"{r}.times"])
    positions = {}
    if (run_dir / "positions.npz").exists():
        with np.load(run_dir / "positions.npz") as d:
            positions = {k: d[k] for k in d.files}
    return RunData(tree, json.loads((run_dir / "versions.json").read_text()), times, spikes, weights, analog,
                   positions)


def rerun_tree(run_dir: str | Path) -> Tree:
    """The tree of an earlier run, ready to run again (replication)."""
    resolved = yaml.safe_load((Path(run_dir) / "parameter_tree.yml").read_text())
    net = resolved["network"]
    # the resolved model leaves are already flat: each becomes a tree of one leaf
    data = {"modules": resolved.get("modules") or None, "kernel": resolved["kernel"],
            "sessions": resolved["sessions"], "network": {
        "neuron_models": net["neuron_models"] or None, "synapse_models": net["synapse_models"] or None,
        "populations": net["populations"], "connections": net["connections"], "recorders": net["recorders"]}}
    return parse(data, str(Path(run_dir) / "parameter_tree.yml"))
