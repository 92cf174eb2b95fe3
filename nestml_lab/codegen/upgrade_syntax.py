"""What the upgrade reads in a line of older NESTML: units and keywords, declarations, ports and blocks, the
spans of a line that are expressions, and the rewrite of free-standing units in them (:mod:`.upgrade`).
"""

from __future__ import annotations

import re

# --------------------------------------------------------------------------- units

_PREFIXES = ["Y", "Z", "E", "P", "T", "G", "M", "k", "h", "da", "d", "c", "m", "u", "n", "p", "f", "a", "z", "y"]
# Bases that may appear with a prefix; a bare single letter (m, g, h, d, ...) is far more often a
# variable than a unit, so only the bare bases below count without a prefix.
_BASES = ["V", "A", "S", "Ohm", "F", "s", "Hz", "mol", "M", "g", "m", "L", "l", "K", "C", "W", "J", "N", "Pa",
          "H", "Wb", "T"]
_BARE = {"V", "A", "S", "Ohm", "F", "s", "Hz", "mol", "Pa", "Wb", "min"}
UNITS = _BARE | {p + b for p in _PREFIXES for b in _BASES}

_KEYWORDS = {
    "model", "neuron", "synapse", "state", "parameters", "internals", "equations", "input", "output", "update",
    "onReceive", "onCondition", "function", "inline", "kernel", "recordable", "return", "if", "elif", "else",
    "for", "while", "in", "step", "and", "or", "not", "true", "false", "True", "False", "inf", "spike",
    "continuous", "real", "integer", "boolean", "string", "void", "e", "t",
}

IDENT = r"[A-Za-z_][A-Za-z_0-9]*"
_TOKEN = re.compile(r"""
    (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z_0-9]*'*)
  | (?P<op>\*\*|[-+*/%()\[\],=<>!:;?.@&|~^{}])
  | (?P<ws>\s+)
  | (?P<other>.)
""", re.VERBOSE)

# a declaration: names, then a type, then "=", "<-", "[[" or the end of the code
_TYPE = r"(?:\(?\s*(?:1|[A-Za-z_][A-Za-z_0-9]*)[A-Za-z_0-9\s/*()]*?)"
DECL = re.compile(rf"^(?P<indent>\s*)(?P<mods>(?:recordable\s+|inline\s+)*)"
                   rf"(?P<names>{IDENT}'*(?:\[[^\]]*\])?(?:\s*,\s*{IDENT}'*)*)"
                   rf"(?P<type>\s+{_TYPE})\s*(?P<rest>=.*|<-.*|\[\[.*)?$")
_PORT = re.compile(rf"^\s*(?P<name>{IDENT})\s*(?:\[\s*{IDENT}\s*\])?(?P<type>\s+[^<]*?)?\s*<-")
_FUNC = re.compile(rf"^\s*function\s+(?P<name>{IDENT})\s*\((?P<args>[^)]*)\)(?P<ret>[^:]*):")
_KERNEL = re.compile(rf"^\s*kernel\s+(?P<names>{IDENT}(?:\s*,\s*{IDENT})*)\s*=")
_FOR = re.compile(rf"^\s*for\s+(?P<name>{IDENT})\s+in\b")
HEADER = re.compile(rf"^(?P<indent>\s*)(?P<kw>neuron|synapse)(?P<rest>\s+{IDENT}\s*:)")
OUTPUT_SPIKE = re.compile(r"^(?P<indent>\s*)spike\s*\((?P<args>[^)]*)\)\s*$")
ANNOTATION = re.compile(r"\s*@nest::(?P<what>delay|weight)\b")
EMIT = re.compile(r"\b(?P<fn>emit_spike|deliver_spike)\s*\(")
BLOCK = re.compile(rf"^\s*(?P<name>{IDENT})\s*(?:\(.*\))?\s*:\s*$")


# --------------------------------------------------------------------------- helpers

def strip_newline(line: str) -> tuple[str, str]:
    """A line without its line ending, and the ending."""
    body = line.rstrip("\r\n")
    return body, line[len(body):]


def declared_names(codes: list[str]) -> set[str]:
    """Every name the model declares anywhere: variables, parameters, ports, kernels, functions, arguments."""
    names: set[str] = set()
    for code in codes:
        if m := _FUNC.match(code):
            names.add(m.group("name"))
            for arg in m.group("args").split(","):
                parts = arg.split()
                if parts:
                    names.add(parts[0])
            continue
        if m := _KERNEL.match(code):
            names.update(n.strip() for n in m.group("names").split(","))
            continue
        if m := _FOR.match(code):
            names.add(m.group("name"))
            continue
        if m := _PORT.match(code):
            names.add(m.group("name"))
            continue
        if (m := DECL.match(code)) and not is_keyword_line(m):
            names.update(n.strip() for n in m.group("names").split(","))
    return names


