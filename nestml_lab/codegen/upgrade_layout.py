"""The layout of NESTML 1-5 sources rewritten to NESTML 9's, before the line-wise upgrade (:mod:`.upgrade`).

Older NESTML differs from NESTML 9 in ways that span lines: blocks closed by ``end`` (indentation
means nothing), ``\"\"\"`` docstrings and ``/* */`` comments, state split into ``state`` and
``initial_values``. It also named some things differently. Each rewrite below is deterministic and is
reported at the line of the original file it comes from:

- ``end``-terminated blocks                   -> indentation (4 spaces a level), ``end`` lines removed
- ``\"\"\" ... \"\"\"`` and ``/* ... */``           -> ``#`` comments
- ``initial_values:``                         -> ``state:`` (merged into the ``state:`` block if there is one;
  NESTML 9 allows one)
- a state, parameter or internal declared without a value (``r integer``) -> ``= 0`` (``0 <unit>``,
  ``false``): older NESTML started them at zero, NESTML 9 needs the value written
- ``shape K = ...``                           -> ``kernel K = ...``
- ``function X pA = expr`` / ``alias X pA = expr`` (no argument list: an expression) -> ``inline X pA = expr``
- ``curr_sum(K, spikes)`` / ``cond_sum(K, spikes)`` -> ``convolve(K, spikes)``
- ``x pA <- current``                         -> ``x pA <- continuous`` (``pA`` added where no type is given)
- ``output: spike`` on one line               -> ``output:`` and ``spike`` on the next (NESTML 9's parser needs it)
- a synapse without an ``output:`` block (it sends with ``deliver_spike``) -> ``output: spike`` added after its
  ``input:`` block (NESTML 9 requires it)
- an internal that the model assigns (``offset += 1``) -> declared in ``state:`` (NESTML 9's internals are
  constants; older NESTML let them change)
- a kernel with a unit, ``shape K = pA * exp(-t / tau)`` -> ``kernel K = exp(-t / tau)`` and every
  ``convolve(K, spikes)`` -> ``(convolve(K, spikes) * 1 pA)`` (NESTML 9 kernels are unitless; the convolution
  keeps the unit it had)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_IDENT = r"[A-Za-z_][A-Za-z_0-9]*"
_INDENT = "    "
_OPENER = re.compile(r":\s*$")
_BRANCH = re.compile(r"^(elif\b.*|else\s*):\s*$")
_SHAPE = re.compile(rf"^(?P<indent>\s*)shape(?P<rest>\s+{_IDENT}'*\s*=)")
_INLINE = re.compile(rf"^(?P<indent>\s*)(?P<rec>recordable\s+)?(?P<kw>function|alias)(?P<rest>\s+{_IDENT}\s+[^(=]*=)")
_SUM = re.compile(r"\b(?P<fn>curr_sum|cond_sum)\s*\(")
_CURRENT = re.compile(rf"^(?P<head>\s*{_IDENT}\s*(?:\[[^\]]*\])?)(?P<type>\s+[^<]*?)?\s*<-\s*current\b")
_OUTPUT = re.compile(r"^(?P<indent>\s*)output\s*:\s*(?P<what>spike|continuous)\s*$")
_BLOCK_HEAD = re.compile(rf"^(?P<indent>\s*)(?P<name>{_IDENT})\s*:\s*$")
_BARE_DECL = re.compile(rf"^(?P<indent>\s*)(?P<rec>recordable\s+)?(?P<names>{_IDENT}(?:\s*,\s*{_IDENT})*)\s+"
                        rf"(?P<type>[A-Za-z_(][A-Za-z_0-9\s/*()]*?)\s*$")
_END = "'end' removed: NESTML 9 closes a block by indentation"
_REINDENTED = "re-indented: NESTML 9 blocks are indented, not closed by 'end'"
_COMMENT = "comment line written as #"
#: The notes that only say a line was laid out anew (reported together, as one summary line).
LAYOUT_ONLY = {_END, _REINDENTED, _COMMENT, '""" comment written as #', "/* comment written as #",
               '""" (a comment\'s start) removed: comments are # lines',
               "/* (a comment's start) removed: comments are # lines",
               "end of a comment removed: comments are # lines"}
