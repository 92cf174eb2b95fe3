"""Check NESTML sources with NESTML 9 (parse and context conditions) and explain older syntax.

Every error comes back as ``file:line:col: message``. When the file contains
constructs of NESTML 7/8 that NESTML 9 rejects, each gets a hint at its own
line; NESTML's parser often reports such a construct far from it (the v8
output port ``spike(weight real, delay ms)`` shows up as "extraneous input"
at the end of the model).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from nestml_lab.codegen import upgrade
from nestml_lab.codegen.errors import ModelMessage


@dataclass
class CheckResult:
    """What NESTML's check of one model file found: errors and hints."""

    path: str
    errors: list[ModelMessage] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the model has no error."""
        return not self.errors

    def report(self) -> list[str]:
        """The errors, then the hints, one line each."""
        lines = [str(e) for e in self.errors]
        lines += [f"hint: {h}" for h in self.hints]
        if self.ok and not self.hints:
            lines.append(f"{self.path}: OK (NESTML 9)")
        return lines


def _run_nestml(files: list[str]) -> list[dict]:
    """NESTML's errors for ``files``: one NESTML process per target, the compartmental models (``@mechanism::``)
    checked as NESTML's compartmental target checks them.
    """
    from nestml_lab.codegen.manifest import COMPARTMENTAL, is_compartmental

    compartmental = {f for f in files if is_compartmental(Path(f))}
    groups = {"NEST": [f for f in files if f not in compartmental],
              COMPARTMENTAL: [f for f in files if f in compartmental]}
    return [e for platform, group in groups.items() if group for e in _run_target(group, platform)]


def _run_target(files: list[str], platform: str) -> list[dict]:
    from nestml_lab.codegen.launch import run_worker

    with tempfile.TemporaryDirectory(prefix="nestml-check-") as tmp:
        logs = _logs_folder()
        spec = {"files": files, "target": os.path.join(tmp, "target"), "result": os.path.join(tmp, "result.json"),
                "check_only": True, "platform": platform, "crash_log": str(logs / f"nestml-crash-{os.getpid()}-{time.time_ns()}.log")}
        result, why = run_worker(spec, tmp)
        if result is None:
            raise RuntimeError(f"[check] the NESTML checker died ({why})")
        return result["errors"]


def _logs_folder() -> Path:
    """Where a check keeps what outlives it (a NESTML crash's traceback): beside the module cache."""
    from nestml_lab.module_cache import cache_root

    folder = cache_root().parent / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def nestml_errors(paths: list[str | Path]) -> list[ModelMessage]:
    """NESTML 9's parse and context-condition errors for several files (one NESTML process per target)."""
    return [ModelMessage(e["file"], e["line"], e["column"], e["message"])
            for e in _run_nestml([os.path.abspath(str(p)) for p in paths])]


def check_file(path: str | Path) -> CheckResult:
    """Check one ``.nestml`` file (or a project: its folder or module.yaml, see :func:`check_project`).

    The checks the build runs before NESTML come first (:mod:`nestml_lab.codegen.precheck`); NESTML's own
    parse and context conditions run unless those found the file unreadable or too deeply nested.
    """
    from nestml_lab.codegen import precheck

    path = str(path)
    if os.path.isdir(path) or path.endswith((".yaml", ".yml")):
        return check_project(path)
    if not os.path.isfile(path):
        return CheckResult(path, [ModelMessage(path, 0, 0, "no such file")])
    result = CheckResult(path)
    found, _models = precheck.check_file(Path(path))
    result.errors += found
    if any("UTF-8" in m.message or "nested" in m.message for m in found):
        return result   # NESTML would crash or read nonsense
    if any(m.message.startswith(precheck.OLDER_SYNTAX) for m in found):
        result.hints += [h for h in upgrade.hints(path) if "nestml-lab upgrade" in h]
        return result   # NESTML 9 would report the older constructs, far from where they are
    for e in _run_nestml([os.path.abspath(path)]):
        same = not e["file"] or os.path.basename(e["file"]) in (os.path.basename(path), Path(path).stem)
        file = path if same else e["file"]
        result.errors.append(ModelMessage(file, e["line"], e["column"], e["message"]))
    result.hints += upgrade.hints(path)   # older forms NESTML 9 may still take (free-standing units ...)
    return result


def check_project(path: str | Path) -> CheckResult:
    """Check a project as ``nestml-lab module`` does before it generates code: the manifest, every source
    (the checks before NESTML, then NESTML's parse and context conditions); the same verdict as the build.
    """
    from nestml_lab.codegen import precheck
    from nestml_lab.codegen.errors import ManifestError, SourceError
    from nestml_lab.codegen.manifest import load_manifest

    result = CheckResult(str(path))
    try:
        manifest = load_manifest(path)
        precheck.check_sources(manifest)
    except ManifestError as exc:
        result.errors.append(str(exc))
        return result
    except SourceError as exc:
        result.errors += exc.messages
        return result
    sources = [manifest.source(m) for m in sorted(set(manifest.neurons) | set(manifest.synapses))]
    result.errors += nestml_errors(sources)
    return result
