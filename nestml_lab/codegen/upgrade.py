"""Rewrite older NESTML sources (1-8, and code generator options) to NESTML 9 syntax.

The upgrade is textual and conservative: every rewrite is one of the known
syntax changes below, is reported with its line, and keeps comments and
layout. NESTML 1-5 sources first go through :mod:`.upgrade_layout` (``end``
blocks, docstrings, ``initial_values``, ``shape``, ...); the rewrites here are
NESTML 6-8's, line by line. A construct that cannot be rewritten without guessing the author's
intent is reported as a finding and left as it is.

Rewrites:

- ``neuron X:`` / ``synapse X:``                    -> ``model X:``
- free-standing units in expressions (``x / mV``)   -> ``x / 1 mV`` (``(1 mV)`` before ``**``)
- the output port ``spike(weight real, delay ms)``  -> ``spike``
- ``emit_spike(w, d)`` / ``deliver_spike(w, d)``    -> ``emit_spike(w)``; the delay parameter ``d`` is
  removed when nothing else uses it (NEST's ``delay`` in syn_spec sets the delay)
- ``@nest::delay`` / ``@nest::weight`` annotations  -> removed (delay: as above; weight: name the
  variable as ``weight_variable`` in the manifest)
- ``delay_variable`` code generator options in a manifest (YAML) or options file (JSON) -> removed
- a spike port with a unit, ``spikes pA <- spike``   -> ``spikes <- spike``, and every use of ``spikes`` in
  an expression -> ``(spikes * 1 pA * 1 s)``: in NESTML 9 a spike port is untyped and counts spikes per
  second, so the old meaning (the sum of the weights, in pA) is kept line by line
- a model with ``equations:`` but no ``update:`` block -> ``update: integrate_odes()`` added (NESTML 9
  integrates ODEs only where ``integrate_odes()`` is called: without it the state would never change)
- a literal followed by ``*`` or ``/`` and a name, ``1 pF * I_syn`` -> ``(1 pF) * I_syn`` (NESTML 9's grammar
  reads the name into the literal's unit)
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from nestml_lab.codegen import upgrade_layout
from nestml_lab.codegen.upgrade_layout import split_comment as _split_comment
from nestml_lab.codegen.upgrade_syntax import (ANNOTATION, BLOCK, DECL, EMIT, HEADER, IDENT, OUTPUT_SPIKE, TYPED_PORT,
                                               UNITS, call_args, declared_names, fix_units, is_keyword_line,
                                               missing_update_block, rescale_port_uses, strip_newline,
                                               typed_spike_ports, uses)


@dataclass
class Change:
    """One rewrite: line number (1-based), the line before and after, and why."""

    line: int
    before: str
    after: str | None
    what: str
    layout: bool = False     # only indentation, an ``end`` or a comment's form changed

    def rewrites(self) -> str:
        """What was rewritten on the line, less the layout notes (which a report sums up in one line)."""
        return "; ".join(w for w in self.what.split("; ") if w not in upgrade_layout.LAYOUT_ONLY)


@dataclass
class Finding:
    """Something that looks like older syntax but was left alone."""

    line: int
    message: str


@dataclass
class UpgradeResult:
    """One model file's upgrade to NESTML 9: the text before and after, and what changed."""

    path: str
    original: str
    text: str
    changes: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    removed_delay_variables: list[str] = field(default_factory=list)
    weight_variables: list[str] = field(default_factory=list)
    finals: list = field(default_factory=list, repr=False)   # per line of ``original``: its text now, or None

    def layout_lines(self) -> list[int]:
        """The lines whose only change is their layout (indentation, an ``end``, a comment's form)."""
        return [c.line for c in self.changes if c.layout]

    @property
    def changed(self) -> bool:
        """Whether the upgrade changed the file."""
        return self.text != self.original

    def diff(self) -> str:
        """The change as a unified diff."""
        return "".join(difflib.unified_diff(self.original.splitlines(True), self.text.splitlines(True),
                                            fromfile=self.path, tofile=self.path + " (NESTML 9)"))

    def report(self) -> list[str]:
        """Human-readable lines: every change as ``file:line: what`` with before and after, then findings."""
        out = []
        layout = self.layout_lines()
        if layout:
            out.append(f"{self.path}:{layout[0]}-{layout[-1]}: {len(layout)} line(s) re-laid out: 'end' lines removed "
                       "and blocks indented, docstrings and /* */ written as # comments (NESTML 9's layout)")
        for c in self.changes:
            if c.layout:
                continue
            out.append(f"{self.path}:{c.line}: {c.rewrites()}")
            out.append(f"    - {c.before.rstrip()}")
            if c.after is not None:
                out.append(f"    + {c.after.rstrip()}")
        for f in self.findings:
            out.append(f"{self.path}:{f.line}: left alone: {f.message}")
        return out