#: Words of the notes of this pass's rewrites, by which a report tells NESTML 1-5 from NESTML 6-8 syntax.
OLDER = ("'output: spike' added", "'end'", "comment", "initial_values", "'shape'", "inline NAME", "cond_sum",
         "'<- current'", "'output: ", "implicit start value", "is assigned by the model", "unit moved out",
         "whose unit moved out", "'internals:' removed")
_KEYWORDS = {"end", "else", "return", "emit_spike", "integrate_odes", "spike", "continuous", "inline", "kernel",
             "function", "recordable", "if", "elif", "for", "while"}


@dataclass
class Layout:
    """A source after the layout pass: its lines, each with the index of the original line it comes from."""

    lines: list[str]                    # without line endings
    origin: list[int]                   # origin[j]: 0-based index of the original line that line j comes from
    notes: dict = field(default_factory=dict)       # original line index -> [what was rewritten]
    removed: dict = field(default_factory=dict)     # original line index -> why it is gone (``end``, ``\"\"\"``)
    kernel_units: dict = field(default_factory=dict)  # kernel -> the unit its definition carried (now outside)

    @property
    def changed(self) -> bool:
        """Whether the pass rewrote anything."""
        return bool(self.notes or self.removed)

    def text(self, newline: str = "\n") -> str:
        """The rewritten source."""
        return "".join(line + newline for line in self.lines)

    def note(self, index: int, what: str) -> None:
        """Record a rewrite of the original line ``index``."""
        self.notes.setdefault(index, [])
        if what not in self.notes[index]:
            self.notes[index].append(what)


def split_comment(line: str) -> tuple[str, str]:
    """(code, comment) of one line; a '#' inside a string literal does not start a comment."""
    in_str = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_str = not in_str
        elif ch == "#" and not in_str:
            return line[:i], line[i:]
    return line, ""


def is_legacy(text: str) -> bool:
    """Whether ``text`` uses a construct of NESTML 1-5 that this pass rewrites (cheap: a few regexes)."""
    return bool(re.search(r'^\s*end\s*(#.*)?$|"""|/\*|^\s*initial_values\s*:|^\s*shape\s+\w|\b(curr|cond)_sum\s*\('
                          r"|<-\s*current\b|^\s*output\s*:\s*\w|^\s*(recordable\s+)?(function|alias)\s+\w+\s+[^(=]*=",
                          text, re.M))


def rewrite(text: str) -> Layout:
    """Rewrite the layout and the renamed constructs of a NESTML 1-5 source (see the module docstring)."""
    originals = text.splitlines()
    layout = Layout(list(originals), list(range(len(originals))))
    _comments(layout)
    if any(split_comment(line)[0].strip() == "end" for line in layout.lines):
        _reindent(layout)
    _renames(layout)
    _initial_values(layout)
    _assigned_internals(layout)
    _kernel_units(layout)
    _bare_declarations(layout)
    _synapse_output(layout)
    return layout


def _comments(layout: Layout) -> None:
    """``\"\"\"`` docstrings and ``/* */`` comments -> ``#`` lines (a delimiter alone on its line is dropped)."""
    lines, origin = [], []
    closing = None
    for line, i in zip(layout.lines, layout.origin):
        stripped = line.strip()
        if closing is None:
            code, _ = split_comment(line)
            for opening, close in (('"""', '"""'), ("/*", "*/")):
                at = code.find(opening)
                if at < 0 or (opening == '"""' and code[:at].strip()):
                    continue   # a """ after code is a string, not a docstring
                head, body = line[:at], line[at + len(opening):]
                if close in body:                     # opens and closes on this line: code after it stays code
                    inner, tail = body.split(close, 1)
                    line = (f"{head}{tail.strip()}  # {inner.strip()}" if tail.strip()
                            else f"{head}# {inner.strip()}").rstrip()
                    layout.note(i, f"{opening} comment written as #")
                else:
                    closing = close
                    line = f"{head}# {body.strip()}".rstrip() if body.strip() else None
                    if line is None:
                        layout.removed[i] = f"{opening} (a comment's start) removed: comments are # lines"
                    else:
                        layout.note(i, f"{opening} comment written as #")
                break
            if line is not None:
                lines.append(line)
                origin.append(i)
            continue
        # inside a comment
        if closing in line:
            inner, tail = line.split(closing, 1)
            closing = None
            if not inner.strip() and not tail.strip():
                layout.removed[i] = "end of a comment removed: comments are # lines"
                continue
            line = "# " + inner.strip() if inner.strip() else ""
            if tail.strip():
                line = (line + "\n" if line else "") + tail
            layout.note(i, _COMMENT)
        else:
            line = ("# " + stripped) if stripped else "#"
            layout.note(i, _COMMENT)
        for part in line.split("\n"):
            lines.append(part)
            origin.append(i)
    layout.lines, layout.origin = lines, origin


