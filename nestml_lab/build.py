"""Compile the generated C++ into the NEST extension module and install it atomically.

Kept apart from code generation (codegen/) and from simulation (module.py):
this step only runs CMake on nest_module/ and moves the finished ``.so`` into
place. A failure at any stage raises :class:`BuildError` naming the stage,
the model whose code failed where that is known, and the log file; the last
good installed module is never touched before a new one is complete.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from nestml_lab import paths


class BuildError(Exception):
    """A failure of the compile-and-install step.

    Attributes
    ----------
    stage : str
        ``"toolchain"``, ``"cmake"``, ``"compile"`` or ``"install"``.
    model : str or None
        The model whose generated code failed to compile, when known.
    log : str or None
        Path of the full log.
    """

    def __init__(self, stage: str, message: str, model: str | None = None, log: Path | None = None):
        self.stage, self.model, self.log = stage, model, str(log) if log else None
        text = f"[{stage}] {message}"
        if model:
            text += f"\n  model: {model}"
        if log:
            text += f"\n  full log: {log}"
        super().__init__(text)


@dataclass(frozen=True)
class NestLocation:
    """How CMake is to find NEST: a real nest-config, or the installed Python package."""

    nest_config: str | None
    python_package: str | None

    def cmake_args(self) -> list[str]:
        if self.nest_config:
            return [f"-DNEST_CONFIG={self.nest_config}"]
        return [f"-DNEST_PYTHON_PACKAGE={self.python_package}"]


def find_nest(nest_config: str | None = None) -> NestLocation:
    """Locate NEST without importing it.

    A ``nest-config`` named explicitly (argument or ``NEST_CONFIG``) wins: it is
    a NEST built from source. Otherwise the ``nest`` Python package, whose
    headers the PyPI wheel ships in ``nest/include/nest`` (its own nest-config
    names the wheel builder's temporary paths and is ignored).
    """
    nest_config = nest_config or os.environ.get("NEST_CONFIG")
    if nest_config:
        if not Path(nest_config).is_file():
            raise BuildError("toolchain", f"NEST_CONFIG={nest_config} does not exist")
        return NestLocation(str(Path(nest_config).resolve()), None)
    spec = importlib.util.find_spec("nest")
    if spec is None or spec.origin is None:
        raise BuildError("toolchain", "NEST is not installed in this Python: pip install nest-simulator, "
                                      "or set NEST_CONFIG to the nest-config of a NEST built from source")
    pkg = Path(spec.origin).parent
    if not (pkg / "include" / "nest" / "nest.h").is_file():
        raise BuildError("toolchain", f"the nest package at {pkg} has no headers (include/nest/nest.h); "
                                      "set NEST_CONFIG to a nest-config instead")
    return NestLocation(None, str(pkg))


def _tool(name: str) -> str:
    """A tool from this Python's environment (the pinned PyPI cmake) before the system's."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.is_file() else shutil.which(name)
    if not found:
        raise BuildError("toolchain", f"{name} not found on PATH")
    return found


def _check_compiler() -> str:
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    if not cxx or not (shutil.which(cxx) or Path(cxx).is_file()):
        raise BuildError("toolchain", f"no C++ compiler found (CXX={os.environ.get('CXX', '')!r}, no c++ or g++ "
                                      "on PATH): install one, e.g. apt-get install g++")
    return cxx


_SOURCE_ERROR = re.compile(r"^(/[^:\s]+\.(?:h|cpp)):\d+:\d+: (?:fatal )?error:", re.M)


def _failing_model(log_text: str) -> str | None:
    for m in _SOURCE_ERROR.finditer(log_text):
        path = Path(m.group(1))
        if paths.GENERATED_DIR in path.parents:
            return path.stem
    return None


def _run(cmd: list[str], log: Path, stage: str, cwd: Path | None = None) -> None:
    with open(log, "a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        proc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=cwd)
    if proc.returncode != 0:
        text = log.read_text(errors="replace")
        model = _failing_model(text) if stage == "compile" else None
        first = next((ln for ln in text.splitlines() if " error" in ln or "Error" in ln), "")
        raise BuildError(stage, f"{' '.join(cmd[:2])} failed (exit {proc.returncode}): {first.strip()}",
                         model=model, log=log)


def compile_module(module: str, jobs: int | None = None, nest_config: str | None = None, log=print) -> Path:
    """Configure (when needed) and build the module; return the built ``.so``.

    Parameters
    ----------
    module : str
        Module name (from the manifest).
    jobs : int, optional
        Parallel compile jobs (default: number of CPUs).
    nest_config : str, optional
        A real nest-config; default: ``NEST_CONFIG`` or the nest Python package.
    """
    _check_compiler()
    cmake = _tool("cmake")
    nest = find_nest(nest_config)
    build = paths.BUILD_DIR
    build.mkdir(parents=True, exist_ok=True)
    log_path = build / "build.log"
    log_path.write_text("")
    args = [f"-DGENERATED_DIR={paths.GENERATED_DIR}", "-DCMAKE_BUILD_TYPE=Release"] + nest.cmake_args()
    # extra CMake arguments, e.g. -DNESTML_LAB_PCH=OFF (the benchmarks measure the build levers this way)
    args += shlex.split(os.environ.get("NESTML_LAB_CMAKE_ARGS", ""))
    stamp = build / "configure-args.json"
    if not (build / "CMakeCache.txt").exists() or not stamp.exists() or json.loads(stamp.read_text()) != args:
        log("[cmake] configuring nest_module/ (" + (f"nest-config {nest.nest_config}" if nest.nest_config
                                                  else f"NEST from {nest.python_package}") + ")")
        if stamp.exists():
            stamp.unlink()
        _run([cmake, "-S", str(paths.NEST_MODULE_DIR), "-B", str(build)] + args, log_path, "cmake")
        stamp.write_text(json.dumps(args))
    t = time.perf_counter()
    _run([cmake, "--build", str(build), "-j", str(jobs or os.cpu_count())], log_path, "compile")
    so = build / f"{module}.so"
    if not so.is_file():
        raise BuildError("compile", f"the build finished but {so} is missing", log=log_path)
    if "Building CXX" in log_path.read_text():
        log(f"[compile] {module}.so built in {time.perf_counter() - t:.1f} s")
    return so


def install(so: Path, stamp: dict) -> Path:
    """Copy the built module and its provenance into ``paths.INSTALL_DIR``, atomically.

    The ``.so`` and its JSON stamp are written under temporary names and then
    renamed, so a reader sees either the previous pair or the new one.
    """
    dest_dir = paths.INSTALL_DIR
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / so.name
    stamp_path = dest.with_suffix(".json")
    if dest.exists() and stamp_path.exists() and dest.read_bytes() == so.read_bytes() \
            and json.loads(stamp_path.read_text()) == stamp:
        return dest
    try:
        tmp_so = dest.with_name(dest.name + ".tmp")
        shutil.copy2(so, tmp_so)
        tmp_stamp = stamp_path.with_name(stamp_path.name + ".tmp")
        tmp_stamp.write_text(json.dumps(stamp, indent=1))
        tmp_so.replace(dest)
        tmp_stamp.replace(stamp_path)
    except OSError as exc:
        raise BuildError("install", f"could not install {so} into {dest_dir}: {exc}") from exc
    return dest
