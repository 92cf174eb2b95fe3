"""Compile the generated C++ into a NEST extension module and install it atomically.

The second step of the pipeline (codegen -> build -> load): it runs CMake on
the project in this folder (``CMakeLists.txt``, shipped with the package) over
a project's generated code, for one NEST installation (:class:`NestTarget`),
and moves the finished ``.so`` into place. A failure at any stage raises :class:`BuildError` naming the stage,
the model whose code failed where that is known, and the log file; the last
good installed module is never touched before a new one is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from nestml_lab.cmake import pch
from nestml_lab.cmake.errors import BuildError  # noqa: F401  (raised by every step)
from nestml_lab.cmake.target import NestTarget, find_nest, kernel_facts, running_nest  # noqa: F401


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


_SOURCE_ERROR = re.compile(r"^([^:\s]+\.(?:h|cpp)):\d+:\d+: (?:fatal )?error:", re.M)


def _generated_file(name: str, generated_dir: Path | None) -> Path | None:
    """The generated file a compiler message names: by its absolute path, or by one relative to the compiler's
    folder (ccache's base_dir makes the paths below the build folder relative: ``../../generated/units/...``).
    """
    if generated_dir is None:
        return None
    path = Path(name)
    if path.is_absolute():
        return path if generated_dir in path.parents else None
    if generated_dir.name in path.parts:
        found = generated_dir.joinpath(*path.parts[path.parts.index(generated_dir.name) + 1:])
        return found if found.is_file() else None
    return None


def _failing_model(log_text: str, generated_dir: Path | None) -> str | None:
    for m in _SOURCE_ERROR.finditer(log_text):
        path = _generated_file(m.group(1), generated_dir)
        if path is not None:
            return path.stem
    return None


_BUILDING = re.compile(r"^\[\s*(\d+)%\] Building CXX object .*?([\w.]+)\.o$")


def _run(cmd: list[str], log: Path, stage: str, generated_dir: Path | None = None, progress=None,
         env: dict | None = None) -> None:
    """Run a tool, its output into ``log``; with ``progress``, report the compiler's progress from it.

    Make prints ``[ 42%] Building CXX object .../x.cpp.o`` per file; one line per tenth of the way
    (``[compile] 40 %: 7 files compiled, now x.cpp``) tells a user that the minutes of compiling move.
    """
    with open(log, "a") as f:
        start = f.tell()
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                                env=env)
        files, reported = 0, -10
        for line in proc.stdout:
            f.write(line)
            m = _BUILDING.match(line.strip()) if progress else None
            if m:
                files += 1
                pct = int(m.group(1))
                if pct >= reported + 10:
                    reported = pct - pct % 10
                    progress(f"[compile] {pct:3d} %: {files} file(s) started, now {m.group(2)}")
        proc.wait()
    if proc.returncode != 0:
        text = log.read_text(errors="replace")[start:]
        model = _failing_model(text, generated_dir) if stage == "compile" else None
        first = next((ln for ln in text.splitlines() if " error" in ln or "Error" in ln), "").strip()
        named = _SOURCE_ERROR.match(first)
        found = _generated_file(named.group(1), generated_dir) if named else None
        if found is not None:   # the file as the user can open it, not relative to the compiler's folder
            first = str(found) + first[len(named.group(1)):]
        if not first:   # no line says "error": the last lines the tool printed say more than nothing
            first = " | ".join(ln.strip() for ln in text.splitlines()[-4:] if ln.strip())
        raise BuildError(stage, f"{' '.join(cmd[:2])} failed (exit {proc.returncode}): {first or 'no output'}",
                         model=model, log=log)


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_elf(so: Path) -> str | None:
    """What is wrong with a shared library file, or None: empty, not ELF, or cut short (a killed link)."""
    import struct

    try:
        size = so.stat().st_size
        with open(so, "rb") as f:
            head = f.read(64)
    except OSError as exc:
        return f"cannot read it: {exc}"
    if size == 0:
        return "it is empty"
    if len(head) < 64 or head[:4] != b"\x7fELF" or head[4] != 2:
        return "it is not a 64-bit ELF shared library"
    order = "<" if head[5] == 1 else ">"
    shoff, = struct.unpack_from(order + "Q", head, 0x28)
    shentsize, shnum = struct.unpack_from(order + "HH", head, 0x3A)
    if shoff + shentsize * shnum > size:
        return f"it is cut short ({size} bytes; its section table ends at {shoff + shentsize * shnum})"
    return None


_LOAD_CHECK = ("import os, sys, nest\n"
               "nest.verbosity = nest.VerbosityLevel.FATAL\n"
               "folder, module = sys.stdin.readline().rstrip('\\n').split('\\t')\n"
               "os.environ['LD_LIBRARY_PATH'] = folder + os.pathsep + os.environ.get('LD_LIBRARY_PATH', '')\n"
               "nest.Install(module)\n")


class LoadCheck:
    """Load a built module into a NEST in a child process: a broken library kills the child, not the caller.

    The child starts (and imports NEST, most of its second) when the check is made, or earlier with
    :meth:`start`, while the module compiles; it is then told which library to load.
    """

    def __init__(self):
        self.proc: subprocess.Popen | None = None

    def start(self) -> "LoadCheck":
        """Start the child now (it imports NEST, then waits to be told which library to load)."""
        if self.proc is None:
            self.proc = subprocess.Popen([sys.executable, "-c", _LOAD_CHECK], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return self

    def check(self, so: Path, module: str, timeout: float = 120.0) -> None:
        """Load ``so`` (NEST module ``module``) in the child; BuildError("check") if it does not load."""
        self.start()
        try:
            _out, err = self.proc.communicate(f"{so.parent}\t{module}\n", timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise BuildError("check", f"loading {so} into NEST took longer than {timeout:.0f} s") from None
        code, self.proc = self.proc.returncode, None
        if code != 0:
            why = f"signal {-code}" if code < 0 else f"exit {code}"
            tail = " | ".join(ln.strip() for ln in err.splitlines()[-3:] if ln.strip())
            raise BuildError("check", f"the built {so.name} does not load into NEST ({why}): {tail}")

    def close(self) -> None:
        """End a child that was started and not needed."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.communicate()
            self.proc = None


def check_loadable(so: Path, module: str, timeout: float = 120.0) -> None:
    """Load the module into a NEST in a child process: a broken library kills the child, not the caller."""
    LoadCheck().check(so, module, timeout)


def read_json(path: Path):
    """A JSON file's content, or None if it is missing or not JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


#: The CMake project of every module (shipped with the package).
CMAKE_PROJECT = Path(__file__).resolve().parent


def configure_args(generated_dir: Path | None, target: NestTarget) -> list[str]:
    """The CMake arguments that configure a module of ``generated_dir`` (None: all but that one) for ``target``."""
    cxx = _check_compiler()
    args = ([f"-DGENERATED_DIR={generated_dir}"] if generated_dir is not None else []) + [
        "-DCMAKE_BUILD_TYPE=Release", f"-DCMAKE_CXX_COMPILER={shutil.which(cxx) or cxx}"] + target.cmake_args()
    # extra CMake arguments, e.g. -DNESTML_LAB_PCH=OFF (the benchmarks measure the build levers this way)
    return args + shlex.split(os.environ.get("NESTML_LAB_CMAKE_ARGS", ""))


def prepare_pch(target: NestTarget, compile_options: list[str]):
    """Start making the precompiled NEST headers a build for ``target`` will use, if the machine has none yet
    (:func:`nestml_lab.cmake.pch.prepare`): called before NESTML runs, so that the two overlap.
    """
    try:
        return pch.prepare(configure_args(None, target), compile_options, _tool("cmake"))
    except BuildError:   # no compiler or CMake: the build says so in its own words
        return None


#: what the compiler reads of the generated folder (its keys, shapes and reports are written on every build)
_COMPILED = (".cpp", ".h", ".cmake")


def _up_to_date(so: Path, generated_dir: Path) -> bool:
    """Whether the built library is newer than every generated source and header (then nothing will be compiled)."""
    try:
        built = so.stat().st_mtime
    except OSError:
        return False
    return all(f.stat().st_mtime < built for f in Path(generated_dir).rglob("*") if f.suffix in _COMPILED)


def compile_module(module: str, generated_dir: Path, build_dir: Path, target: NestTarget, jobs: int | None = None,
                   log=print) -> Path:
    """Configure (when needed) and build the module; return the built ``.so``.

    Parameters
    ----------
    module : str
        Module name (from the manifest).
    generated_dir : Path
        The generated code (with its ``sources.cmake``).
    build_dir : Path
        The CMake build tree for this module and NEST.
    target : NestTarget
        The NEST to compile against.
    jobs : int, optional
        Parallel compile jobs (default: number of CPUs).
    """
    cmake = _tool("cmake")
    build = Path(build_dir)
    build.mkdir(parents=True, exist_ok=True)
    log_path = build / "build.log"
    log_path.write_text("")
    args = configure_args(generated_dir, target)
    stamp = build / "configure-args.json"
    # the CMake project's place and text are part of the configuration: a folder configured from another (a moved
    # checkout, an earlier layout of the toolkit) is configured again, not built with a cache CMake would refuse, and
    # a changed CMakeLists.txt is configured from a clean cache (its options' new defaults apply)
    configured = [*args, f"source={CMAKE_PROJECT}", f"project={sha256_file(CMAKE_PROJECT / 'CMakeLists.txt')[:16]}"]
    if not (build / "CMakeCache.txt").exists() or not stamp.exists() or read_json(stamp) != configured:
        log(f"[cmake] configuring {module} for {target.describe()}")
        if stamp.exists():
            stamp.unlink()
        # From a clean cache: CMake keeps what an earlier (perhaps failed) configure found, e.g. a compiler
        # that CXX named once, and every later build would fail the same way.
        (build / "CMakeCache.txt").unlink(missing_ok=True)
        shutil.rmtree(build / "CMakeFiles", ignore_errors=True)
        _run([cmake, "-S", str(CMAKE_PROJECT), "-B", str(build)] + args, log_path, "cmake")
        stamp.write_text(json.dumps(configured))
    so = build / f"{module}.so"
    if pch.wanted(build) and not _up_to_date(so, generated_dir):
        pch.link(build, pch.ensure(build, log))
    t = time.perf_counter()
    times = build / "compile-times.txt"   # written by timed_launcher.sh: start, end, output per compilation and link
    times.write_text("")
    env = dict(os.environ, NESTML_LAB_TIMES=str(times))
    # ccache hashes the paths a compilation names; below the build folder, relative ones: a translation unit of
    # the same text compiled in another build folder (a notebook cell's edit is a new folder of the module cache,
    # whose synapse's unit did not change) is then found in the compiler cache
    env.setdefault("CCACHE_BASEDIR", str(Path(generated_dir).resolve().parent))
    env = pch.ccache_env(env)
    for attempt in (1, 2):
        _run([cmake, "--build", str(build), "-j", str(jobs or os.cpu_count())], log_path, "compile", generated_dir,
             progress=log, env=env)
        if not so.is_file():
            raise BuildError("compile", f"the build finished but {so} is missing", log=log_path)
        broken = check_elf(so)
        if broken is None:
            break
        # a link killed half-way leaves a newer-looking, truncated library that make would keep: link again
        so.unlink()
        if attempt == 2:
            raise BuildError("check", f"the built {so} is broken after linking it again: {broken}", log=log_path)
        log(f"[compile] the built {so.name} was broken ({broken}): linking it again")
    if "Building CXX" in log_path.read_text():
        log(f"[compile] {module}.so built in {time.perf_counter() - t:.1f} s")
        detail = compile_times(times).describe()
        if detail:
            log(f"[compile] translation units: {detail}")
    return so


@dataclass
class CompileTimes:
    """How long each translation unit's compilation and the link took (seconds), from timed_launcher.sh."""

    units: dict = field(default_factory=dict)   # source file name -> seconds
    link: float = 0.0

    def describe(self) -> str:
        """``4 compiled, 41.2 s of compiler time (slowest: x.cpp 9.1 s, ...), link 0.6 s`` (or nothing)."""
        if not self.units:
            return ""
        slow = sorted(self.units.items(), key=lambda kv: -kv[1])[:2]
        return (f"{len(self.units)} compiled, {sum(self.units.values()):.1f} s of compiler time "
                f"(slowest: {', '.join(f'{n} {s:.1f} s' for n, s in slow)}), link {self.link:.1f} s")


def compile_times(path: Path) -> CompileTimes:
    """Read the launcher's records (``start end output``): per translation unit (``x.cpp.o`` -> ``x.cpp``), and
    the link (the ``.so``).
    """
    out = CompileTimes()
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(" ", 2)
        if len(parts) != 3:
            continue
        try:
            seconds = float(parts[1]) - float(parts[0])
        except ValueError:
            continue
        name = Path(parts[2]).name
        if name.endswith(".so"):
            out.link += seconds
        elif name.endswith(".o"):
            out.units[name[:-2]] = out.units.get(name[:-2], 0.0) + seconds
    return out


def install(so: Path, stamp: dict, dest_dir: Path) -> Path:
    """Copy the built module and its provenance (stamp) into ``dest_dir``, atomically.

    The ``.so`` and its JSON stamp are written under temporary names and then
    renamed, so a reader sees either the previous pair or the new one.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / so.name
    stamp_path = dest.with_suffix(".json")
    if dest.exists() and stamp_path.exists() and read_json(stamp_path) == stamp \
            and sha256_file(dest) == stamp.get("so_sha256"):
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
