"""An edit of a neuron's parameter defaults alone, without NESTML: the unit's C++ made from an earlier run's.

A modeller changes ``V_th mV = 30 mV`` to ``29.5 mV`` and runs the cell again. NESTML would parse, check and
transform the model, run ODE-toolbox and render its templates again (about 5 s), to change one number in
``init_state_internal_()``. This module sees that the edit is of that kind and makes NESTML's output of the
edited model from NESTML's output of the model as it was (any earlier build on this machine, found by the shape of
its text), changing that number; the toolkit's edits then run as after NESTML (with R11 the number lands in the
neuron's table of defaults, a file of its own, and the neuron's translation unit is the compiler cache's).

The *shape* of a unit is everything its code is made from (NESTML's and the toolkit's versions and code, the
options, the solver, the rewrites, the models' text), with the numbers of the models' parameter declarations
masked: ``V_th mV = <N> mV``. Two units of the same shape differ only in those numbers. Where NESTML prints such
a number, it prints it as a function of the number alone (its C++ printer: ``30 mV`` is ``30.``, ``-50 mV``
``(-50.)``, ``0.02 / 1 ms`` ``0.02 / ((double)(1.))``); the parameters' defaults reach nothing else: not the
ODE analysis (ODE-toolbox takes parameters as symbols; NESTML asks it for no stiffness test) and not the
header. So the edited unit's code is the earlier one with those numbers printed anew.

Conservative by construction; whenever it cannot tell, NESTML runs:

- only parameters (state initial values pass through ODE-toolbox's sympy, which prints them its own way), of
  neurons and synapses (but the variable NEST's weight sets, whose default NESTML writes twice, and a synapse's
  parameter that co-generation moved into its neuron); a declaration of integer, boolean or string type, a
  vector, or a line that is not one declaration keeps its numbers in the shape;
- a number's sign is part of the shape (``-50 mV`` -> ``-55 mV``, never ``-50 mV`` -> ``50 mV``);
- each declaration's line in NESTML's C++ (``P_.V_th = 30.; // as mV``) and its entry in the declared
  variables must hold exactly the earlier numbers as NESTML prints them. NESTML reads ``30`` as an integer and
  ``30.0``, ``1e3`` as floats. Its C++ printer prints a float with 9 significant digits and a point (``29.5``,
  ``30.``; the worker's ``format_float``) and an integer either so (``30 mV`` is ``30.``) or as it is; its model
  printer (the declared variables) prints an integer as it is and a float as Python does (``1e3`` is
  ``1000.0``). A float may not become an integer (an integer with a unit is printed as a float, one without as it
  is; which the place holds is not known here). Otherwise :class:`NotApplicable`.

The code made here is byte for byte what NESTML makes for the edited model, but for NESTML's line that dates
the file (``tests/integration/test_generation_shortcuts.py`` compares the two).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from nestml_lab.codegen.edits.cpp import NoMatch

#: What the unit's folder holds of its shape: the key, the numbers of its neurons' parameters, its sources' paths.
SHAPE_FILE = "SHAPE.json"
#: Set to 0 to have NESTML generate every edited unit (to compare, or if this shortcut is ever in doubt).
ENV = "NESTML_LAB_DEFAULTS_ONLY"


def wanted() -> bool:
    """Whether edits of defaults alone are made without NESTML (:data:`ENV`)."""
    return os.environ.get(ENV, "1") != "0"


class NotApplicable(Exception):
    """The edit is not of defaults alone, or the earlier code is not as expected: NESTML runs (the reason said)."""


_NUMBER = re.compile(r"(?<![\w.])(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?(?![\w.])")
_BLOCK = re.compile(r"^(?P<indent>[ \t]*)parameters\s*:\s*(?:#.*)?$")
_DECLARATION = re.compile(r"^(?P<names>\s*[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s+(?P<type>[^=#]+?)\s*=(?P<rhs>[^#]*)"
                          r"(?P<comment>#.*)?$")
_KEPT_TYPES = ("integer", "int", "boolean", "bool", "string")


def shape(text: str) -> tuple[str, dict[str, list[str]]]:
    """The text with the numbers of its parameter declarations masked, and those numbers by variable."""
    lines = text.split("\n")
    values: dict[str, list[str]] = {}
    block = None   # indentation of the parameters: line we are in
    for i, line in enumerate(lines):
        if block is not None and line.strip() and not line.lstrip().startswith("#") \
                and len(line) - len(line.lstrip()) <= len(block):
            block = None
        m = _BLOCK.match(line)
        if m:
            block = m["indent"]
            continue
        if block is None:
            continue
        d = _DECLARATION.match(line)
        if not d or d["type"].strip() in _KEPT_TYPES or "[" in d["names"] or "[" in d["type"]:
            continue
        numbers = _NUMBER.findall(d["rhs"])
        if not numbers:
            continue
        masked = _NUMBER.sub("<N>", d["rhs"])
        lines[i] = line[:d.start("rhs")] + masked + line[d.end("rhs"):]
        for name in d["names"].split(","):
            values[name.strip()] = numbers
    return "\n".join(lines), values


def shape_key(payload: dict) -> str:
    """The key of a unit's shape: a hash of everything its code is made from, numbers of defaults masked."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def index_dir() -> Path:
    """The machine-wide index of shapes (beside the notebook calls' module cache): shape key -> unit folder."""
    from nestml_lab.paths import user_cache

    return user_cache() / "shapes"


