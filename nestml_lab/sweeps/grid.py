"""A sweep's grid: parameter names and values checked against the experiment's declared parameters.

``NAME=V1,V2,...`` names a parameter of the experiment (its field name, ``frequency_hz``, or its option,
``--freq``/``freq``); a dict parameter's entry is ``NAME.KEY`` (``synapse_params.lambda=0.005,0.01``). A
value is converted to the parameter's kind; a number may carry the parameter's unit (``20ms`` for a
parameter in ms), never another. Everything is refused before anything runs, naming the parameter and what
it takes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass

from nestml_lab.experiments.shared.contract import Experiment, Parameter, parameters

_NUMBER_UNIT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z/%^0-9 ]*?)\s*$")


class GridError(ValueError):
    """A grid or a fixed value that the experiment does not take (the message says what it takes)."""


@dataclass(frozen=True)
class Axis:
    """One dimension of the grid: the parameter (or a dict parameter's entry) and its values."""

    name: str          # the parameter's field name, or "field.key" for a dict entry
    values: tuple

    @property
    def column(self) -> str:
        """The axis's column in the results table."""
        return self.name


def _lookup(exp: Experiment, name: str) -> tuple[Parameter, str | None]:
    pars = {p.name: p for p in parameters(exp.params)}
    field, _, key = name.partition(".")
    by_option = {p.option().lstrip("-"): p for p in pars.values()}
    par = pars.get(field) or pars.get(field.replace("-", "_")) or by_option.get(field)
    if par is None:
        offered = ", ".join(p.name for p in pars.values() if p.kind in ("int", "float", "str", "bool", "dict"))
        raise GridError(f"{exp.name} has no parameter {field!r}; it takes: {offered}")
    if key and par.kind != "dict":
        raise GridError(f"{par.name} of {exp.name} is a {par.kind}, not a table: write {par.name}=V1,V2")
    if par.kind == "dict" and not key:
        raise GridError(f"{par.name} of {exp.name} is a table of values: sweep one entry, {par.name}.NAME=V1,V2")
    if par.kind == "tuple":
        raise GridError(f"{par.name} of {exp.name} is a list ({par.help}): sweep a single-valued parameter")
    return par, key or None


def convert(exp: Experiment, name: str, text) -> object:
    """A value of parameter ``name`` (field, option or ``field.key``) from its text, checked against its kind and
    unit.
    """
    par, key = _lookup(exp, name)
    kind = "float" if key else par.kind
    if key and par.text and not _NUMBER_UNIT.match(str(text)):
        return str(text)
    if not isinstance(text, str):
        text = json.dumps(text) if isinstance(text, bool) else str(text)
    if par.optional and text.strip().lower() in ("none", ""):
        return None
    if kind == "bool":
        if text.lower() in ("true", "yes", "1"):
            return True
        if text.lower() in ("false", "no", "0"):
            return False
        raise GridError(f"{par.name} of {exp.name} is true or false, not {text!r}")
    if kind == "str":
        if par.choices and text not in par.choices:
            raise GridError(f"{par.name} of {exp.name} is one of {', '.join(par.choices)}, not {text!r}")
        return text
    m = _NUMBER_UNIT.match(text)
    if not m:
        raise GridError(f"{name} of {exp.name} is a number{f' in {par.unit}' if par.unit and not key else ''}, "
                        f"not {text!r}")
    number, unit = m.group(1), m.group(2).strip()
    if unit and key:
        raise GridError(f"{name} of {exp.name}: an entry of {par.name} is a plain number, in the model's own unit "
                        f"(write {number}, not {text!r})")
    if unit and unit.replace(" ", "") != par.unit.replace(" ", ""):
        raise GridError(f"{name} of {exp.name} is in {par.unit or 'no unit'} ({par.help}), not in {unit!r}: write "
                        f"the number{f' in {par.unit}' if par.unit and not key else ''}")
    if kind == "int":
        if not re.fullmatch(r"[-+]?\d+", number):
            raise GridError(f"{par.name} of {exp.name} is a whole number, not {text!r}")
        return int(number)
    return float(number)


def parse_assignments(exp: Experiment, specs, many: bool) -> list[Axis]:
    """``["NAME=V1,V2", ...]`` (``many``: a grid) or ``["NAME=V", ...]`` (fixed values) as axes, checked."""
    axes: dict[str, Axis] = {}
    for spec in specs:
        if isinstance(spec, Axis):
            axes[spec.name] = spec
            continue
        name, sep, values = str(spec).partition("=")
        if not sep or not name.strip() or not values.strip():
            raise GridError(f"{spec!r}: write NAME={'V1,V2,...' if many else 'VALUE'}")
        name = name.strip()
        par, key = _lookup(exp, name)
        canonical = f"{par.name}.{key}" if key else par.name
        texts = [v for v in values.split(",")] if many else [values]
        converted = tuple(convert(exp, canonical, v.strip()) for v in texts)
        if many and len(set(map(repr, converted))) != len(converted):
            raise GridError(f"{canonical}: a value is given twice ({values})")
        if canonical in axes:
            raise GridError(f"{canonical} is given twice")
        axes[canonical] = Axis(canonical, converted)
    return list(axes.values())


def grid_from_dict(exp: Experiment, grid: dict) -> list[Axis]:
    """The Python form of a grid, ``{"frequency_hz": [1, 5], "synapse_params.lambda": [0.01, 0.02]}``."""
    axes = []
    for name, values in grid.items():
        values = list(values) if isinstance(values, (list, tuple, range)) else [values]
        if not values:
            raise GridError(f"{name}: no values")
        par, key = _lookup(exp, name)
        canonical = f"{par.name}.{key}" if key else par.name
        axes.append(Axis(canonical, tuple(convert(exp, canonical, v) for v in values)))
    return axes


def apply(exp: Experiment, base: dict, point: dict) -> dict:
    """Keyword arguments of the experiment's parameter class: ``base`` (fixed values) with the point's values
    (``field.key`` entries merged into the dict parameter; a list, as JSON gives it back, made a tuple where the
    parameter is one).
    """
    kwargs = {k: v for k, v in base.items() if "." not in k}
    pars = parameters(exp.params)
    defaults = {p.name: p.default for p in pars}
    for name, value in list(base.items()) + list(point.items()):
        field, _, key = name.partition(".")
        if key:
            table = dict(kwargs.get(field, defaults[field]) or {})
            table[key] = value
            kwargs[field] = table
        else:
            kwargs[field] = value
    kinds = {p.name: p.kind for p in pars}
    return {k: tuple(v) if kinds.get(k) == "tuple" and isinstance(v, list) else v for k, v in kwargs.items()}


@dataclass(frozen=True)
class Point:
    """One run of the sweep: its grid values (and seed), and the name of its folder."""

    values: dict

    @property
    def key(self) -> str:
        """A short, stable name: the values' hash (the same point has the same folder in every sweep)."""
        text = json.dumps(self.values, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def label(self) -> str:
        """``frequency_hz=5 w0=20`` for people."""
        return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.values.items())


def points(axes: list[Axis]) -> list[Point]:
    """Every combination of the axes' values, the first axis slowest."""
    names = [a.name for a in axes]
    return [Point(dict(zip(names, combo))) for combo in itertools.product(*(a.values for a in axes))]
