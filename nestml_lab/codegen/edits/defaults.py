"""The speed rewrite of a neuron's defaults: its parameters' and state's initial values in a translation unit of
their own, so that editing one recompiles a file of numbers and not the neuron.

R11 ``defaults_unit`` (every neuron)
    NESTML writes a neuron's default values into ``init_state_internal_()`` as literals (``P_.V_th = 30.; //
    as mV``). Edit one in a notebook cell and the neuron's translation unit, 5-6 s of NEST's templates, is
    compiled again: its text changed. The rewrite moves each literal into a table of doubles defined in
    ``<neuron>_defaults.cpp`` (no NEST header: milliseconds to compile) and reads it from there
    (``P_.V_th = nestml_lab_defaults_<neuron>[6];``). The neuron's own file no longer holds a default, so an edit
    of one leaves its text as it was, and the compiler cache (ccache) has it. Changes no value: the same literal,
    an initializer of a ``double`` instead of the right-hand side of an assignment to one. Preconditions:
    NESTML 9.0.0's blocks of initial values found; only literals (numbers, infinities, their arithmetic) of real
    variables move; a default that reads another variable (``V_m = E_L``) or an integer or boolean stays.
"""

from __future__ import annotations

import re

from nestml_lab.codegen.edits.cpp import NoMatch, one_definition
from nestml_lab.codegen.edits.model import Model

_BLOCKS = ("  // initial values for parameters\n", "  // initial values for state variables\n")
_ASSIGNMENT = re.compile(r"^  (?P<lhs>P_\.\w+|S_\.\w+|S_\.ode_state\[State_::\w+\]) = (?P<rhs>[^;\n]+); // as (?P<unit>[^\n]*)$")
_INFINITY = "std::numeric_limits< double_t >::infinity()"


def _literal(expr: str) -> bool:
    """Whether a C++ expression of NESTML's is a constant of numbers alone (no variable, no call but infinity)."""
    rest = expr.replace(_INFINITY, "1").replace("(double)", "")
    return re.fullmatch(r"[\s\d.eE+\-*/()]+", rest) is not None and re.search(r"\d", rest) is not None


def _defaults_unit(cpp: str, cls: str) -> tuple[str, str, str]:
    start, end = one_definition(cpp, cls, "init_state_internal_")
    body = cpp[start:end]
    if not all(block in body for block in _BLOCKS):
        raise NoMatch("NESTML's blocks of initial values not found in init_state_internal_()")
    table, moved = [], []

    def to_table(m: re.Match) -> str:
        if m["unit"].strip() in ("integer", "boolean") or not _literal(m["rhs"]):
            return m.group(0)
        table.append(m["rhs"])
        moved.append(m["lhs"].split(".", 1)[1].replace("ode_state[State_::", "").rstrip("]"))
        return (f"  {m['lhs']} = nestml_lab_defaults_{cls}[{len(table) - 1}]; // as {m['unit']} "
                f"(nestml-lab R11: {cls}_defaults.cpp)")

    lines = [_ASSIGNMENT.sub(to_table, line) for line in body.split("\n")]
    if not table:
        raise NoMatch("no default is a literal")
    declaration = (f"// nestml-lab R11: the literal defaults of {cls}, in a translation unit of their own\n"
                   f"extern const double nestml_lab_defaults_{cls}[];\n\n")
    line = cpp.rfind("\n", 0, start) + 1   # the definition's line (its return type before ``cls::``)
    cpp = cpp[:line] + declaration + cpp[line:start] + "\n".join(lines) + cpp[end:]
    values = "".join(f"  {value},   // {name}\n" for value, name in zip(table, moved))
    unit = (f"// nestml-lab R11: the literal defaults of {cls} (init_state_internal_() reads them by index)\n"
            "#include <cmath>\n#include <limits>\n\n"
            f"extern const double nestml_lab_defaults_{cls}[] = {{\n{values}}};\n")
    return cpp, unit, f"{len(table)} default(s) in {cls}_defaults.cpp: {', '.join(moved)}"


def defaults_unit(m: Model) -> str:
    """R11: the neuron's literal defaults in a translation unit of their own."""
    cpp, unit, detail = _defaults_unit(m.cpp, m.name)
    m.cpp = cpp
    m.add_file(f"{m.name}_defaults.cpp", unit)
    return detail
