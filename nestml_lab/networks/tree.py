"""Reading a tree: each section checked against the schema (:mod:`~nestml_lab.networks.schema`), its
defaults written in, the model trees' inheritance resolved, and what one key cannot check alone (names that
refer to each other, a grid's size, the memory the network needs) checked across the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nestml_lab import yaml_strict
from nestml_lab.networks import memory, schema
from nestml_lab.networks.checks import (
    TreeError, check_kernel, check_mask, check_name, check_spatial, check_values, uses_distance, whole_number,
)

#: A model leaf names its model with exactly one of these.
MODEL_SOURCES = ("nest_model", "catalog", "nestml")


@dataclass
class Tree:
    """A validated, resolved experiment tree (every default written in)."""

    kernel: dict
    neuron_models: dict
    synapse_models: dict
    populations: dict
    connections: list
    recorders: list
    sessions: dict
    source: str = "<tree>"
    modules: list = field(default_factory=list)   # project folders (absolute) whose models leaves name

    def resolved(self) -> dict:
        """The whole tree with every model leaf's inherited parameters written out."""
        return {"modules": self.modules, "kernel": self.kernel, "network": {
            "neuron_models": self.neuron_models, "synapse_models": self.synapse_models,
            "populations": self.populations, "connections": self.connections, "recorders": self.recorders},
            "sessions": self.sessions}


def parse(data: dict, source: str = "<tree>") -> Tree:
    """Validate a tree (a loaded YAML document), write in its defaults and resolve its inheritance.

    Parameters
    ----------
    data : dict
        The tree: ``modules`` (optional), ``kernel``, ``network``, ``sessions`` (the schema: docs/trees.md).
    source : str
        What error messages name as the tree's place (the file, or a label such as ``adex_network[no_input]``).

    Returns
    -------
    Tree
        Every default written in, every model leaf with its inherited ``params`` and ``nest_params``.

    Raises
    ------
    TreeError
        A malformed tree or one too large for this machine's memory; the message starts with ``source`` and
        names the path in the tree (``network.populations.E.n: expected a whole number, got 2.7``).
    """
    top = schema.fill(data, schema.TOP, source)
    modules = _project_folders(top.get("modules"), source)
    kernel = _kernel(top["kernel"], source)
    net = schema.fill(top["network"], schema.NETWORK, f"{source}: network")
    neuron_models = _models(net["neuron_models"], f"{source}: network.neuron_models")
    synapse_models = _models(net["synapse_models"], f"{source}: network.synapse_models")
    populations = _populations(net["populations"] or {}, neuron_models, f"{source}: network.populations")
    connections = [_connection(conn, populations, synapse_models, f"{source}: network.connections[{i}]")
                   for i, conn in enumerate(net["connections"] or [])]
    recorders: list = []
    for i, rec in enumerate(net["recorders"] or []):
        recorders.append(_recorder(rec, recorders, populations, synapse_models, f"{source}: network.recorders[{i}]"))
    sessions = {name: _session(name, s, populations, f"{source}: sessions.{name}")
                for name, s in (top["sessions"] or {}).items()}
    if not sessions:
        raise TreeError(f"{source}: sessions: at least one session is needed")

    def synapse_bytes(conn: dict) -> int:   # the size of NEST's built-ins where known; simulate() reads the rest
        leaf = synapse_models.get(conn.get("synapse"), {"params": {"nest_model": "static_synapse"}})
        return memory.SYNAPSE_SIZEOF.get(leaf["params"].get("nest_model"), memory.BYTES_PER_SYNAPSE_UNKNOWN)

    memory.check_memory(populations, connections, source, synapse_bytes)
    return Tree(kernel, neuron_models, synapse_models, populations, connections, recorders, sessions, source, modules)


def read(path: str | Path) -> Tree:
    """Read and validate a YAML experiment tree (:func:`parse` of the file).

    Parameters
    ----------
    path : str or Path
        The YAML file; ``modules:`` folders in it are relative to it.

    Returns
    -------
    Tree

    Raises
    ------
    TreeError
        No such file, not text, not YAML (a duplicate key too), or a malformed tree; the message names the file.
    """
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


def rerun_tree(run_dir: str | Path) -> Tree:
    """The tree of an earlier run (its ``parameter_tree.yml``), ready to run again (replication)."""
    resolved = yaml.safe_load((Path(run_dir) / "parameter_tree.yml").read_text())
    net = resolved["network"]
    # the resolved model leaves are already flat: each becomes a tree of one leaf
    data = {"modules": resolved.get("modules") or None, "kernel": resolved["kernel"],
            "sessions": resolved["sessions"], "network": {
        "neuron_models": net["neuron_models"] or None, "synapse_models": net["synapse_models"] or None,
        "populations": net["populations"], "connections": net["connections"], "recorders": net["recorders"]}}
    return parse(data, str(Path(run_dir) / "parameter_tree.yml"))


# --- the sections ---------------------------------------------------------------------------------------------

def _kernel(given, source: str) -> dict:
    kernel = schema.fill(given or {}, schema.KERNEL, f"{source}: kernel")
    if "total_num_virtual_procs" in kernel:
        if "threads" in (given or {}):
            raise TreeError(f"{source}: kernel: give threads (per process) or total_num_virtual_procs "
                            "(processes x threads), not both")
        del kernel["threads"]
    return kernel


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