def _reindent(layout: Layout) -> None:
    """Blocks closed by ``end`` -> indentation, 4 spaces a level; the ``end`` lines go."""
    lines, origin = [], []
    depth, continued = 0, False
    for line, i in zip(layout.lines, layout.origin):
        code, comment = split_comment(line)
        stripped = code.strip()
        if stripped == "end":
            depth = max(depth - 1, 0)
            if comment:
                lines.append(_INDENT * (depth + 1) + comment)
                origin.append(i)
                layout.note(i, _END)
            else:
                layout.removed[i] = _END
            continue
        if not stripped:
            new = "" if not comment else _INDENT * depth + comment.strip()
        elif continued:
            new = _INDENT * (depth + 1) + line.strip()
        elif _BRANCH.match(stripped):
            new = _INDENT * max(depth - 1, 0) + line.strip()
        else:
            new = _INDENT * depth + line.strip()
            if _OPENER.search(stripped):
                depth += 1
        continued = stripped.endswith("\\")
        if new.strip() and new != line:
            layout.note(i, _REINDENTED)
        lines.append(new)
        origin.append(i)
    layout.lines, layout.origin = lines, origin


def _renames(layout: Layout) -> None:
    """``shape``, ``function``/``alias`` expressions, ``curr_sum``/``cond_sum``, ``<- current``, one-line ``output``."""
    lines, origin = [], []
    for line, i in zip(layout.lines, layout.origin):
        code, comment = split_comment(line)
        if m := _SHAPE.match(code):
            code = f"{m.group('indent')}kernel{m.group('rest')}" + code[m.end():]
            layout.note(i, "'shape' is 'kernel' in NESTML 9")
        if m := _INLINE.match(code):
            code = f"{m.group('indent')}{m.group('rec') or ''}inline{m.group('rest')}" + code[m.end():]
            layout.note(i, f"'{m.group('kw')} NAME type = expression' is 'inline NAME type = expression' in NESTML 9")
        if _SUM.search(code):
            code = _SUM.sub("convolve(", code)
            layout.note(i, "curr_sum/cond_sum(...) is convolve(...) in NESTML 9")
        if m := _CURRENT.match(code):
            typ = (m.group("type") or "").strip()
            code = f"{m.group('head').rstrip()} {typ or 'pA'} <- continuous" + code[m.end():]
            layout.note(i, "'<- current' is '<- continuous' in NESTML 9" + ("" if typ else " (with its unit, pA)"))
        if m := _OUTPUT.match(code):
            lines += [f"{m.group('indent')}output:" + (f"  {comment.strip()}" if comment else ""),
                      f"{m.group('indent')}{_INDENT}{m.group('what')}"]
            origin += [i, i]
            layout.note(i, f"'output: {m.group('what')}' written on two lines (NESTML 9's parser needs it)")
            continue
        lines.append(code + comment)
        origin.append(i)
    layout.lines, layout.origin = lines, origin


