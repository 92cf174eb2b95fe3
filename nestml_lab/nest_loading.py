"""How this process hands a module's library to NEST: libltdl's search path (read at ``nest.Install``, so set
here, in-process: users set no variable), ``nest.Install`` itself, and which libraries are mapped already (a
library of the same file name stays mapped after ``nest.ResetKernel()``: installing a rebuilt one runs the old
code).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=32)
def _hash_of(path: str, size: int, mtime_ns: int) -> str:
    from nestml_lab.cmake import sha256_file

    return sha256_file(Path(path))


def file_hash(path: Path) -> str:
    """sha256 of a file, computed again only when its size or modification time changes."""
    st = path.stat()
    return _hash_of(str(path), st.st_size, st.st_mtime_ns)


def put_on_search_path(folder: Path) -> None:
    """Put ``folder`` first on the library search path libltdl reads at ``nest.Install``, in this process.

    First: another folder with a library of the same name (an older copy) must not win.
    """
    search = [p for p in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p and p != str(folder)]
    os.environ["LD_LIBRARY_PATH"] = os.pathsep.join([str(folder), *search])


def install_from(folder: Path, module: str) -> None:
    """``nest.Install(module)`` from ``folder``, which is put on the library search path libltdl reads."""
    import nest

    put_on_search_path(folder)
    # NEST says "loaded module ..." at INFO after every ResetKernel; only warnings and errors get through
    before = nest.verbosity
    nest.verbosity = max(before, nest.VerbosityLevel.WARNING)
    try:
        nest.Install(module)
    finally:
        nest.verbosity = before


def mapped_libraries() -> list[tuple[str, int]]:
    """``(path, inode)`` of every shared library this process has mapped (Linux: /proc/self/maps)."""
    out = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                parts = line.split(maxsplit=5)
                if len(parts) == 6 and ".so" in parts[5]:
                    path = parts[5].strip()
                    if path.endswith(" (deleted)"):
                        path = path[: -len(" (deleted)")]
                    out.add((path, int(parts[4])))
    except OSError:
        pass
    return sorted(out)
