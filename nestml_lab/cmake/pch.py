"""NEST's headers precompiled once per NEST installation, compiler and flags, and shared by every build on the machine.

A neuron's or a synapse's translation unit spends about a third of its compile parsing NEST's headers, and every
module (each edited notebook cell is one) parses the same headers with the same flags. Here they are parsed once:
``nest_pch.h`` compiled into ``nest_pch.h.gch`` in the machine-wide cache (``<user cache>/pch/<key>/``), the key
being everything the compiler is told (read off CMake's own ``flags.make``), the compiler and NEST's headers. A build
folder's ``pch/nest_pch.h`` (CMakeLists.txt copies it there and includes it first in each unit that includes NEST)
gets the ``.gch`` beside it as a link. GCC uses a ``.gch`` only when it was made with the options of the
compilation at hand and reads the header's text otherwise, so a missing or refused ``.gch`` costs time, never a
wrong build; every function the compiler makes has the same instructions as without it (a unit may emit one more
copy of an inline function of NEST's, which the linker merges; tests/integration/test_module.py compares). ccache caches such compilations with ``-fpch-preprocess`` and the sloppiness its manual asks for
(:data:`CCACHE_SLOPPINESS`), and hashes the ``.gch`` into each key.

Measured on 2 cores (BENCHMARKS.md): a neuron's unit 5.3 -> 3.9 s, a synapse's 8.4 -> 7.6 s, the registration
3.4 -> 1.6 s; building the ``.gch`` takes 6 s and 174 MB, once. A unit that does not include NEST (R11's tables of
defaults) is compiled without it: reading the ``.gch`` alone takes 1.5 s.

``NESTML_LAB_PCH=0`` turns it off (CMake's option ``-DNESTML_LAB_PCH=OFF`` too).
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import subprocess
import threading
import time
from functools import lru_cache
from pathlib import Path

from nestml_lab.paths import user_cache

HEADER = Path(__file__).resolve().with_name("nest_pch.h")
ENV = "NESTML_LAB_PCH"
#: what ccache's manual asks of builds that use precompiled headers
CCACHE_SLOPPINESS = ("pch_defines", "time_macros")
#: how many sets of precompiled headers the machine keeps (174 MB each); the least recently made go first
KEPT = 4


def enabled() -> bool:
    """Whether builds use precompiled NEST headers (``NESTML_LAB_PCH=0`` says no)."""
    return os.environ.get(ENV, "1") != "0"


def root() -> Path:
    """The machine-wide folder of precompiled headers."""
    return user_cache() / "pch"


def _flags_make(build_dir: Path) -> Path | None:
    found = sorted(Path(build_dir).glob("CMakeFiles/*.dir/flags.make"))
    return found[0] if len(found) == 1 else None


def command(build_dir: Path) -> list[str] | None:
    """The compiler command that precompiles ``nest_pch.h`` as a configured build folder compiles its units (its
    defines, flags and system include folders, not the units' own folders); None if the folder has none.
    """
    path = _flags_make(build_dir)
    if path is None:
        return None
    found, cxx = {}, None
    for line in path.read_text().splitlines():
        if line.startswith("# compile CXX with "):
            cxx = line[len("# compile CXX with "):].strip()
        for name in ("CXX_DEFINES", "CXX_INCLUDES", "CXX_FLAGS"):
            if line.startswith(name + " = "):
                found[name] = shlex.split(line[len(name) + 3:])
    if cxx is None or "CXX_FLAGS" not in found:
        return None
    includes, words = [], found.get("CXX_INCLUDES", [])
    for i, word in enumerate(words):   # NEST's (and MPI's) folders; the units' own -I folders do not matter here
        if word == "-isystem" and i + 1 < len(words):
            includes += ["-isystem", words[i + 1]]
    return [cxx, *found.get("CXX_DEFINES", []), *includes, *found["CXX_FLAGS"], "-x", "c++-header"]


@lru_cache(maxsize=None)
def _compiler_identity(cxx: str) -> str:
    try:
        return subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def key(cmd: list[str]) -> str:
    """The folder name of the precompiled headers of this command: the command, the compiler binary, the header's
    text and the headers of its system include folders (NEST's, MPI's) as they are on disk, each file's size and
    modification time: a NEST installed again, or one header of it changed in place, is another key.
    """
    headers = []
    for i, word in enumerate(cmd[:-1]):
        if word == "-isystem":
            try:
                with os.scandir(cmd[i + 1]) as found:
                    for entry in found:
                        if entry.is_file() and entry.name.endswith((".h", ".hpp")):
                            st = entry.stat()
                            headers.append([entry.path, st.st_size, st.st_mtime_ns])
            except OSError:
                pass
    payload = {"cmd": cmd, "compiler": _compiler_identity(cmd[0]), "header": HEADER.read_text(),
               "headers": sorted(headers)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _script(cmd: list[str], folder: Path) -> list[str]:
    """One locked process that makes ``folder/nest_pch.h.gch`` unless it is there: a second caller waits for the
    first and finds it made; the file appears whole (written under another name, then renamed), also when the
    Python process that started it has ended.
    """
    gch = folder / "nest_pch.h.gch"
    tmp = folder / f"nest_pch.h.gch.{os.getpid()}.tmp"
    make = shlex.join([*cmd, str(folder / "nest_pch.h"), "-o", str(tmp)])
    stale = shlex.quote(str(folder)) + "/nest_pch.h.gch.*.tmp"   # a run killed half-way; the lock is ours now
    body = (f"[ -f {shlex.quote(str(gch))} ] && exit 0; rm -f {stale}; "
            f"{make} > {shlex.quote(str(folder / 'build.log'))} 2>&1 && mv -f {shlex.quote(str(tmp))} "
            f"{shlex.quote(str(gch))} || {{ rm -f {shlex.quote(str(tmp))}; exit 1; }}")
    return ["flock", str(folder / "lock"), "sh", "-c", body]


def _being_made(folder: Path) -> bool:
    """Whether a process holds the folder's lock, that is, is making its ``.gch`` now."""
    import fcntl

    try:
        with open(folder / "lock", "a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
    except OSError:
        pass
    return False


def _prepare_folder(cmd: list[str]) -> Path:
    folder = root() / key(cmd)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "nest_pch.h").is_file():
        shutil.copyfile(HEADER, folder / "nest_pch.h")
        (folder / "COMMAND.json").write_text(json.dumps(cmd, indent=1))
    return folder


def _prune(keep: Path) -> None:
    """Keep the :data:`KEPT` most recently made sets (a build using a removed one reads the headers' text)."""
    made = sorted((g.stat().st_mtime, g.parent) for g in root().glob("*/nest_pch.h.gch"))
    for _mtime, folder in made[:-KEPT]:
        if folder != keep:
            shutil.rmtree(folder, ignore_errors=True)


def ensure(build_dir: Path, log=print) -> Path | None:
    """The ``.gch`` for a configured build folder, made now if no process on the machine made it yet (one making it,
    as :func:`prepare` does while NESTML runs, is waited for: units compiled without it would be compiled again,
    with it, by the next build, as the compiler cache keys them by it). None when turned off or when it cannot be
    made (the build then compiles without it, and says why).
    """
    if not enabled() or shutil.which("flock") is None:
        return None
    cmd = command(build_dir)
    if cmd is None:
        return None
    folder = _prepare_folder(cmd)
    gch = folder / "nest_pch.h.gch"
    if gch.is_file():
        return gch
    if (folder / "FAILED").is_file():
        return None
    if _being_made(folder):   # since before NESTML ran (prepare()): the rest of its 6 s is waited for
        log("[compile] waiting for NEST's precompiled headers, being made for this machine since NESTML started")
        t = time.perf_counter()
        subprocess.run(_script(cmd, folder), capture_output=True)   # takes the lock when they are made: returns
        if gch.is_file():
            log(f"[compile] NEST's precompiled headers ready after {time.perf_counter() - t:.1f} s more")
            return gch
    log("[compile] precompiling NEST's headers for this NEST installation and these flags: once, about 6 s "
        f"(later builds reuse them; {folder})")
    t = time.perf_counter()
    done = subprocess.run(_script(cmd, folder), capture_output=True, text=True)
    if done.returncode != 0 or not gch.is_file():
        text = (folder / "build.log").read_text(errors="replace") if (folder / "build.log").is_file() else ""
        tail = " | ".join(text.splitlines()[-3:]) or done.stderr.strip()
        if "error" in text:   # the compiler refused the headers: not tried again for these flags (a killed run is)
            (folder / "FAILED").write_text(tail + "\n")
        log(f"[compile] NEST's headers could not be precompiled; compiling without them ({tail or 'no output'})")
        return None
    log(f"[compile] NEST's headers precompiled in {time.perf_counter() - t:.1f} s")
    _prune(folder)
    return gch


def wanted(build_dir: Path) -> bool:
    """Whether this build folder's units include ``pch/nest_pch.h`` (CMake's ``NESTML_LAB_PCH``, on by default)."""
    return (Path(build_dir) / "pch" / "nest_pch.h").is_file()


def link(build_dir: Path, gch: Path | None) -> None:
    """Put ``gch`` beside the build folder's ``pch/nest_pch.h`` (or take an earlier one away)."""
    there = Path(build_dir) / "pch" / "nest_pch.h.gch"
    if there.is_symlink() or there.exists():
        there.unlink()
    if gch is not None and there.parent.is_dir():
        there.symlink_to(gch)


def ccache_env(env: dict) -> dict:
    """``env`` with ccache's sloppiness for precompiled headers added to what the user set."""
    have = env.get("CCACHE_SLOPPINESS")
    if have is None and shutil.which("ccache"):
        have = _ccache_config("sloppiness")
    words = [w for w in (have or "").replace(" ", ",").split(",") if w]
    # ccache hashes the 174 MB .gch into every unit's key; its inode cache remembers the hash (unless the user says no)
    return {"CCACHE_INODECACHE": "true", **env,
            "CCACHE_SLOPPINESS": ",".join(dict.fromkeys([*words, *CCACHE_SLOPPINESS]))}


@lru_cache(maxsize=None)
def _ccache_config(name: str) -> str:
    try:
        return subprocess.run(["ccache", "--get-config", name], capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


# --- made while NESTML runs ---------------------------------------------------------------------------------------

def _probe_key(configure_args: list[str]) -> str:
    text = (Path(__file__).resolve().with_name("CMakeLists.txt")).read_text()
    return hashlib.sha256(json.dumps([configure_args, text, HEADER.read_text()]).encode()).hexdigest()[:16]


def _probe(configure_args: list[str], compile_options: list[str], cmake: str) -> list[str] | None:
    """Configure an empty module with these arguments (in the cache's ``probes/``) to learn the flags a build
    will have before its code exists.
    """
    folder = root() / "probes" / _probe_key([*configure_args, *compile_options])
    remembered = folder / "command.json"
    if remembered.is_file():
        return json.loads(remembered.read_text())
    gen, build = folder / "generated", folder / "build"
    gen.mkdir(parents=True, exist_ok=True)
    (gen / "probe.cpp").write_text("// nothing: the module is configured, never built\n")
    options = "".join(f' "{o}"' for o in compile_options)
    (gen / "sources.cmake").write_text(f'set(MODULE_NAME "nestml_lab_probe")\nset(MODULE_SOURCES "{gen}/probe.cpp")\n'
                                       f"set(MODULE_INCLUDE_DIRS)\nset(MODULE_COMPILE_OPTIONS{options})\n")
    done = subprocess.run([cmake, "-S", str(Path(__file__).resolve().parent), "-B", str(build), *configure_args,
                           f"-DGENERATED_DIR={gen}"],
                          capture_output=True, text=True)
    cmd = command(build) if done.returncode == 0 else None
    if cmd is not None:
        tmp = folder / f"command.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(cmd))
        os.replace(tmp, remembered)
    shutil.rmtree(build, ignore_errors=True)
    return cmd


def prepare(configure_args: list[str], compile_options: list[str], cmake: str) -> threading.Thread | None:
    """Make the precompiled headers a build of these CMake arguments (all but its generated folder's) and compile
    options will use, in the background
    (a thread; the compiler in a process of its own that finishes also if this one ends), so that on a machine's
    first build they are made while NESTML runs. Returns the thread, or None when there is nothing to do.
    """
    if not enabled() or shutil.which("flock") is None:
        return None

    def work():
        try:
            cmd = _probe(configure_args, compile_options, cmake)
            if cmd is not None:
                folder = _prepare_folder(cmd)
                if not (folder / "nest_pch.h.gch").is_file() and not (folder / "FAILED").is_file():
                    subprocess.run(_script(cmd, folder), capture_output=True)
        except OSError:
            pass   # the build then makes them itself, or compiles without them

    thread = threading.Thread(target=work, name="nestml-lab-pch", daemon=True)
    thread.start()
    return thread