#: How many unit folders of one shape the index keeps, the most recent first: a cell edited back to an earlier
#: number (29.5 -> 30) finds the build that had it, where reprinting is known.
KEPT = 8


def remember(folder: Path, key: str, values: dict, sources: dict) -> None:
    """Write the unit's shape beside its code, and put it first in the index's list for its shape."""
    (folder / SHAPE_FILE).write_text(json.dumps({"key": key, "values": values, "sources": sources}, indent=1))
    try:
        index = index_dir()
        index.mkdir(parents=True, exist_ok=True)
        here = str(folder.resolve())
        known = [line for line in _listed(key) if line != here]
        tmp = index / f".{key}.{os.getpid()}"
        tmp.write_text("\n".join([here, *known][:KEPT]) + "\n")
        tmp.replace(index / key)
    except OSError:   # an index we cannot write costs the next edit its shortcut, nothing else
        pass


def _listed(key: str) -> list[str]:
    try:
        return [line for line in (index_dir() / key).read_text().splitlines() if line.strip()]
    except OSError:
        return []


def find(key: str, own: Path) -> list[tuple[Path, dict]]:
    """The unit folders of this shape, each with its shape record.

    The unit's own folder first, then the index's, the most recent first.
    """
    found, seen = [], set()
    for folder in [own.resolve(), *map(Path, _listed(key))]:   # the index holds resolved paths
        if str(folder) in seen:
            continue
        seen.add(str(folder))
        try:
            record = json.loads((folder / SHAPE_FILE).read_text())
        except (OSError, ValueError):
            continue
        if record.get("key") == key and (folder / "nestml").is_dir():
            found.append((folder, record))
    return found


# --- NESTML's ways of printing a number ------------------------------------------------------------------------

def _integer(token: str) -> bool:
    """Whether NESTML reads the number as an integer (its UNSIGNED_INTEGER) rather than a float."""
    return token.isdigit()


def _cpp(old: str, printed: str, new: str) -> str | None:
    """How NESTML's C++ printer prints ``new`` where it printed ``old`` as ``printed``; None when unknown."""
    from nestml_lab.codegen.worker import format_float

    if printed == format_float(float(old)) and (_integer(old) or not _integer(new)):
        return format_float(float(new))   # a float, or an integer NESTML printed as one (30 mV: 30.)
    if _integer(old) and printed == old:   # an integer without a unit (alpha real = 1: 1); a float there: 0.5
        return new if _integer(new) else format_float(float(new))
    return None


def _declared(old: str, printed: str, new: str) -> str | None:
    """How NESTML's model printer (the declared variables) prints ``new``, where it printed ``old`` as ``printed``."""
    def nestml(token: str) -> str:
        return str(int(token)) if _integer(token) else str(float(token))

    return nestml(new) if printed == nestml(old) else None


def _reprint(printed: str, old: list[str], new: list[str], what: str, printer) -> str:
    """``printed`` (NESTML's text of a declaration's value) with the numbers ``old`` printed as ``new``."""
    spans = [m.span() for m in _NUMBER.finditer(printed)]
    if len(spans) != len(old):
        raise NotApplicable(f"{what}: {len(spans)} number(s) in NESTML's {printed!r}, {len(old)} in the model")
    out, last = [], 0
    for (start, end), o, n in zip(spans, old, new):
        token = printer(o, printed[start:end], n)
        if token is None:
            raise NotApplicable(f"{what}: NESTML printed {o} as {printed[start:end]}; how it prints {n} there is "
                                "not known here")
        out += [printed[last:start], token]
        last = end
    return "".join(out) + printed[last:]


_ASSIGNMENT = r"^(  P_\.{var} = )([^;\n]+)(; // as [^\n]*)$"