def is_keyword_line(m: re.Match) -> bool:
    """Whether a :data:`DECL` match is a keyword's line (``return x``, ``for i in ...``), not a declaration."""
    first = m.group("names").split(",")[0].strip()
    return first in _KEYWORDS or m.group("type").strip().split()[0].rstrip(":") in {"in", "step"}


def _expression_spans(code: str) -> list[tuple[int, int]]:
    """The parts of a line of code that are expressions (where a free-standing unit can occur)."""
    if _FUNC.match(code) or _PORT.match(code) or HEADER.match(code):
        return []
    if BLOCK.match(code) and "(" not in code:
        return []
    m = DECL.match(code)
    if m and not is_keyword_line(m):
        rest = m.group("rest")
        if rest and rest.startswith("="):
            start = m.start("rest") + 1
            end = len(code)
            # a trailing [[ guard ]] is an expression too; keep it in the span
            return [(start, end)]
        if rest and rest.startswith("[["):
            return [(m.start("rest"), len(code))]
        return []
    return [(0, len(code))]


def fix_units(code: str, declared: set[str]) -> tuple[str, list[str]]:
    """Put a ``1`` before every free-standing unit in the expression parts of ``code``."""
    spans = _expression_spans(code)
    if not spans:
        return code, []
    fixed_units = []
    out = []
    pos = 0
    for start, end in spans:
        out.append(code[pos:start])
        tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(code[start:end])]
        significant = [i for i, (kind, _) in enumerate(tokens) if kind != "ws"]
        literal: set[int] = set()     # token indices of units that belong to a literal ("0 pA/ms")
        for n, i in enumerate(significant):
            kind, text = tokens[i]
            if kind != "ident" or text not in UNITS or text in declared:
                continue
            prev = tokens[significant[n - 1]] if n > 0 else None
            nxt = tokens[significant[n + 1]] if n + 1 < len(significant) else None
            if prev is not None and (prev[0] == "num" or prev[1] in {".", "@", "::"}):
                literal.add(i)
                continue              # "1 mV" is already NESTML 9
            if i >= 2 and tokens[i - 1][1] in {"/", "*"} and (i - 2) in literal:
                literal.add(i)
                continue              # the rest of a compound literal unit, written without spaces
            if prev is not None and prev[0] == "ident" and prev[1] not in _KEYWORDS:
                continue              # a type after a name: not an expression position
            if nxt is not None and nxt[1] == "(":
                continue              # a function call
            after = tokens[significant[n + 2]] if n + 2 < len(significant) else None
            guard = nxt is not None and (nxt[1] == "**" or (nxt[1] in {"*", "/"} and after is not None
                                                            and after[0] != "num" and after[1] not in UNITS))
            replacement = f"(1 {text})" if guard else f"1 {text}"
            tokens[i] = (kind, replacement)
            fixed_units.append(text)
        _guard_literals(tokens, declared)
        out.append("".join(text for _, text in tokens))
        pos = end
    out.append(code[pos:])
    return "".join(out), fixed_units


def _guard_literals(tokens: list, declared: set[str]) -> None:
    """``1 pF * I_syn`` -> ``(1 pF) * I_syn``, in place: NESTML 9's grammar reads a literal's unit on through
    ``*`` and ``/``, so it takes ``pF * I_syn`` for the unit (and reports "I_syn used before declaration" at no line).
    """
    sig = [i for i, (kind, _) in enumerate(tokens) if kind != "ws"]

    def unit_at(n: int) -> bool:
        if n >= len(sig):
            return False
        kind, text = tokens[sig[n]]
        after = tokens[sig[n + 1]][1] if n + 1 < len(sig) else None
        return kind == "ident" and text in UNITS and text not in declared and after != "("

    for n, i in enumerate(sig):
        if tokens[i][0] != "num" or not unit_at(n + 1) or (n > 0 and tokens[sig[n - 1]][1] in {"(1", "**"}):
            continue
        last = n + 1
        while last + 2 < len(sig) and tokens[sig[last + 1]][1] in {"*", "/"} and unit_at(last + 2):
            last += 2
        if last + 2 < len(sig) and tokens[sig[last + 1]][1] in {"*", "/"} and tokens[sig[last + 2]][0] != "num":
            tokens[i] = (tokens[i][0], "(" + tokens[i][1])
            j = sig[last]
            tokens[j] = (tokens[j][0], tokens[j][1] + ")")


