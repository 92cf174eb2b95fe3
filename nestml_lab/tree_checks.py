"""Checks of an experiment tree's values, before anything runs: names, whole numbers, finite numbers, memory.

Every error is a :class:`TreeError` whose message starts with the file and the path in the tree.
"""

from __future__ import annotations

import math
import re


class TreeError(ValueError):
    """A malformed experiment tree: the message names the file and the path inside the tree."""


def check_keys(node, allowed: set, where: str, required: set = frozenset()):
    if not isinstance(node, dict):
        raise TreeError(f"{where}: expected a mapping, got {type(node).__name__}")
    unknown = sorted(set(node) - allowed)
    if unknown:
        raise TreeError(f"{where}: unknown key(s) {unknown}; allowed: {', '.join(sorted(allowed))}")
    missing = sorted(required - set(node))
    if missing:
        raise TreeError(f"{where}: missing key(s) {missing}")


#: Names that become file names or keys in the run folder: no path separators, no "..".
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*\Z")


def check_name(value, where: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise TreeError(f"{where}: {value!r} is not a valid name (letters, digits, _ and -; it names files "
                        "and arrays in the run folder)")
    return value


def whole_number(value, where: str, minimum: int = 1) -> int:
    """A whole number >= minimum; 2.7 or "ten" is an error, 100.0 is 100."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or isinstance(value, float) and (
            not math.isfinite(value) or value != int(value)):
        raise TreeError(f"{where}: expected a whole number, got {value!r}")
    if int(value) < minimum:
        raise TreeError(f"{where}: expected a whole number >= {minimum}, got {value!r}")
    return int(value)


def positive_number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise TreeError(f"{where}: expected a positive number, got {value!r}")
    return float(value)


_DISTRIBUTIONS = {"normal": {"mean", "std"}, "uniform": {"min", "max"}, "lognormal": {"mean", "std"},
                  "distance": {"offset", "slope"}}   # offset + slope x distance, between spatial populations


def check_values(params, where: str) -> None:
    """NEST parameter values: finite numbers (or lists of them), text, or a distribution of finite numbers."""
    if not isinstance(params, dict):
        raise TreeError(f"{where}: expected a mapping of NEST parameters, got {type(params).__name__}")
    for key, v in params.items():
        here = f"{where}.{key}"
        if isinstance(v, dict):
            check_distribution(v, here)
        else:
            check_finite(v, here)


def check_finite(v, where: str) -> None:
    if isinstance(v, list):
        for i, x in enumerate(v):
            check_finite(x, f"{where}[{i}]")
    elif isinstance(v, float) and not math.isfinite(v):
        raise TreeError(f"{where}: {v} is not a finite number")
    elif v is None or isinstance(v, dict):
        raise TreeError(f"{where}: expected a number, text or a list, got {v!r}")


def check_distribution(v: dict, where: str) -> None:
    if len(v) != 1:
        raise TreeError(f"{where}: a distribution is one of {{normal: ..}}, {{uniform: ..}}, {{lognormal: ..}}, "
                        f"{{distance: ..}}, {{redraw: ..}}; got {v!r}")
    (kind, args), = v.items()
    if kind == "redraw":
        if not isinstance(args, dict):
            raise TreeError(f"{where}.redraw: expected a mapping")
        bounds = {k: args[k] for k in ("min", "max") if k in args}
        for k, b in bounds.items():
            if isinstance(b, bool) or not isinstance(b, (int, float)) or math.isnan(b):
                raise TreeError(f"{where}.redraw.{k}: expected a number, got {b!r}")
        check_distribution({k: a for k, a in args.items() if k not in bounds}, f"{where}.redraw")
        return
    if kind not in _DISTRIBUTIONS:
        raise TreeError(f"{where}: unknown distribution {kind!r}; there are: {', '.join(_DISTRIBUTIONS)}, redraw")
    check_keys(args, _DISTRIBUTIONS[kind], f"{where}.{kind}", _DISTRIBUTIONS[kind])
    _finite_numbers(args, f"{where}.{kind}")


def _finite_numbers(args: dict, where: str) -> None:
    """Every value of ``args`` (a distribution's or a kernel's arguments) is a finite number."""
    for k, x in args.items():
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise TreeError(f"{where}.{k}: expected a finite number, got {x!r}")


def _numbers(v, where: str, count: int | None = None, positive: bool = False) -> list:
    """A list of finite numbers (of ``count`` entries), e.g. a shape, an extent or a centre."""
    ok = isinstance(v, list) and (count is None or len(v) == count) and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and (x > 0 or not positive)
        for x in v)
    if not ok:
        raise TreeError(f"{where}: expected a list of {count or 'some'} {'positive ' if positive else ''}numbers, "
                        f"got {v!r}")
    return [float(x) for x in v]


def check_spatial(spec, where: str, n) -> tuple[dict, int]:
    """A population's positions: a grid ``{shape: [columns, rows]}`` or ``{random: true}`` (n positions uniform
    in the extent), with ``extent`` (default [1, 1]), ``center`` ([0, 0]) and ``edge_wrap`` (false).
    Returns the resolved spec and the number of nodes."""
    check_keys(spec, {"shape", "random", "extent", "center", "edge_wrap"}, where)
    if ("shape" in spec) == bool(spec.get("random", False)):
        raise TreeError(f"{where}: give shape: [columns, rows] (a grid) or random: true (free positions)")
    out = {"extent": _numbers(spec.get("extent", [1.0, 1.0]), f"{where}.extent", 2, positive=True),
           "center": _numbers(spec.get("center", [0.0, 0.0]), f"{where}.center", 2),
           "edge_wrap": spec.get("edge_wrap", False)}
    if not isinstance(out["edge_wrap"], bool):
        raise TreeError(f"{where}.edge_wrap: expected true or false, got {out['edge_wrap']!r}")
    if "shape" in spec:
        shape = spec["shape"]
        if not (isinstance(shape, list) and len(shape) == 2):
            raise TreeError(f"{where}.shape: expected [columns, rows], got {shape!r}")
        out["shape"] = [whole_number(x, f"{where}.shape[{i}]") for i, x in enumerate(shape)]
        size = out["shape"][0] * out["shape"][1]
        if n is not None and whole_number(n, f"{where}.n") != size:
            raise TreeError(f"{where}: n is {n}, but a {out['shape'][0]} x {out['shape'][1]} grid has {size} nodes")
        return out, size
    if n is None:
        raise TreeError(f"{where}: random positions need n (the number of nodes)")
    out["random"] = True
    return out, whole_number(n, f"{where}.n")


_KERNELS = {"gaussian": ({"std"}, {"p_center", "mean"}), "exponential": ({"beta"}, {"p_center"})}
_MASKS = {"circular", "rectangular", "doughnut", "elliptical"}


def check_kernel(v, where: str) -> float:
    """A distance-dependent connection probability, ``{gaussian: {std, p_center, mean}}`` or
    ``{exponential: {beta, p_center}}``; returns p_center (the largest probability)."""
    if not (isinstance(v, dict) and len(v) == 1 and next(iter(v)) in _KERNELS):
        raise TreeError(f"{where}: expected a probability or a kernel, one of {{gaussian: {{std: .., p_center: ..}}}}, "
                        f"{{exponential: {{beta: .., p_center: ..}}}}; got {v!r}")
    (kind, args), = v.items()
    required, optional = _KERNELS[kind]
    check_keys(args, required | optional, f"{where}.{kind}", required)
    _finite_numbers(args, f"{where}.{kind}")
    for k in required:
        positive_number(args[k], f"{where}.{kind}.{k}")
    p_center = args.get("p_center", 1.0)
    if not 0 < p_center <= 1:
        raise TreeError(f"{where}.{kind}.p_center: expected a probability in (0, 1], got {p_center!r}")
    return float(p_center)


def check_mask(v, where: str) -> None:
    """A NEST mask, e.g. ``{circular: {radius: 0.5}}``; NEST checks the shape's own keys."""
    if not (isinstance(v, dict) and len(v) == 1 and next(iter(v)) in _MASKS and isinstance(next(iter(v.values())), dict)):
        raise TreeError(f"{where}: expected one of {', '.join(sorted(_MASKS))} with its parameters, e.g. "
                        f"{{circular: {{radius: 0.5}}}}; got {v!r}")
    (kind, args), = v.items()
    for k, x in args.items():
        check_finite(x, f"{where}.{kind}.{k}")