def _blocks(lines: list[str]) -> list[tuple[str, int, int, int]]:
    """``(name, header index, first index after the block, header indent)`` of every named block."""
    out = []
    for j, line in enumerate(lines):
        code = split_comment(line)[0]
        if not (m := _BLOCK_HEAD.match(code)):
            continue
        indent = len(m.group("indent"))
        end = j + 1
        for k in range(j + 1, len(lines)):
            c = split_comment(lines[k])[0]
            if c.strip() and len(c) - len(c.lstrip()) <= indent:
                break
            end = k + 1
        while end > j + 1 and not lines[end - 1].strip():
            end -= 1
        out.append((m.group("name"), j, end, indent))
    return out


def _initial_values(layout: Layout) -> None:
    """``initial_values:`` -> ``state:``, merged into an existing ``state:`` block."""
    blocks = _blocks(layout.lines)
    initial = [b for b in blocks if b[0] == "initial_values"]
    if not initial:
        return
    state = [b for b in blocks if b[0] == "state"]
    _name, head, end, indent = initial[0]
    i = layout.origin[head]
    if not state:
        layout.lines[head] = layout.lines[head].replace("initial_values", "state", 1)
        layout.note(i, "'initial_values:' is 'state:' in NESTML 9")
        return
    body = list(zip(layout.lines[head + 1:end], layout.origin[head + 1:end]))
    for _line, k in body:
        layout.note(k, "moved from initial_values: into the state: block (NESTML 9 has one state block)")
    layout.removed[i] = "'initial_values:' removed: its declarations join the state: block"
    _s, s_head, s_end, s_indent = state[0]
    body_indent = _INDENT * (s_indent // len(_INDENT) + 1)
    moved = [(body_indent + line.strip() if line.strip() else "", k) for line, k in body]
    pairs = list(zip(layout.lines, layout.origin))
    kept = pairs[:head] + pairs[end:]
    at = s_end if s_head < head else s_end - (end - head)
    new = kept[:at] + moved + kept[at:]
    layout.lines, layout.origin = [p[0] for p in new], [p[1] for p in new]


_ZERO = {"integer": "0", "real": "0.", "boolean": "false", "string": '""'}


def _bare_declarations(layout: Layout) -> None:
    """``r integer`` in state, parameters or internals -> ``r integer = 0`` (older NESTML's implicit start)."""
    for name, head, end, _indent in _blocks(layout.lines):
        if name not in ("state", "parameters", "internals"):
            continue
        for j in range(head + 1, end):
            code, comment = split_comment(layout.lines[j])
            m = _BARE_DECL.match(code)
            if not m or m.group("names").split(",")[0].strip() in _KEYWORDS:
                continue
            typ = m.group("type").strip()
            zero = _ZERO.get(typ, f"0 {typ}")
            layout.lines[j] = f"{code.rstrip()} = {zero}" + (f"  {comment.strip()}" if comment else "")
            layout.note(layout.origin[j], f"'{m.group('names')} {typ}' given its implicit start value ({zero}): "
                                          "NESTML 9 needs the value written")


_ASSIGN = re.compile(rf"^\s*(?P<name>{_IDENT})\s*(?:[-+*/]?=)(?!=)")


def _assigned_internals(layout: Layout) -> None:
    """Internals that a statement assigns -> declared at the end of the ``state:`` block."""
    blocks = _blocks(layout.lines)
    internals = [b for b in blocks if b[0] == "internals"]
    if not internals:
        return
    _n, head, end, _indent = internals[0]
    declared = {}
    for j in range(head + 1, end):
        m = re.match(rf"^\s*(?P<name>{_IDENT})\s+[^=]*=", split_comment(layout.lines[j])[0])
        if m:
            declared[m.group("name")] = j
    assigned = set()
    for name, h, e, _i in blocks:
        if name in ("update",) or name.startswith(("onReceive", "onCondition", "function")):
            for j in range(h + 1, e):
                if (m := _ASSIGN.match(split_comment(layout.lines[j])[0])) and m.group("name") in declared:
                    assigned.add(m.group("name"))
    if not assigned:
        return
    moving = sorted(declared[n] for n in assigned)
    for j in moving:
        name = next(n for n in assigned if declared[n] == j)
        layout.note(layout.origin[j], f"internal '{name}' is assigned by the model: declared in state: (NESTML 9's "
                                      "internals are constants)")
    pairs = list(zip(layout.lines, layout.origin))
    moved = [pairs[j] for j in moving]
    gone = set(moving)
    if all(j in gone or not split_comment(layout.lines[j])[0].strip() for j in range(head + 1, end)):
        gone.add(head)    # nothing stays in internals: (an empty block does not parse)
        layout.removed[layout.origin[head]] = "'internals:' removed: all its declarations moved to state:"
    kept = [p for j, p in enumerate(pairs) if j not in gone]
    lines = [p[0] for p in kept]
    state = [b for b in _blocks(lines) if b[0] == "state"]
    if state:
        _s, s_head, s_end, s_indent = state[0]
        body = _INDENT * (s_indent // len(_INDENT) + 1)
        new = kept[:s_end] + [(body + line.strip(), k) for line, k in moved] + kept[s_end:]
    else:
        i_head = next(b for b in _blocks(lines) if b[0] == "internals")[1]
        indent = lines[i_head][:len(lines[i_head]) - len(lines[i_head].lstrip())]
        new = (kept[:i_head] + [(indent + "state:", moved[0][1])]
               + [(indent + _INDENT + line.strip(), k) for line, k in moved] + [("", moved[0][1])] + kept[i_head:])
    layout.lines, layout.origin = [p[0] for p in new], [p[1] for p in new]


_UNIT_WORD = r"(?:[YZEPTGMkhdcmunpfazy]|da)?(?:V|A|S|Ohm|F|s|Hz|mol|M|g|m|L|l|K|C|W|J|N|Pa|H|Wb|T)"
_KERNEL_UNIT = re.compile(rf"^(?P<head>\s*kernel\s+(?P<name>{_IDENT})\s*=\s*)(?:1\s*)?(?P<unit>{_UNIT_WORD})\s*\*\s*"
                          r"(?P<rest>.*)$")


def _kernel_units(layout: Layout) -> None:
    """``kernel K = pA * expr`` -> ``kernel K = expr``, and ``convolve(K, x)`` -> ``(convolve(K, x) * 1 pA)``."""
    for j, line in enumerate(layout.lines):
        code, comment = split_comment(line)
        if m := _KERNEL_UNIT.match(code):
            layout.kernel_units[m.group("name")] = m.group("unit")
            layout.lines[j] = m.group("head") + m.group("rest") + comment
            layout.note(layout.origin[j], f"kernel {m.group('name')}: its unit {m.group('unit')} moved out of the "
                                          "kernel onto its convolutions (NESTML 9 kernels are unitless)")
    if not layout.kernel_units:
        return
    pattern = re.compile(rf"\bconvolve\s*\(\s*(?P<k>{'|'.join(map(re.escape, layout.kernel_units))})\s*,"
                         rf"\s*{_IDENT}\s*\)")
    for j, line in enumerate(layout.lines):
        code, comment = split_comment(line)
        new = pattern.sub(lambda m: f"({m.group(0)} * 1 {layout.kernel_units[m.group('k')]})", code)
        if new != code:
            layout.lines[j] = new + comment
            layout.note(layout.origin[j], "convolve(...) of a kernel whose unit moved out: times that unit")


def _synapse_output(layout: Layout) -> None:
    """A synapse (``deliver_spike``, or ``emit_spike`` with arguments) without ``output:`` -> one added."""
    codes = [split_comment(line)[0] for line in layout.lines]
    sends = any(re.search(r"\bdeliver_spike\s*\(|\bemit_spike\s*\(\s*[^)\s]", c) for c in codes)
    blocks = _blocks(layout.lines)
    if not sends or any(b[0] == "output" for b in blocks) or any(re.match(r"^\s*output\s*:", c) for c in codes):
        return
    inputs = [b for b in blocks if b[0] == "input"]
    if not inputs:
        return
    _n, head, end, indent = inputs[0]
    at = layout.origin[head]
    pad = " " * indent
    layout.lines[end:end] = ["", pad + "output:", pad + _INDENT + "spike"]
    layout.origin[end:end] = [at, at, at]
    layout.note(at, "'output: spike' added after the input block: a NESTML 9 synapse declares its output")
