"""The experiment tree's schema: every key once, with what it takes, its default, its unit and its meaning.

:mod:`nestml_lab.networks.tree` walks a tree section by section with :func:`fill` (unknown and missing keys,
each value's kind, the defaults written into the resolved tree, so that a run folder's
``parameter_tree.yml`` records every value used), and docs/trees.md's table is made from it
(:func:`markdown`). What one key cannot say alone (a population named in a connection exists, a grid's size
agrees with ``n``) is checked in the walk.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

from nestml_lab.networks import checks

#: The key must be given.
REQUIRED = object()
#: The key may be left out, and then is not in the resolved tree (one of alternatives, or nothing to default).
OPTIONAL = object()


def _whole(value, where: str) -> int:
    return checks.whole_number(value, where)


def _values(value, where: str) -> dict:
    checks.check_values(value, where)
    return value


def _rule(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise checks.TreeError(f"{where}: expected a mapping such as {{rule: fixed_indegree, indegree: 10}}")
    return value


def _text(value, where: str) -> str:
    if not isinstance(value, str):
        raise checks.TreeError(f"{where}: expected a model name, got {value!r}")
    return value


@dataclass(frozen=True)
class Key:
    """One key of a section: what it takes (words, for the docs), its meaning, default and unit, and the check
    of its value (``check(value, where) -> value to keep``; None: checked by the walk).
    """

    takes: str
    help: str
    default: object = OPTIONAL
    unit: str = ""
    check: Callable | None = None


@dataclass(frozen=True)
class Section:
    """The keys of one kind of node, and where such nodes sit in a tree (for the docs)."""

    path: str
    keys: dict

    def required(self) -> set:
        """The keys that must be given."""
        return {k for k, key in self.keys.items() if key.default is REQUIRED}


TOP = Section("", {
    "modules": Key("list of folders", "projects whose models the tree uses, relative to the tree file; each is "
                   "loaded beside the catalog, and the run's `versions.json` records their hashes"),
    "kernel": Key("mapping", "NEST's kernel settings (below)", {}),
    "network": Key("mapping", "the models, populations, connections and recorders (below)", REQUIRED),
    "sessions": Key("mapping", "named phases, run in order (below)", REQUIRED),
})

KERNEL = Section("kernel", {
    "resolution_ms": Key("positive number", "simulation step", 0.1, "ms", checks.positive_number),
    "seed": Key("whole number", "NEST's random seed", 1, "", _whole),
    "threads": Key("whole number", "threads per process (not with `total_num_virtual_procs`)", 1, "", _whole),
    "total_num_virtual_procs": Key("whole number", "processes x threads, instead of `threads` (the same spikes "
                                   "for 1 x 2 and 2 x 1)", OPTIONAL, "", _whole),
})

NETWORK = Section("network", {
    "neuron_models": Key("tree", "every node may carry `params` and `nest_params`; leaves are models and inherit "
                         "from their ancestors (the leaf wins)", {}),
    "synapse_models": Key("tree", "likewise, for synapse models", {}),
    "populations": Key("mapping", "name -> population (below)", REQUIRED),
    "connections": Key("list", "projections (below)", []),
    "recorders": Key("list", "what is recorded (below)", []),
})

MODEL = Section("network.{neuron,synapse}_models.<leaf>.params", {
    "nest_model": Key("text", "a NEST built-in"),
    "nestml": Key("text", "a model of the tree's `modules` (the first that has it), then of the catalog", OPTIONAL,
                  "", _text),
    "catalog": Key("text", "a catalog model"),
    "partner": Key("text", "the model it was co-generated with (a neuron's synapse, a synapse's neuron)"),
})

POPULATION = Section("network.populations.<name>", {
    "model": Key("text", "a neuron-model leaf, or `nest:<model>` (devices, parrots)", REQUIRED, "", _text),
    "n": Key("whole number", "size (a grid's is its shape)", 1, "", _whole),
    "nest_params": Key("mapping", "NEST parameters of this population only (numbers, text, lists, or values "
                       "NEST draws, below)", {}, "", _values),
    "spatial": Key("mapping", "positions (below)"),
    "parrots": Key("true/false", "a stimulator layer: each device repeated by a parrot neuron, which holds the "
                   "position and stands for the population in connections and recorders", False, "",
                   checks.check_bool),
})

SPATIAL = Section("network.populations.<name>.spatial", {
    "shape": Key("[columns, rows]", "a grid (or `random`)"),
    "random": Key("true", "n positions uniform in the extent (or `shape`)"),
    "extent": Key("[width, height]", "the layer's size", [1.0, 1.0]),
    "center": Key("[x, y]", "the layer's centre", [0.0, 0.0]),
    "edge_wrap": Key("true/false", "periodic boundaries", False, "", checks.check_bool),
})

CONNECTION = Section("network.connections[i]", {
    "source": Key("population or list", "a list joins populations (not for spatial connections)", REQUIRED),
    "target": Key("population or list", "likewise", REQUIRED),
    "target_range": Key("[first, stop)", "a slice of one target population"),
    "synapse": Key("text", "a synapse-model leaf (default: NEST's static synapse)"),
    "rule": Key("mapping", "NEST's conn_spec (`rule: fixed_indegree, indegree: 10`, ...); between spatial "
                "populations also `mask` (`circular`, `rectangular`, `doughnut`, `elliptical`) and a kernel as `p`",
                {"rule": "all_to_all"}, "", _rule),
    "nest_params": Key("mapping", "weight, delay, ... per connection", {}, "", _values),
})

RECORDER = Section("network.recorders[i]", {
    "name": Key("name", "names its arrays in the run folder", REQUIRED, "", checks.check_name),
    "populations": Key("list of populations", "spikes (or `weights`, or `multimeter`)"),
    "weights": Key("mapping", "a bounded sample of connections' weights, read after each session (below)"),
    "multimeter": Key("mapping", "state variables (below)"),
})

WEIGHTS = Section("network.recorders[i].weights", {
    "source": Key("population", "whose outgoing connections", REQUIRED),
    "synapse": Key("text", "a synapse-model leaf", REQUIRED),
    "max_sources": Key("whole number", "at most this many sources' connections (memory stays bounded)", 100, "",
                       _whole),
})

MULTIMETER = Section("network.recorders[i].multimeter", {
    "populations": Key("population or list", "whose state variables", REQUIRED),
    "record_from": Key("list of names", "state variables", REQUIRED),
    "interval_ms": Key("positive number", "sampling interval", 1.0, "ms", checks.positive_number),
    "max_nodes": Key("whole number", "at most this many nodes of each population", 10, "", _whole),
})

SESSION = Section("sessions.<name>", {
    "simulation_time_ms": Key("positive number", "model time of the session", REQUIRED, "ms",
                              checks.positive_number),
    "record": Key("true/false", "keep its data", True, "", checks.check_bool),
    "unit_changes": Key("list", "`{population, nest_params}` set before the session (on a parrot layer: its "
                        "devices)", []),
})

UNIT_CHANGE = Section("sessions.<name>.unit_changes[j]", {
    "population": Key("population", "whose nodes change", REQUIRED),
    "nest_params": Key("mapping", "the new values", REQUIRED, "", _values),
})

SECTIONS = (TOP, KERNEL, NETWORK, MODEL, POPULATION, SPATIAL, CONNECTION, RECORDER, WEIGHTS, MULTIMETER, SESSION,
            UNIT_CHANGE)


def fill(node, section: Section, where: str) -> dict:
    """``node`` checked against ``section`` (unknown keys, missing ones, each value's kind) with the defaults of
    the keys it leaves out written in: the resolved node.
    """
    checks.check_keys(node, set(section.keys), where, section.required())
    out = {}
    for name, key in section.keys.items():
        if name in node:
            out[name] = key.check(node[name], f"{where}.{name}") if key.check else node[name]
        elif key.default is not OPTIONAL and key.default is not REQUIRED:
            out[name] = copy.deepcopy(key.default)
    return out


def markdown() -> str:
    """The schema as docs/trees.md's table: one row per key."""
    rows = ["| path | takes | default | meaning |", "|---|---|---|---|"]
    for section in SECTIONS:
        for name, key in section.keys.items():
            path = f"{section.path}.{name}" if section.path else name
            if key.default is REQUIRED:
                default = "required"
            elif key.default is OPTIONAL:
                default = ""
            else:
                default = f"`{_yaml(key.default)}`" + (f" {key.unit}" if key.unit else "")
            takes = key.takes + (f" ({key.unit})" if key.unit and key.default in (REQUIRED, OPTIONAL) else "")
            rows.append(f"| `{path}` | {takes} | {default} | {key.help} |")
    return "\n".join(rows) + "\n"


def _yaml(value) -> str:
    """A default as the YAML flow text a user would write."""
    import yaml

    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