# --------------------------------------------------------------------------- NESTML sources

def upgrade_text(text: str, path: str = "<model>", weight_variable: str | None = None) -> UpgradeResult:
    """Upgrade one NESTML source text; see the module docstring for what is rewritten.

    NESTML 1-5 sources (``end`` blocks, docstrings, ``initial_values``, ``shape``, ...) first go through
    :mod:`.upgrade_layout`; every change is reported at its line in ``text``. ``weight_variable``: the variable
    the caller names as NEST's weight (a ``@nest::weight`` on it is then settled, not a step left to the user).
    """
    if not upgrade_layout.is_legacy(text):
        return _upgrade_lines(text, path, weight_variable)
    layout = upgrade_layout.rewrite(text)
    inner = _upgrade_lines(layout.text("\r\n" if "\r\n" in text else "\n"), path, weight_variable,
                           set(layout.kernel_units))
    result = UpgradeResult(path, text, inner.text, removed_delay_variables=inner.removed_delay_variables,
                           weight_variables=inner.weight_variables)
    notes = {i: list(v) for i, v in layout.notes.items()}
    for c in inner.changes:
        notes.setdefault(layout.origin[c.line - 1], []).append(c.what)
    finals: dict[int, list[str]] = {}
    for j, final in enumerate(inner.finals):
        if final is not None:
            finals.setdefault(layout.origin[j], []).append(final)
    originals = text.splitlines()
    for i in sorted(set(notes) | set(layout.removed)):
        whats = notes.get(i, []) + ([layout.removed[i]] if i in layout.removed else [])
        result.changes.append(Change(i + 1, originals[i], "\n".join(finals[i]) if i in finals else None,
                                     "; ".join(whats), all(w in upgrade_layout.LAYOUT_ONLY for w in whats)))
    result.findings = [Finding(layout.origin[f.line - 1] + 1, f.message) for f in inner.findings]
    return result


