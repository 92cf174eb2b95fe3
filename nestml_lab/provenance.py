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
    """Versions, the installed module's source hash and the code's git revisions, for a result's metadata.

    ``toolkit_git``: the revision of the toolkit's checkout (None when installed from a package);
    ``project_git``: that of the catalog's project folder (the models the module was built from).
    """
    from pathlib import Path

    from nestml_lab.module import installed_stamp

    stamp = installed_stamp()
    return {
        "toolkit_git": git_revision(Path(__file__).resolve().parent),
        "project_git": git_revision(Path(stamp["manifest"]).parent) if "manifest" in stamp else None,
        "module": stamp["module"],
        "module_source_hash": stamp["source_hash"],
        "toolkit": stamp["toolkit"],
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