def call_args(code: str, open_paren: int) -> tuple[list[str], int] | None:
    """Split the arguments of the call whose '(' is at ``open_paren``; return (args, index of ')')."""
    depth, args, current = 0, [], []
    for i in range(open_paren, len(code)):
        ch = code[i]
        if ch == "(":
            depth += 1
            if depth == 1:
                continue
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(current).strip())
                return [a for a in args if a != ""] if args != [""] else [], i
        elif ch == "," and depth == 1:
            args.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    return None


def uses(name: str, codes: list[str], skip: set[int]) -> list[int]:
    """The lines of ``codes`` (but ``skip``) that use ``name``."""
    pattern = re.compile(rf"(?<![A-Za-z_0-9.]){re.escape(name)}(?![A-Za-z_0-9])")
    return [i for i, code in enumerate(codes) if i not in skip and pattern.search(code)]


TYPED_PORT = re.compile(rf"^\s*(?P<name>{IDENT})\s+(?!integer\b|boolean\b)(?P<unit>[A-Za-z_][^<]*?)"
                         r"\s*<-\s*(?:(?:excitatory|inhibitory)\s+)*spike\b")


def typed_spike_ports(codes: list[str]) -> dict[str, int]:
    """Spike ports declared with a single unit or ``real`` (``spikes pA <- spike``): name -> line index."""
    out = {}
    for i, code in enumerate(codes):
        m = TYPED_PORT.match(code)
        if m and (m.group("unit").strip() in UNITS or m.group("unit").strip() == "real"):
            out[m.group("name")] = i
    return out


def port_unit(codes: list[str], line: int) -> str:
    """The unit of the typed spike port declared on ``line``."""
    return TYPED_PORT.match(codes[line]).group("unit").strip()


def rescale_port_uses(code: str, ports: dict[str, int], codes: list[str],
                       unit_kernels: set = frozenset()) -> tuple[str, list[str]]:
    """A port of unit U: ``convolve(K, spikes)`` -> ``(convolve(K, spikes) * 1 U)`` (a convolution with a spike
    port has the kernel's unit in NESTML 9), any other use ``spikes`` -> ``(spikes * 1 U * 1 s)``; a ``real``
    port: ``spikes`` -> ``(spikes * 1 s)``. Not in ``onReceive(spikes)`` or ``spikes.x``.
    """
    if re.match(r"^\s*onReceive\s*\(", code):
        return code, []
    done = []
    for name, line in ports.items():
        unit = port_unit(codes, line)
        factor = "" if unit == "real" else f" * 1 {unit}"
        held: list[str] = []

        def hold(m: re.Match, factor=factor, held=held) -> str:
            given = m.group("kernel") in unit_kernels    # the kernel's own unit is on it already
            held.append(f"({m.group(0)}{factor})" if factor and not given else m.group(0))
            return f"\0{len(held) - 1}\0"

        new = re.sub(rf"\bconvolve\s*\(\s*(?P<kernel>{IDENT})\s*,\s*{re.escape(name)}\s*\)", hold, code)
        pattern = re.compile(rf"(?<![\w.]){re.escape(name)}\b(?!\s*\.|\s*\()")
        new = pattern.sub(f"({name}{factor} * 1 s)", new)
        new = re.sub(r"\x00(\d+)\x00", lambda m: held[int(m.group(1))], new)
        if new != code:
            what = f"convolve(..., {name}){factor}" if held and factor else f"'{name}' -> '({name}{factor} * 1 s)'"
            done.append(what)
            code = new
    return code, done


def missing_update_block(new_codes: list[str], codes: list[str], removed: set[int]) -> tuple[int, str] | None:
    """Where to add ``update: integrate_odes()``: after the model's last line, if it has equations but no update."""
    blocks = {}
    for i, code in enumerate(codes):
        if m := BLOCK.match(code):
            blocks.setdefault(m.group("name"), (i, len(code) - len(code.lstrip())))
    if "equations" not in blocks or "update" in blocks:
        return None
    if any(re.search(r"\bintegrate_odes\s*\(", c) for c in codes):
        return None
    last = max((i for i, c in enumerate(new_codes) if c.strip() and i not in removed), default=None)
    if last is None:
        return None
    indent = " " * blocks["equations"][1]
    body = indent + ("    " if indent else "    ")
    return last, f"\n\n{indent}update:\n{body}integrate_odes()"