def uses_distance(params: dict) -> bool:
    """Whether a value of ``params`` depends on the distance (``{distance: ..}``, also inside a redraw)."""
    def has(v):
        return isinstance(v, dict) and ("distance" in v or any(has(x) for x in v.values()))
    return any(has(v) for v in params.values())


#: Rough bytes per neuron in NEST (an upper estimate, to refuse before NEST runs out of memory in the middle
#: of building the network).
BYTES_PER_NODE = 2_000
#: Bytes of one connection beyond its synapse object (NEST's source table and connector bookkeeping), measured:
#: 2e6 connections of static_synapse (sizeof 32) took 44 B each, stdp_synapse (96) 108 B, the catalog's
#: stdp_triplet_synapse (120) 132 B (NEST 3.10, 1 thread).
BYTES_PER_CONNECTION_OVERHEAD = 16
#: ``sizeof`` of NEST's synapse objects (GetDefaults(model)["sizeof"], NEST 3.10), for the estimate before NEST
#: is imported; a model not listed counts as :data:`BYTES_PER_SYNAPSE_UNKNOWN` until simulate() reads its size.
SYNAPSE_SIZEOF = {"static_synapse": 32, "stdp_synapse": 96, "tsodyks_synapse": 96, "stdp_triplet_synapse": 108}
BYTES_PER_SYNAPSE_UNKNOWN = 128
#: At most this many connections of one synapse model per virtual process (NEST 3.10 refuses more).
MAX_CONNECTIONS_PER_VP = 134_217_726
#: Kept for callers of the old flat estimate: bytes of a connection whose synapse model is unknown.
BYTES_PER_CONNECTION = BYTES_PER_SYNAPSE_UNKNOWN + BYTES_PER_CONNECTION_OVERHEAD


