"""What a result was made with: module source hash, NEST and NESTML versions, git revisions of the code."""

from __future__ import annotations

import importlib.metadata
import platform
import time


def git_revision(folder) -> str | None:
    """``git describe --always --dirty`` of the repository holding ``folder`` (None outside one, or without git)."""
    import subprocess

    try:
        out = subprocess.run(["git", "-C", str(folder), "describe", "--always", "--dirty", "--abbrev=12"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def provenance() -> dict:
    """Versions, the modules' source hashes and the code's git revisions, for a result's metadata.

    ``modules``: every module this process installed into NEST (``name``, ``source_hash``, ``manifest``,
    ``project_git``). ``module``, ``module_source_hash`` and ``project_git`` name the one the result's
    models come from: the first installed module that is not the catalog, else the catalog (None when
    only NEST's built-ins ran). ``toolkit_git``: the revision of the toolkit's checkout (None when installed
    from a package). Works on a project alone: no catalog module is needed.
    """
    from pathlib import Path

    from nestml_lab import paths
    from nestml_lab.codegen import TOOLKIT_VERSION
    from nestml_lab.module import installed_modules

    modules = []
    for m in installed_modules():
        manifest = m.stamp.get("manifest")
        modules.append({"name": m.name, "source_hash": m.stamp.get("source_hash"), "manifest": manifest,
                        "project_git": git_revision(Path(manifest).parent) if manifest else None,
                        "catalog": bool(manifest) and Path(manifest).parent == paths.MODELS_DIR.resolve()})
    primary = next((m for m in modules if not m["catalog"]), modules[0] if modules else None)
    return {
        "toolkit_git": git_revision(Path(__file__).resolve().parent),
        "project_git": primary["project_git"] if primary else None,
        "module": primary["name"] if primary else None,
        "module_source_hash": primary["source_hash"] if primary else None,
        "modules": modules,
        "toolkit": TOOLKIT_VERSION,
        "nestml": importlib.metadata.version("nestml"),
        "nest": importlib.metadata.version("nest-simulator"),
        "python": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB): VmHWM, which a forked child does not inherit (ru_maxrss does)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
