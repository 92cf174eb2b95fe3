"""Checks of an experiment tree's values, before anything runs: keys, names, whole and finite numbers,
distributions, positions, kernels and masks.

Every error is a :class:`TreeError` whose message starts with the file and the path in the tree.
"""

from __future__ import annotations

import math
import re


class TreeError(ValueError):
    """A malformed experiment tree: the message names the file and the path inside the tree."""


def check_keys(node, allowed: set, where: str, required: set = frozenset()) -> None:
    """``node`` is a mapping with no key outside ``allowed`` and every key of ``required``."""
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
    """A name that becomes a file name or an array key of the run folder."""
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
    """A finite number > 0 (not true or false)."""
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
    """A finite number, text, or a list of them."""
    if isinstance(v, list):
        for i, x in enumerate(v):
            check_finite(x, f"{where}[{i}]")
    elif isinstance(v, float) and not math.isfinite(v):
        raise TreeError(f"{where}: {v} is not a finite number")
    elif v is None or isinstance(v, dict):
        raise TreeError(f"{where}: expected a number, text or a list, got {v!r}")


def check_distribution(v: dict, where: str) -> None:
    """A value NEST draws: ``{normal: {mean, std}}``, ``{uniform: ..}``, ``{lognormal: ..}``, ``{distance: ..}``
    or ``{redraw: {<one of them>, min, max}}``.
    """
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


def check_spatial(spec: dict, where: str, n) -> tuple[dict, int]:
    """A population's positions, ``spec`` as the schema filled it: a grid ``{shape: [columns, rows]}`` or
    ``{random: true}`` (n positions uniform in the extent), with ``extent``, ``center`` and ``edge_wrap``.
    Returns the resolved spec and the number of nodes.
    """
    if ("shape" in spec) == bool(spec.get("random", False)):
        raise TreeError(f"{where}: give shape: [columns, rows] (a grid) or random: true (free positions)")
    out = {"extent": _numbers(spec["extent"], f"{where}.extent", 2, positive=True),
           "center": _numbers(spec["center"], f"{where}.center", 2), "edge_wrap": spec["edge_wrap"]}
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
    ``{exponential: {beta, p_center}}``; returns p_center (the largest probability).
    """
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


def check_bool(value, where: str) -> bool:
    """True or false (not "yes", not 1)."""
    if not isinstance(value, bool):
        raise TreeError(f"{where}: expected true or false, got {value!r}")
    return value