def connection_count(rule: dict, n_src: int, n_tgt: int, where: str) -> int:
    kind = rule.get("rule", "all_to_all")
    if kind == "all_to_all":
        return n_src * n_tgt
    if kind == "one_to_one":
        if n_src != n_tgt:
            raise TreeError(f"{where}: one_to_one needs populations of one size, got {n_src} and {n_tgt}")
        return n_tgt
    if kind == "fixed_indegree":
        return whole_number(rule.get("indegree"), f"{where}.indegree", 0) * n_tgt
    if kind == "fixed_outdegree":
        return whole_number(rule.get("outdegree"), f"{where}.outdegree", 0) * n_src
    if kind == "fixed_total_number":
        return whole_number(rule.get("N"), f"{where}.N", 0)
    if kind == "pairwise_bernoulli":
        p = rule.get("p")
        if isinstance(p, dict):   # a distance-dependent kernel: at most p_center everywhere
            return int(check_kernel(p, f"{where}.p") * n_src * n_tgt)
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1:
            raise TreeError(f"{where}.p: expected a probability in [0, 1], got {p!r}")
        return int(p * n_src * n_tgt)
    return n_src * n_tgt   # another rule: NEST checks it; count the worst case


def available_memory_bytes() -> int | None:
    """Memory a network built in this process may use: the machine's MemAvailable plus what this process
    holds already (a network built before and reset leaves its memory with the process, which reuses it:
    PD14 at full scale twice in one process). None where /proc is missing."""
    def field(path: str, name: str) -> int | None:
        try:
            for line in open(path):
                if line.startswith(name):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return None

    available = field("/proc/meminfo", "MemAvailable:")
    if available is None:
        return None
    return available + (field("/proc/self/status", "VmRSS:") or 0)


def connection_counts(populations: dict, connections: list) -> list[int]:
    """The number of connections each entry of ``connections`` makes (expected value for random rules)."""
    out = []
    for i, conn in enumerate(connections):
        size = {end: sum(populations[n]["n"] for n in (conn[end] if isinstance(conn[end], list) else [conn[end]]))
                for end in ("source", "target")}
        if "target_range" in conn:
            size["target"] = int(conn["target_range"][1]) - int(conn["target_range"][0])
        out.append(connection_count(conn.get("rule", {}), size["source"], size["target"],
                                    f"network.connections[{i}].rule"))
    return out


def estimate_memory_bytes(populations: dict, connections: list, synapse_bytes=None) -> int:
    """An estimate of the memory NEST needs for a tree's network: nodes, and each connection as its synapse
    object plus :data:`BYTES_PER_CONNECTION_OVERHEAD`.

    ``synapse_bytes(conn) -> int``: the size of a connection's synapse object (default: 128 B each).
    """
    nodes = sum(p["n"] for p in populations.values())
    size = synapse_bytes or (lambda conn: BYTES_PER_SYNAPSE_UNKNOWN)
    total = sum(count * (size(conn) + BYTES_PER_CONNECTION_OVERHEAD)
                for conn, count in zip(connections, connection_counts(populations, connections)))
    return nodes * BYTES_PER_NODE + total


def check_memory(populations: dict, connections: list, source: str, synapse_bytes=None) -> int:
    """Refuse a network that would not fit into this machine's available memory; return the estimate (B)."""
    need, have = estimate_memory_bytes(populations, connections, synapse_bytes), available_memory_bytes()
    if have is not None and need > 0.9 * have:
        raise TreeError(f"{source}: network: this network needs about {need / 1e9:.1f} GB (estimate: "
                        f"{BYTES_PER_NODE} B per node, each connection its synapse's size + "
                        f"{BYTES_PER_CONNECTION_OVERHEAD} B), but this machine has {have / 1e9:.1f} GB available: "
                        "make it smaller, or run it under MPI on more machines")
    return need