def _upgrade_lines(text: str, path: str, weight_variable: str | None = None,
                   unit_kernels: set = frozenset()) -> UpgradeResult:
    """The line-wise upgrade of NESTML 6-8 text (each line rewritten in place, see the module docstring);
    ``unit_kernels``: kernels whose convolutions the layout pass has given their unit already.
    """
    result = UpgradeResult(path, text, text)
    raw = text.splitlines(True)
    bodies, endings, codes, comments = [], [], [], []
    in_doc = False
    for line in raw:
        body, ending = strip_newline(line)
        bodies.append(body)
        endings.append(ending)
        if body.count('"""') % 2 == 1:
            in_doc = not in_doc
            codes.append("")
            comments.append(body)
            continue
        if in_doc or body.strip().startswith('"""'):
            codes.append("")
            comments.append(body)
            continue
        code, comment = _split_comment(body)
        codes.append(code)
        comments.append(comment)
    declared = declared_names(codes)
    new_codes = list(codes)
    notes: dict[int, list[str]] = {}
    typed_ports = typed_spike_ports(codes)
    delay_candidates: dict[str, int] = {}   # delay variable -> line index where it was removed from a call
    annotated_delay: dict[str, int] = {}    # delay variable -> line index of its declaration
    block = None

    for i, code in enumerate(codes):
        if not code.strip():
            continue
        if m := BLOCK.match(code):
            block = m.group("name")
        if m := HEADER.match(code):
            new_codes[i] = f"{m.group('indent')}model{m.group('rest')}" + code[m.end():]
            name = m.group("rest").strip().rstrip(":").strip()
            notes.setdefault(i, []).append(f"'{m.group('kw')} {name}:' is 'model {name}:' in NESTML 9")
            continue
        if block == "output" and (m := OUTPUT_SPIKE.match(code)):
            new_codes[i] = f"{m.group('indent')}spike"
            notes.setdefault(i, []).append("the output port carries no attributes in NESTML 9 "
                                           f"(was spike({m.group('args').strip()}))")
            continue
        current = new_codes[i]
        if m := ANNOTATION.search(current):
            what = m.group("what")
            decl = DECL.match(current)
            name = decl.group("names").split(",")[0].strip() if decl else None
            current = ANNOTATION.sub("", current)
            if what == "delay" and name:
                annotated_delay[name] = i
                notes.setdefault(i, []).append("@nest::delay removed: the delay is set through NEST's "
                                               "`delay` in syn_spec")
            else:
                if name:
                    result.weight_variables.append(name)
                if name is not None and name == weight_variable:
                    notes.setdefault(i, []).append(f"@nest::weight removed: the call names {name} as NEST's weight "
                                                   "(weight_variable), which is what the annotation said")
                else:
                    notes.setdefault(i, []).append(f"@nest::weight removed: give `weight_variable: {name}` for this "
                                                   "synapse in the manifest (models/module.yaml)")
        # emit_spike(w, d) / deliver_spike(w, d)
        search_from = 0
        while m := EMIT.search(current, search_from):
            parsed = call_args(current, m.end() - 1)
            if parsed is None:
                result.findings.append(Finding(i + 1, f"{m.group('fn')}( without a closing ')' on this line"))
                break
            args, close = parsed
            fn = m.group("fn")
            if len(args) == 2 and re.fullmatch(IDENT, args[1]):
                delay_candidates.setdefault(args[1], i)
                replacement = f"emit_spike({args[0]})"
                notes.setdefault(i, []).append(f"{fn}(w, {args[1]}) -> emit_spike(w): the delay '{args[1]}' is "
                                               "now set through NEST's `delay` in syn_spec")
            elif len(args) == 2:
                result.findings.append(Finding(i + 1, f"{fn} with a computed delay ({args[1]}): NESTML 9 "
                                                      "synapses cannot set a per-spike delay; set NEST's `delay` "
                                                      "in syn_spec instead and rewrite the call by hand"))
                search_from = close + 1
                continue
            elif len(args) > 2:
                result.findings.append(Finding(i + 1, f"{fn} with {len(args)} arguments: not a known "
                                                      "older form; left alone"))
                search_from = close + 1
                continue
            elif fn == "deliver_spike":
                replacement = f"emit_spike({', '.join(args)})"
                notes.setdefault(i, []).append("deliver_spike(...) is emit_spike(...) in NESTML 9")
            else:
                search_from = close + 1
                continue
            current = current[:m.start()] + replacement + current[close + 1:]
            search_from = m.start() + len(replacement)
        if i in typed_ports.values():
            name = next(n for n, j in typed_ports.items() if j == i)
            current = re.sub(rf"^(\s*{re.escape(name)})\s+[^<]*?\s*<-", r"\1 <-", current)
            notes.setdefault(i, []).append(f"spike port '{name}' is untyped in NESTML 9 (it counts spikes, 1/s); "
                                           "its uses are rescaled to keep their unit")
        elif typed_ports:
            current, rescaled = rescale_port_uses(current, typed_ports, codes, unit_kernels)
            if rescaled:
                notes.setdefault(i, []).append(", ".join(rescaled) + ": a spike port counts spikes (1/s) in "
                                               "NESTML 9 and its convolution has the kernel's unit; the factors "
                                               "keep the old unit (the sum of weights)")
        fixed, units = fix_units(current, declared)
        if units:
            notes.setdefault(i, []).append(
                "free-standing unit(s) " + ", ".join(dict.fromkeys(units)) + " written as '1 <unit>' "
                "(NESTML 9 needs a number before a unit)")
        elif fixed != current:
            notes.setdefault(i, []).append(GUARDED)
        new_codes[i] = fixed
        _old_syntax_findings(code, i, result)

    # delay variables: remove the declaration when nothing but the removed argument used it
    removed_lines: set[int] = set()
    for name, where in {**delay_candidates, **annotated_delay}.items():
        decl_lines = [j for j, c in enumerate(new_codes) if (d := DECL.match(c)) and not is_keyword_line(d)
                      and [n.strip() for n in d.group("names").split(",")] == [name]]
        if not decl_lines:
            result.removed_delay_variables.append(name)
            continue
        j = decl_lines[0]
        others = uses(name, new_codes, skip={j})
        if others:
            result.findings.append(Finding(j + 1, f"'{name}' was the spike delay but is still used on line(s) "
                                                  f"{', '.join(str(k + 1) for k in others)}; kept. Its value no "
                                                  "longer sets the delay: use NEST's `delay` in syn_spec"))
            continue
        removed_lines.add(j)
        result.removed_delay_variables.append(name)
        notes.setdefault(j, []).append(f"parameter '{name}' removed: it only set the spike delay, which is "
                                       "now NEST's `delay` in syn_spec")

    # a compartmental model (@mechanism::) has no update block: NEST's compartment tree integrates it
    added = None if any("@mechanism::" in c for c in codes) else missing_update_block(new_codes, codes, removed_lines)
    if added is not None:
        j, block = added
        notes.setdefault(j, []).append("an update: block with integrate_odes() added: NESTML 9 integrates the "
                                       "equations only where integrate_odes() is called")
        new_codes[j] = new_codes[j] + block

    out_lines = []
    for i, body in enumerate(bodies):
        if i in removed_lines:
            result.changes.append(Change(i + 1, body, None, "; ".join(notes.get(i, []))))
            result.finals.append(None)
            continue
        if new_codes[i] != codes[i]:
            new_body = new_codes[i] + comments[i]
            result.changes.append(Change(i + 1, body, new_body, "; ".join(notes.get(i, []))))
            out_lines.append(new_body + endings[i])
        else:
            out_lines.append(raw[i])
        result.finals.append(out_lines[-1].rstrip("\r\n"))
    result.text = "".join(out_lines)
    return result


