"""What a result was made with: module source hash, NEST and NESTML versions."""

from __future__ import annotations

import importlib.metadata
import platform
import time


def provenance() -> dict:
    """Versions and the installed module's source hash, for a result's metadata."""
    from nestml_lab.module import installed_stamp

    stamp = installed_stamp()
    return {
        "module": stamp["module"],
        "module_source_hash": stamp["source_hash"],
        "toolkit": stamp["toolkit"],
        "nestml": importlib.metadata.version("nestml"),
        "nest": importlib.metadata.version("nest-simulator"),
        "python": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
