"""Reading and editing NESTML's generated C++ as text: the helpers the passes share.

A pass finds NESTML's code by anchors (exact lines, or patterns of them); an anchor not found is a
:class:`NoMatch`, which a speed rewrite reports as skipped and a fix or a solver as a build error. Nothing
the passes insert is copied from NEST or NESTML: it is written against NEST's public API.
"""

from __future__ import annotations

import re


class NoMatch(Exception):
    """An anchor of NESTML's code was not found, or a precondition failed: the reason is the message."""


class NotApplicable(NoMatch):
    """The model has nothing the pass is about (not a failed precondition): nothing is reported."""


class Refused(Exception):
    """The model cannot take the pass (its equations, not NESTML's code): the build stops with this reason."""


def replace_once(text: str, old: str, new: str, what: str) -> str:
    """``text`` with its one occurrence of ``old`` replaced (NoMatch naming ``what`` unless exactly one)."""
    n = text.count(old)
    if n != 1:
        raise NoMatch(f"{what}: expected 1 occurrence of NESTML's code, found {n}")
    return text.replace(old, new)


def sub_all(pattern: str, repl, text: str, what: str, flags=re.M, minimum: int = 1) -> str:
    """``re.sub`` that raises NoMatch naming ``what`` when fewer than ``minimum`` matches are replaced."""
    new, n = re.subn(pattern, repl, text, flags=flags)
    if n < minimum:
        raise NoMatch(f"{what}: NESTML's code not found")
    return new


def block_end(text: str, open_brace: int) -> int:
    """Index just past the ``}`` matching the ``{`` at ``open_brace``."""
    depth = 0
    for i in range(open_brace, len(text)):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    raise NoMatch("unbalanced braces")


def function(text: str, signature: str) -> tuple[int, int]:
    """(start, end) of the one definition whose text starts with the regex ``signature`` (start of that line)."""
    matches = list(re.finditer(signature, text, re.M))
    if len(matches) != 1:
        raise NoMatch(f"expected one definition matching {signature!r}, found {len(matches)}")
    start = matches[0].start()
    brace = text.index("{", matches[0].end())
    return start, block_end(text, brace)


def definitions(text: str, cls: str, name_pattern: str) -> list[tuple[str, int, int]]:
    """(name, start, end) of every out-of-line member definition ``cls::<name>(...) {...}``; start is at ``cls::``."""
    out = []
    for m in re.finditer(rf"(?<![\w&:]){re.escape(cls)}::({name_pattern})\(", text):
        brace = text.find("{", m.end())
        semi = text.find(";", m.end())
        if brace < 0 or (0 <= semi < brace):
            continue   # a declaration or a call, not a definition
        out.append((m.group(1), m.start(), block_end(text, brace)))
    return out


def one_definition(text: str, cls: str, name: str) -> tuple[int, int]:
    """(start, end) of the one out-of-line definition of ``cls::name`` (NoMatch unless exactly one)."""
    found = definitions(text, cls, re.escape(name))
    if not found and name == "update" and definitions(text, cls, "update_"):
        raise NoMatch("a gap-junction neuron: its update is NESTML's waveform-relaxation update_(), which this "
                       "rewrite does not know")
    if len(found) != 1:
        raise NoMatch(f"expected one definition of {cls}::{name}, found {len(found)}")
    return found[0][1], found[0][2]


def propagators(cpp: str) -> dict[str, str]:
    """``V_.__P__...`` propagator expressions of the neuron, from recompute_internal_variables(true)."""
    m = re.search(r"if \(exclude_timestep\)\s*\{(.*?)\n  \}\s*else", cpp, re.S)
    if not m:
        raise NoMatch("recompute_internal_variables has no exclude_timestep branch")
    return dict(re.findall(r"^\s*V_\.(__P__\w+) = (.*?); // as ", m.group(1), re.M))


def depends_on_interval_and_parameters(expr: str) -> bool:
    """True when ``expr`` reads only V_.__h, parameters, numbers and exp/pow/log."""
    rest = re.sub(r"V_\.__h\b|P_\.\w+|std::(?:exp|expm1|pow|log)\b", " ", expr)
    return re.fullmatch(r"[0-9.eE+\-*/(), ]*", rest) is not None
