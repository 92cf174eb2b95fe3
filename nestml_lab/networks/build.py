"""Building a tree's network in NEST: the kernel, the populations (spatial layers, parrot layers), the
connections and the recorders. NEST's refusals become :class:`TreeError`\\ s naming the place in the tree.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from nestml_lab import catalog

from nestml_lab.module import ModuleNotBuiltError, load as load_module, reset_kernel
from nestml_lab.codegen.errors import CodegenError
from nestml_lab.networks import memory
from nestml_lab.networks.checks import TreeError
from nestml_lab.networks.tree import Tree

#: What a spatial connection may set per connection (the rest goes to a copy of the synapse model).
_PER_CONNECTION = {"synapse_model", "weight", "delay", "receptor_type"}


@dataclass
class Network:
    """A tree's network as built in NEST: its node collections and recording devices."""

    pops: dict                 # population -> nodes (for a parrot layer: the parrots)
    devices: dict              # parrot layer -> its generators (unit changes go to them)
    positions: dict            # spatial population -> (n, 2) positions, in node order
    spike_recorders: dict      # recorder -> spike_recorder
    multimeters: dict          # recorder -> (multimeter, variables)
    weight_samples: dict       # recorder -> (sources, [synapse model and the copies spatial connections made])
    modules: list = field(default_factory=list)   # the tree's modules, loaded
    build_s: float = 0.0
    memory_estimate: int = 0

    def recorder_ids(self) -> np.ndarray:
        """Node ids of the spike recorders (their links are no weights to sample)."""
        return np.array([sr.global_id for sr in self.spike_recorders.values()], dtype=int)


def build(nest, tree: Tree, say) -> Network:
    """Reset NEST, load the tree's modules, set the kernel up and build the network (``say``: progress)."""
    from nestml_lab import parallel

    reset_kernel()
    leaves = [*tree.neuron_models.values(), *tree.synapse_models.values()]
    if any("catalog" in leaf["params"] for leaf in leaves):   # installed before any node exists
        catalog.module()
    modules = []
    for folder in tree.modules:
        try:
            modules.append(load_module(folder))   # installed beside the catalog; reset_kernel keeps them
        except ModuleNotBuiltError as exc:
            raise TreeError(f"{tree.source}: modules: {exc}") from None
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.resolution = tree.kernel["resolution_ms"]
    resolved: dict[str, str] = {}

    def synapse_model(key: str) -> str:
        """NEST name of the tree's synapse model ``key``, looked up once."""
        if key not in resolved:
            resolved[key] = _find(tree.synapse_models[key], "synapse", modules,
                                  f"{tree.source}: network.synapse_models.{key}")
        return resolved[key]

    estimate, needed_vps = _plan(
        nest, tree, lambda conn: synapse_model(conn["synapse"]) if "synapse" in conn else "static_synapse")
    _kernel(nest, tree, needed_vps, say)
    step = NestStep(nest, tree.source)
    t_build = time.perf_counter()
    pops, devices, positions = {}, {}, {}
    for name, pop in tree.populations.items():
        if pop["model"].startswith("nest:"):
            model, params = pop["model"][5:], {}
        else:
            leaf = tree.neuron_models[pop["model"]]
            model = _find(leaf, "neuron", modules, f"{tree.source}: network.neuron_models.{pop['model']}")
            params = leaf["nest_params"]
        with step(f"network.populations.{name}"):
            if pop.get("parrots"):   # stimulators, each repeated by a parrot neuron that holds the position
                nodes = devices[name] = nest.Create(model, pop["n"])
                pops[name] = _create(nest, "parrot_neuron", pop)
                nest.Connect(nodes, pops[name], "one_to_one")
            else:
                nodes = pops[name] = _create(nest, model, pop)
            params = {**params, **pop["nest_params"]}
            if params:
                nodes.set({k: value(nest, v) for k, v in params.items()})
        if "spatial" in pop:
            positions[name] = np.array(nest.GetPosition(pops[name]), dtype=float).reshape(len(pops[name]), -1)
    layout = parallel.layout()
    say(f"[tree] {sum(len(p) for p in pops.values())} nodes in {len(pops)} populations; "
        f"{layout['mpi_processes']} process(es) x {layout['threads_per_process']} thread(s)")
    copies = _connect(nest, tree, pops, synapse_model, step)
    spike_recorders, weight_samples, multimeters = {}, {}, {}
    for rec in tree.recorders:
        if "multimeter" in rec:   # state variables of at most max_nodes neurons of each population
            m = rec["multimeter"]
            with step(f"network.recorders.{rec['name']}"):
                mm = nest.Create("multimeter", params={"record_from": list(m["record_from"]),
                                                       "interval": float(m["interval_ms"])})
                for n in m["populations"] if isinstance(m["populations"], list) else [m["populations"]]:
                    nest.Connect(mm, pops[n][:int(m["max_nodes"])])
            multimeters[rec["name"]] = (mm, tuple(m["record_from"]))
        elif "populations" in rec:
            sr = nest.Create("spike_recorder")
            for n in rec["populations"]:
                nest.Connect(pops[n], sr)
            spike_recorders[rec["name"]] = sr
        else:   # read per session from a bounded sample of sources: never every connection at once
            w = rec["weights"]
            source = pops[w["source"]]
            sources = source[:min(len(source), int(w["max_sources"]))]   # NEST refuses a slice past the end
            synapse = synapse_model(w["synapse"])
            weight_samples[rec["name"]] = (sources, [synapse, *copies.get(synapse, [])])
    return Network(pops, devices, positions, spike_recorders, multimeters, weight_samples, modules,
                   time.perf_counter() - t_build, estimate)


