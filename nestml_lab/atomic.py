"""Writing results: only MPI rank 0 writes, and every file or folder appears whole or not at all.

A result is written beside its place under a temporary name and renamed into it, so a run that fails half-way
leaves the previous result (or none), never a truncated one; under MPI the other processes write nothing and
get the same path back.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable


def writes() -> bool:
    """Whether this process writes results (MPI rank 0, or no MPI)."""
    from nestml_lab import parallel

    return parallel.is_root()


def write_file(path: str | Path, write: Callable[[Path], None]) -> Path:
    """``write(tmp)`` into a temporary file beside ``path`` (its folder is created), then rename it to ``path``;
    on other MPI ranks nothing. Returns ``path``.
    """
    path = Path(path)
    if not writes():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text(path: str | Path, text: str) -> Path:
    """:func:`write_file` of a text."""
    return write_file(path, lambda tmp: tmp.write_text(text))


def write_folder(path: str | Path, fill: Callable[[Path], None]) -> Path:
    """``fill(tmp)`` into a temporary folder beside ``path``, then swap it in: an earlier folder in the same
    place is replaced only once the new one is whole. On other MPI ranks nothing. Returns ``path``.
    """
    out = Path(path)
    if not writes():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        fill(partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    partial.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return out
