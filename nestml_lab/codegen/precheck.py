"""Checks of the model sources before NESTML runs: what NESTML 9.0.0 reports badly or not at all.

- A file that is not UTF-8 text (NESTML: a UnicodeDecodeError without the file name).
- A file whose model has another name (NESTML generates the other name; the toolkit then cannot find
  the code it expects and blamed its own internals).
- ``onReceive`` on a continuous input port: NESTML 9.0.0 accepts it and runs the block on every
  spike of every port, which is never what was meant.
- Nesting deeper than NESTML's recursive parser survives (a RecursionError).
- What :mod:`nestml_lab.codegen.interface` finds: not exactly one model per file, NESTML 6 headers,
  non-finite defaults, and a manifest that names ports, variables or kinds its models do not have.
"""

from __future__ import annotations

import re
from pathlib import Path

from nestml_lab.codegen import interface
from nestml_lab.codegen.errors import ManifestError, ModelMessage, SourceError

_MODEL = re.compile(r"^\s*(?:model|neuron|synapse)\s+([A-Za-z_]\w*)\s*:", re.M)
_CONTINUOUS = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*(?:[^<#]*)<-\s*continuous\b")
_VECTOR = re.compile(r"^\s*([A-Za-z_]\w*)\s*\[\s*(\w+)\s*\]\s+[A-Za-z_(][^=<#\n]*=", re.M)
_BLOCK_LINE = re.compile(r"^\s*(\w+)[^:]*:\s*$")
_ODE = re.compile(r"^\s*([A-Za-z_]\w*)'+\s*=")
_ON_RECEIVE = re.compile(r"^\s*onReceive\s*\(\s*([A-Za-z_]\w*)")
#: NESTML 9.0.0's parser recurses per parenthesis: 1000 levels parsed here, 3000 crashed it (Python's
#: recursion limit); we refuse well before.
MAX_PAREN_DEPTH = 500


#: How a message about older NESTML syntax begins (the check stage then does not run NESTML on the file).
OLDER_SYNTAX = "older NESTML: "


def check_source(path: Path, model: str | None = None) -> list[ModelMessage]:
    """Problems of one model source (empty when none); ``model``: the model the caller expects in it."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return [ModelMessage(str(path), 0, 0, f"not a UTF-8 text file (byte {exc.start}): is it a model source?")]
    out = []
    names = _MODEL.findall(text)
    if not names:
        out.append(ModelMessage(str(path), 1, 0, "no 'model NAME:' line: is this a NESTML model?"))
    elif model is not None and model not in names:
        line = text[:_MODEL.search(text).start()].count("\n") + 1
        out.append(ModelMessage(str(path), line, 0, f"the file {path.name} holds model {names[0]!r}, not "
                                f"{model!r}"))
    continuous = {}
    vectors = {m.group(1): m.group(2) for m in _VECTOR.finditer(text)}
    block = None
    depth, deepest, deepest_line = 0, 0, 0
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        if block == "equations" and "=" in code:
            for name in vectors:
                indices = sorted(set(re.findall(rf"(?<![\w.]){re.escape(name)}\s*\[\s*(\w+)\s*\]",
                                                code.split("=", 1)[1])))
                if len(indices) > 1:
                    elements = [f"{name}[{i}]" for i in indices]
                    listed = ", ".join(elements)
                    out.append(ModelMessage(str(path), number, 0, f"{listed} in one equation: NESTML 9.0.0's ODE "
                                            f"analysis takes them for one variable, and the generated code reads "
                                            f"only one of them. Keep what the equation needs in a scalar state "
                                            f"variable set in update: (e.g. I_tot = {' + '.join(elements)})"))
        if (m := _BLOCK_LINE.match(code)):
            block = m.group(1)
        if (m := _ODE.match(code)) and m.group(1) in vectors:
            name = m.group(1)
            out.append(ModelMessage(str(path), number, 0, f"{name}' = ...: an ODE of the vector {name}"
                                    f"[{vectors[name]}]; NESTML 9.0.0 crashes generating its code. Integrate the "
                                    f"elements in update:, e.g. {name}[i] = {name}[i] * exp(-timestep() / tau)"))
        if m := _CONTINUOUS.match(code):
            continuous[m.group(1)] = number
        if (m := _ON_RECEIVE.match(code)) and m.group(1) in continuous:
            out.append(ModelMessage(str(path), number, 0, f"onReceive({m.group(1)}): {m.group(1)} is a continuous "
                                    f"port (line {continuous[m.group(1)]}); NESTML 9.0.0 accepts this but runs "
                                    "the block on every spike. Read the port in update: instead"))
        for ch in code:
            depth += ch == "("
            if depth > deepest:
                deepest, deepest_line = depth, number
            depth -= ch == ")"
    if deepest > MAX_PAREN_DEPTH:
        out.append(ModelMessage(str(path), deepest_line, 0, f"parentheses nested {deepest} deep (more than "
                                f"{MAX_PAREN_DEPTH}): NESTML's parser recurses per level and crashes on deep "
                                "nesting; split the expression"))
    return out


def older_syntax(path: Path, text: str | None = None) -> list[ModelMessage]:
    """Every construct of NESTML 1-8 in a source, at its line, with what NESTML 9 writes instead, and the command
    that rewrites them all (:mod:`nestml_lab.codegen.upgrade`): NESTML 9 itself reports them far from where they
    are, or crashes on them.
    """
    from nestml_lab.codegen import upgrade

    result = upgrade.upgrade_text(path.read_text() if text is None else text, str(path))
    if not upgrade.rejected(result):   # what remains may be valid NESTML 9: NESTML says (with the hints)
        return []
    found = upgrade.messages(result)
    fix = f" (`nestml-lab upgrade {path} --in-place` rewrites the file)" if result.changes else ""
    return [ModelMessage(str(path), line, 0, OLDER_SYNTAX + message + (fix if n == 0 else ""))
            for n, (line, message) in enumerate(found)]


def check_file(path: Path, model: str | None = None) -> tuple[list[ModelMessage], list]:
    """Every problem of one source found without NESTML, and its models (:func:`interface.read`).

    ``model``: the model the caller expects in the file (None: whatever it holds).
    """
    problems = check_source(path, model)
    if any("not a UTF-8" in p.message for p in problems):
        return problems, []
    models = interface.read(path)
    return problems + older_syntax(path) + interface.source_problems(path, models), models


def check_sources(manifest) -> None:
    """Raise :class:`SourceError` listing every problem of the manifest's model sources, then
    :class:`~nestml_lab.codegen.errors.ManifestError` for what the manifest says that its models do not have
    (with the manifest's line).
    """
    problems, interfaces = [], {}
    for model in sorted(set(manifest.neurons) | set(manifest.synapses)):
        found, models = check_file(manifest.source(model), model)
        problems += found
        interfaces.update({m.name: m for m in models if m.name == model})
    if problems:
        raise SourceError(problems)
    wrong = interface.check_manifest(manifest, interfaces, interface.manifest_lines(manifest.path))
    if wrong:
        first_place, first = wrong[0]
        more = "".join(f"\n  {place}: {message}" for place, message in wrong[1:])
        raise ManifestError(first_place, first + more)