def _kernel(nest, tree: Tree, needed_vps: int, say) -> None:
    """Virtual processes (at least as many as NEST needs for the largest synapse model) and the seed."""
    from nestml_lab import parallel

    if "total_num_virtual_procs" in tree.kernel:
        vps = int(tree.kernel["total_num_virtual_procs"])
        if vps % parallel.num_processes():
            raise TreeError(f"{tree.source}: kernel.total_num_virtual_procs: {vps} is not a multiple of the "
                            f"{parallel.num_processes()} MPI processes")
        if vps < needed_vps:
            raise TreeError(f"{tree.source}: kernel.total_num_virtual_procs: {vps} is too few: NEST takes at most "
                            f"{memory.MAX_CONNECTIONS_PER_VP} connections of one synapse model per virtual process, "
                            f"and this network needs {needed_vps}")
        nest.total_num_virtual_procs = vps
    else:
        threads = int(tree.kernel["threads"])
        if threads * parallel.num_processes() < needed_vps:
            threads = -(-needed_vps // parallel.num_processes())
            say(f"[tree] {threads} threads per process instead of {tree.kernel['threads']}: NEST takes at most "
                f"{memory.MAX_CONNECTIONS_PER_VP} connections of one synapse model per virtual process, and this "
                f"network needs {needed_vps} virtual processes (threads may exceed cores)")
        nest.local_num_threads = threads
    nest.rng_seed = tree.kernel["seed"]


def _connect(nest, tree: Tree, pops: dict, synapse_model, step) -> dict:
    """Every connection of the tree; returns, per synapse model, the copies spatial connections made of it."""
    copies: dict = {}
    for i, conn in enumerate(tree.connections):
        src, tgt = _nodes(pops, conn["source"]), _nodes(pops, conn["target"])
        if "target_range" in conn:
            first, stop = conn["target_range"]
            tgt = tgt[int(first):int(stop)]
        syn = {}
        if "synapse" in conn:
            syn = {"synapse_model": synapse_model(conn["synapse"]), **tree.synapse_models[conn["synapse"]]["nest_params"]}
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
            nest.Connect(src, tgt, spec, {k: value(nest, v) for k, v in syn.items()})
    return copies


def value(nest, v):
    """A tree's value as NEST takes it: a distribution becomes NEST's random parameter, drawn per node or
    connection; anything else is itself.
    """
    if isinstance(v, dict) and len(v) == 1:
        (kind, args), = v.items()
        if kind == "redraw":   # {redraw: {normal: {...}, min: .., max: ..}}: drawn again until inside
            dist = {k: a for k, a in args.items() if k not in ("min", "max")}
            return nest.math.redraw(value(nest, dist), min=float(args.get("min", -np.inf)),
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


def _create(nest, model: str, pop: dict):
    """``pop["n"]`` nodes of ``model``; with ``spatial``, at a grid's points or at positions drawn uniformly in
    the extent (see checks.check_spatial).
    """
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
    modules that has it, then the catalog. ``partner`` names the model it was co-generated with.
    """
    p = leaf["params"]
    if "nest_model" in p:
        return p["nest_model"]
    name = p.get("catalog", p.get("nestml"))
    tried = []

    def candidates():
        """The tree's modules (for ``nestml:``), then the catalog, read only when it is reached (``build``
        installed it for ``catalog:`` leaves; a ``nestml:`` leaf that reaches it installs it).
        """
        if "catalog" not in p:
            yield from modules
        try:
            stamp = catalog.stamp()
        except (ModuleNotBuiltError, CodegenError) as exc:
            if "catalog" in p:
                raise TreeError(f"{where}: catalog: {name}: {exc}") from None
            tried.append(f"the catalog: not built here ({str(exc).splitlines()[0]})")
            return
        yield stamp if "catalog" in p else catalog.module()

    for mod in candidates():
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
    NEST synapse model of a connection (looked up once per model).
    """
    models = [synapse_of(conn) for conn in tree.connections]
    sizes = {m: int(nest.GetDefaults(m).get("sizeof") or memory.BYTES_PER_SYNAPSE_UNKNOWN) for m in set(models)}
    estimate = memory.check_memory(tree.populations, tree.connections, tree.source,
                                   lambda conn: sizes[synapse_of(conn)])
    per_model: dict[str, int] = {}
    for model, count in zip(models, memory.connection_counts(tree.populations, tree.connections)):
        per_model[model] = per_model.get(model, 0) + count
    needed = max([-(-count // memory.MAX_CONNECTIONS_PER_VP) for count in per_model.values()] + [1])
    return estimate, needed


def _nodes(pops: dict, names):
    """The populations named by ``names`` (one name or a list), joined in that order."""
    names = names if isinstance(names, list) else [names]
    return sum((pops[n] for n in names[1:]), pops[names[0]])


class NestStep:
    """Turns NEST's error in one step of building or running a tree into a TreeError naming the tree path."""

    def __init__(self, nest, source: str):
        self.errors = tuple(e for e in (getattr(getattr(nest, "NESTErrors", None), "KernelException", None),
                                        getattr(nest, "NESTError", None)) if isinstance(e, type))
        self.source, self.where = source, ""

    def __call__(self, where: str) -> "NestStep":
        """Name the place in the tree of the step that follows."""
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