def _models(node, where: str) -> dict:
    """The leaves of a model tree, each naming its model once, with checked NEST parameters."""
    leaves = _leaves(node, where) if node else {}
    for name, leaf in leaves.items():
        here = f"{where}.{name}.params"
        leaf["params"] = schema.fill(leaf["params"], schema.MODEL, here)
        if sum(k in leaf["params"] for k in MODEL_SOURCES) != 1:
            raise TreeError(f"{here}: give exactly one of nest_model (a NEST built-in), nestml (a model of "
                            "the tree's modules, then of the catalog) or catalog")
    for name, leaf in leaves.items():
        check_values(leaf["nest_params"], f"{where}.{name}.nest_params")
    return leaves


def _populations(given: dict, neuron_models: dict, where: str) -> dict:
    populations = {}
    for name, pop in given.items():
        here = f"{where}.{name}"
        check_name(name, here)
        resolved = schema.fill(pop, schema.POPULATION, here)
        model = resolved["model"]
        if not model.startswith("nest:") and model not in neuron_models:
            raise TreeError(f"{here}.model: {model!r} is neither a neuron model of the tree "
                            f"({', '.join(neuron_models) or 'none'}) nor nest:<model>")
        if "spatial" in pop:
            spec = schema.fill(pop["spatial"], schema.SPATIAL, f"{here}.spatial")
            resolved["spatial"], resolved["n"] = check_spatial(spec, f"{here}.spatial", pop.get("n"))
        if resolved["parrots"] and not model.startswith("nest:"):
            raise TreeError(f"{here}.parrots: parrots repeat the spikes of stimulator devices (nest:<generator>), "
                            f"not of {model!r}")
        populations[name] = resolved
    return populations


def _connection(conn, populations: dict, synapse_models: dict, where: str) -> dict:
    resolved = schema.fill(conn, schema.CONNECTION, where)
    if "target_range" in conn:
        r = conn["target_range"]
        if isinstance(conn["target"], list) or not (isinstance(r, list) and len(r) == 2):
            raise TreeError(f"{where}.target_range: [first, stop) of a single target population")
    for end in ("source", "target"):
        for n in conn[end] if isinstance(conn[end], list) else [conn[end]]:
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
            raise TreeError(f"{where}.target_range: [{first}, {stop}) is not inside {conn['target']} (0 .. {size})")
    rule = resolved["rule"]
    synapse_params = synapse_models[conn["synapse"]]["nest_params"] if "synapse" in conn else {}
    if isinstance(rule.get("p"), dict) or "mask" in rule or uses_distance(resolved["nest_params"]) \
            or uses_distance(synapse_params):
        ends = [conn[end] for end in ("source", "target")]
        if any(isinstance(e, list) or "spatial" not in populations[e] for e in ends) or "target_range" in conn:
            raise TreeError(f"{where}: a mask, a kernel or a distance-dependent value needs one source and one "
                            "target population, both with spatial positions")
        if "mask" in rule:
            check_mask(rule["mask"], f"{where}.rule.mask")
        if isinstance(rule.get("p"), dict):
            check_kernel(rule["p"], f"{where}.rule.p")
    return resolved


def _recorder(rec, earlier: list, populations: dict, synapse_models: dict, where: str) -> dict:
    resolved = schema.fill(rec, schema.RECORDER, where)
    if resolved["name"] in {r["name"] for r in earlier}:
        raise TreeError(f"{where}.name: a second recorder named {resolved['name']!r} (its data would replace "
                        "the first's)")
    if sum(k in rec for k in ("populations", "weights", "multimeter")) != 1:
        raise TreeError(f"{where}: give one of populations (spikes), weights (a connection sample) or "
                        "multimeter (state variables)")
    for n in rec.get("populations", []):
        if n not in populations:
            raise TreeError(f"{where}.populations: unknown population {n!r}")
    if "multimeter" in rec:
        m = resolved["multimeter"] = schema.fill(rec["multimeter"], schema.MULTIMETER, f"{where}.multimeter")
        for n in m["populations"] if isinstance(m["populations"], list) else [m["populations"]]:
            if n not in populations:
                raise TreeError(f"{where}.multimeter.populations: unknown population {n!r}")
        if not (isinstance(m["record_from"], list) and m["record_from"]
                and all(isinstance(v, str) and v.isidentifier() for v in m["record_from"])):
            raise TreeError(f"{where}.multimeter.record_from: expected a list of state variable names, "
                            f"got {m['record_from']!r}")
    if "weights" in rec:
        w = resolved["weights"] = schema.fill(rec["weights"], schema.WEIGHTS, f"{where}.weights")
        if w["source"] not in populations:
            raise TreeError(f"{where}.weights.source: unknown population {w['source']!r}")
        if w["synapse"] not in synapse_models:
            raise TreeError(f"{where}.weights.synapse: unknown synapse model {w['synapse']!r}")
    return resolved


def _session(name: str, s, populations: dict, where: str) -> dict:
    check_name(name, where)
    resolved = schema.fill(s, schema.SESSION, where)
    changes = []
    for j, change in enumerate(resolved["unit_changes"] or []):
        here = f"{where}.unit_changes[{j}]"
        change = schema.fill(change, schema.UNIT_CHANGE, here)
        if not isinstance(change["population"], str) or change["population"] not in populations:
            raise TreeError(f"{here}.population: unknown population {change['population']!r}")
        changes.append(change)
    resolved["unit_changes"] = changes
    return resolved


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