def _reprint_cpp(cpp: str, cls: str, var: str, old: list[str], new: list[str], synapse: bool) -> str:
    """NESTML's C++ of a model (a neuron's .cpp, a synapse's header) with ``P_.var``'s default reprinted."""
    from nestml_lab.codegen.edits.defaults import defaults_block

    where = "its constructor" if synapse else "init_state_internal_()"
    try:
        start, end = defaults_block(cpp, cls, synapse)
    except NoMatch as exc:
        raise NotApplicable(f"{cls}: {exc}") from None
    body = cpp[start:end]
    found = list(re.finditer(_ASSIGNMENT.format(var=re.escape(var)), body, re.M))
    if len(found) != 1:
        raise NotApplicable(f"{cls}: {len(found)} assignment(s) of P_.{var} in {where}, not 1")
    m = found[0]
    line = m.group(1) + _reprint(m.group(2), old, new, f"{cls}.{var}", _cpp) + m.group(3)
    return cpp[:start] + body[:m.start()] + line + body[m.end():] + cpp[end:]


@dataclass
class Edit:
    """The defaults each model of a unit changes from an earlier unit of the same shape.

    ``changed``: model -> variable -> (old numbers, new numbers).
    """

    changed: dict[str, dict[str, tuple[list[str], list[str]]]]


def edit(old_values: dict, new_values: dict) -> Edit:
    """What changed between two units of the same shape (``{model: {variable: numbers}}`` each)."""
    changed: dict = {}
    for model, values in new_values.items():
        for var, numbers in values.items():
            before = old_values.get(model, {}).get(var)
            if before is None or len(before) != len(numbers):
                raise NotApplicable(f"{model}.{var}: no earlier value of the same shape")
            if before != numbers:
                changed.setdefault(model, {})[var] = (before, numbers)
    return Edit(changed)


@dataclass
class Target:
    """Where a model of the unit is in NESTML's output.

    Its NEST classes, whether a synapse (its defaults in its header's constructor) and the variable NEST's weight
    sets (NESTML writes its default a second time).
    """

    classes: list[str]
    synapse: bool = False
    weight: str | None = None


def make(donor: Path, staging: Path, targets: dict[str, Target], change: Edit) -> None:
    """NESTML's output of the edited unit in ``staging`` (as the worker leaves it): the donor's, reprinted.

    ``targets``: model -> :class:`Target`.
    """
    staging.mkdir(parents=True, exist_ok=True)
    raw = donor / "nestml"
    for f in raw.iterdir():
        if f.suffix in (".h", ".cpp") or f.name == "VARIABLES.json":
            shutil.copy2(f, staging / f.name)
    declared = json.loads((staging / "VARIABLES.json").read_text())
    for model, changed in change.changed.items():
        target = targets.get(model)
        if target is None:
            raise NotApplicable(f"{model}: not a model of this unit's NESTML output")
        if target.weight in changed:
            raise NotApplicable(f"{model}.{target.weight}: NEST's weight, whose default NESTML also writes elsewhere")
        moved = [v for v in changed for c in declared.values() for p in c.get("parameters", {})
                 if target.synapse and p.startswith(f"{v}__for_")]
        if moved:
            raise NotApplicable(f"{model}.{moved[0]}: moved into its neuron by co-generation")
        for cls in target.classes:
            path = staging / f"{cls}{'.h' if target.synapse else '.cpp'}"
            if not path.is_file():
                raise NotApplicable(f"{path.name} not in the earlier unit's NESTML output")
            cpp = path.read_text()
            params = declared.get(cls, {}).get("parameters", {})
            for var, (old, new) in changed.items():
                cpp = _reprint_cpp(cpp, cls, var, old, new, target.synapse)
                if var not in params:
                    raise NotApplicable(f"{cls}.{var} not among the declared parameters")
                params[var] = _reprint(params[var], old, new, f"{cls}.{var} (declared)", _declared)
            path.write_text(cpp)
    (staging / "VARIABLES.json").write_text(json.dumps(declared, indent=1))


def warnings(donor: Path, record: dict, sources: dict) -> str:
    """The donor's NESTML warnings, naming this unit's sources (the models' lines are the same)."""
    path = donor / "NESTML_WARNINGS.txt"
    text = path.read_text() if path.is_file() else ""
    out = []
    for line in text.splitlines(keepends=True):
        for model, old in record.get("sources", {}).items():
            if line.startswith(f"{old}:") and model in sources:
                line = sources[model] + line[len(old):]
                break
        out.append(line)
    return "".join(out)