def _old_syntax_findings(code: str, i: int, result: UpgradeResult) -> None:
    """Older constructs the upgrade does not rewrite, because the rewrite changes meaning or needs a choice."""
    stripped = code.strip()
    m = TYPED_PORT.match(code)
    if m and m.group("unit").strip() not in UNITS and m.group("unit").strip() != "real":
        result.findings.append(Finding(i + 1, f"spike port '{m.group('name')}' has a unit expression "
                                              f"({m.group('unit').strip()}): in NESTML 9 spike ports are untyped "
                                              "and count spikes (1/s); every use must be rescaled by hand, e.g. "
                                              "'x * 1 pA * 1 s'"))
    if re.match(r"^preReceive\s*:", stripped):
        result.findings.append(Finding(i + 1, "'preReceive:' (NESTML 3) is gone: NESTML 9 writes "
                                              "'onReceive(<presynaptic spike port>):'; rename the block"))


# --------------------------------------------------------------------------- options files

def upgrade_options_text(text: str, path: str) -> UpgradeResult:
    """Drop ``delay_variable`` from a manifest (YAML, comments kept) or a code generator options file (JSON)."""
    result = UpgradeResult(path, text, text)
    if path.endswith(".json"):
        data = json.loads(text)
        holder = data.get("codegen_opts", data) if isinstance(data, dict) else {}
        if isinstance(holder, dict) and "delay_variable" in holder:
            removed = holder.pop("delay_variable")
            result.text = json.dumps(data, indent=2) + "\n"
            result.changes.append(Change(0, f'"delay_variable": {json.dumps(removed)}', None,
                                         "code generator option delay_variable removed (NESTML 9 has no delay "
                                         "variable; NEST's `delay` in syn_spec sets it)"))
        return result
    out = []
    for n, line in enumerate(text.splitlines(True), 1):
        code, comment = _split_comment(line.rstrip("\r\n"))
        ending = line[len(line.rstrip("\r\n")):]
        if re.match(r"^\s*delay_variable\s*:", code):
            result.changes.append(Change(n, line, None, "delay_variable removed (NESTML 9 has no delay variable)"))
            continue
        new_code = re.sub(r",\s*delay_variable\s*:\s*[^,}]+", "", code)
        new_code = re.sub(r"delay_variable\s*:\s*[^,}]+,\s*", "", new_code)
        new_code = re.sub(r"\{\s*delay_variable\s*:\s*[^,}]+\}", "{}", new_code)
        if new_code != code:
            result.changes.append(Change(n, line, new_code + comment,
                                         "delay_variable removed (NESTML 9 has no delay variable)"))
            out.append(new_code + comment + ending)
        else:
            out.append(line)
    result.text = "".join(out)
    return result


