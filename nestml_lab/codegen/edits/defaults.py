"""The speed rewrite of a model's defaults: its parameters' and state's initial values in a translation unit of
their own, so that editing one recompiles a file of numbers and not the model.

R11 ``defaults_unit`` (every model)
    NESTML writes a neuron's default values into ``init_state_internal_()`` as literals (``P_.V_th = 30.; //
    as mV``). Edit one in a notebook cell and the neuron's translation unit, 5-6 s of NEST's templates, is
    compiled again: its text changed. The rewrite moves each literal into a table of doubles defined in
    ``<neuron>_defaults.cpp`` (no NEST header: milliseconds to compile) and reads it from there
    (``P_.V_th = nestml_lab_defaults_<neuron>[6];``). The neuron's own file no longer holds a default, so an edit
    of one leaves its text as it was, and the compiler cache (ccache) has it. Changes no value: the same literal,
    an initializer of a ``double`` instead of the right-hand side of an assignment to one. Preconditions:
    NESTML 9.0.0's blocks of initial values found; only literals (numbers, infinities, their arithmetic) of real
    variables move; a default that reads another variable (``V_m = E_L``) or an integer or boolean stays.
    A synapse alike: NESTML writes its defaults into its constructor, in its header, which the synapse's
    translation unit (9 s of NEST's connection templates) includes; the table is declared and defined in the
    synapse's namespace (``nest::<synapse>``), as its class is.
"""

from __future__ import annotations

import re

from nestml_lab.codegen.edits.cpp import NoMatch, block_end, one_definition
from nestml_lab.codegen.edits.model import Model

_BLOCKS = (r"^  // initial values for parameters *$", r"^  // initial values for state variables *$")
_ASSIGNMENT = re.compile(r"^  (?P<lhs>P_\.\w+|S_\.\w+|S_\.ode_state\[State_::\w+\]) = (?P<rhs>[^;\n]+); // as (?P<unit>[^\n]*)$")
_INFINITY = "std::numeric_limits< double_t >::infinity()"


def _literal(expr: str) -> bool:
    """Whether a C++ expression of NESTML's is a constant of numbers alone (no variable, no call but infinity)."""
    rest = expr.replace(_INFINITY, "1").replace("(double)", "")
    return re.fullmatch(r"[\s\d.eE+\-*/()]+", rest) is not None and re.search(r"\d", rest) is not None


def _constructor(header: str, cls: str) -> tuple[int, int]:
    """(start, end) of a NESTML synapse's default constructor, ``cls< targetidentifierT >::cls() : ...``."""
    found = list(re.finditer(rf"^{re.escape(cls)}< targetidentifierT >::{re.escape(cls)}\(\) : ConnectionBase\(\)\n",
                             header, re.M))
    if len(found) != 1:
        raise NoMatch(f"expected one default constructor of {cls}, found {len(found)}")
    brace = header.index("{", found[0].end() - 1)
    return found[0].start(), block_end(header, brace)


def defaults_block(text: str, cls: str, synapse: bool) -> tuple[int, int]:
    """(start, end) of the function NESTML writes a model's defaults in (NoMatch unless exactly one).

    A neuron's ``init_state_internal_()`` in its .cpp, a synapse's default constructor in its header.
    """
    return _constructor(text, cls) if synapse else one_definition(text, cls, "init_state_internal_")


def _defaults_unit(cpp: str, cls: str, synapse: bool = False) -> tuple[str, str, str]:
    start, end = defaults_block(cpp, cls, synapse)
    body = cpp[start:end]
    if not all(re.search(block, body, re.M) for block in _BLOCKS):
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
    if synapse and not ("\nnamespace nest\n{" in cpp[:start] and f"\nnamespace {cls}\n{{" in cpp[:start]
                        and f"}} // namespace {cls}" in cpp[end:]):
        raise NoMatch(f"the synapse's constructor is not in namespace nest::{cls}")
    declaration = (f"// nestml-lab R11: the literal defaults of {cls}, in a translation unit of their own\n"
                   f"extern const double nestml_lab_defaults_{cls}[];\n\n")
    # the definition's line: a neuron's return type before ``cls::``, a synapse's template line
    line = cpp.rfind("\n", 0, cpp.rfind("\n", 0, start) if synapse else start) + 1
    cpp = cpp[:line] + declaration + cpp[line:start] + "\n".join(lines) + cpp[end:]
    values = "".join(f"  {value},   // {name}\n" for value, name in zip(table, moved))
    reader = "its constructor" if synapse else "init_state_internal_()"
    table_text = f"extern const double nestml_lab_defaults_{cls}[] = {{\n{values}}};\n"
    unit = (f"// nestml-lab R11: the literal defaults of {cls} ({reader} reads them by index)\n"
            "#include <cmath>\n#include <limits>\n\n"
            + (f"namespace nest\n{{\nnamespace {cls}\n{{\n{table_text}}}\n}}\n" if synapse else table_text))
    return cpp, unit, f"{len(table)} default(s) in {cls}_defaults.cpp: {', '.join(moved)}"


def defaults_unit(m: Model) -> str:
    """R11: the model's literal defaults in a translation unit of their own."""
    if m.kind == "synapse":
        header, unit, detail = _defaults_unit(m.header, m.name, synapse=True)
        m.header = header
    else:
        cpp, unit, detail = _defaults_unit(m.cpp, m.name)
        m.cpp = cpp
    m.add_file(f"{m.name}_defaults.cpp", unit)
    return detail