#: The note of a literal put in parentheses (valid NESTML 9 either way, but read otherwise than meant).
GUARDED = ("a literal's unit parenthesised, e.g. (1 pF) * x: NESTML 9 reads a literal's unit on through * and /, "
           "taking x for part of the unit")
#: Words of the notes of rewrites whose older form NESTML 9 rejects (the others, free-standing units, a
#: parenthesised literal, an added update block, may be valid NESTML 9 as they are).
_REJECTED = ("is 'model ", "carries no attributes", "-> emit_spike(w)", "deliver_spike(", "@nest::", "is untyped",
             "parameter '", "delay_variable")


def rejected(result: UpgradeResult) -> bool:
    """Whether NESTML 9 would reject the source as it is: NESTML 1-5's layout, a construct NESTML 9 no longer
    has, or one the upgrade leaves to the author. (Free-standing units, say, NESTML 9 takes in some places.)
    """
    return bool(result.findings) or any(c.layout or any(w in c.what for w in upgrade_layout.OLDER + _REJECTED)
                                        for c in result.changes)


def messages(result: UpgradeResult) -> list[tuple[int, str]]:
    """``(line, message)`` for every older construct of an upgrade's source: each rewrite (the lines only laid
    out anew as one), then each finding; empty for NESTML 9 text.
    """
    out = []
    layout = result.layout_lines()
    if layout:
        out.append((layout[0], f"NESTML 1-5 layout (lines {layout[0]}-{layout[-1]}): blocks closed by 'end', "
                               "docstrings; NESTML 9 indents blocks and writes # comments"))
    out += [(c.line, f"{_generation(c.rewrites())} syntax: {c.rewrites()}") for c in result.changes if not c.layout]
    out += [(f.line, f.message) for f in result.findings]
    return out


def _generation(what: str) -> str:
    return "NESTML 1-5" if any(w in what for w in upgrade_layout.OLDER) else "NESTML 6-8"


def hints(path: str | Path) -> list[str]:
    """``file:line`` hints for every older construct of a source (rewritable or left alone), and the command
    that rewrites them; empty for NESTML 9 text.
    """
    result = upgrade_file(path)
    out = [f"{path}:{line}: {message}" for line, message in messages(result)]
    if result.changes:
        out.append(f"`nestml-lab upgrade {path}` rewrites the lines above (add --in-place to save, a backup is kept)")
    return out


def upgrade_file(path: str | Path) -> UpgradeResult:
    """Upgrade a ``.nestml`` source, or a manifest / options file (``.yaml``, ``.yml``, ``.json``)."""
    path = Path(path)
    text = path.read_text()
    if path.suffix in {".yaml", ".yml", ".json"}:
        return upgrade_options_text(text, str(path))
    return upgrade_text(text, str(path))


def write(result: UpgradeResult, in_place: bool = False, out_dir: str | Path | None = None) -> Path | None:
    """Write an upgraded file: next to a backup (``FILE.bak``) with ``in_place``, or into ``out_dir``."""
    if not result.changed:
        return None
    src = Path(result.path)
    if in_place:
        backup = src.with_name(src.name + ".bak")
        n = 1
        while backup.exists():
            backup = src.with_name(f"{src.name}.bak{n}")
            n += 1
        backup.write_text(result.original)
        tmp = src.with_name(src.name + ".upgrade-tmp")
        tmp.write_text(result.text)
        tmp.replace(src)
        return backup
    if out_dir is not None:
        dest = Path(out_dir) / src.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(result.text)
        return dest
    return None
