"""Precompiled NEST headers (nestml_lab/cmake/pch.py), offline: the command read off CMake's flags.make, the key,
the one locked build a machine makes, a failure that leaves the build to compile without them, ccache's settings.
A fake compiler stands for g++ here; tests/integration/test_module.py checks that GCC accepts the real one.
"""

from __future__ import annotations

import os
import stat
import threading
import time

import pytest

from nestml_lab.cmake import pch

FLAGS_MAKE = """# CMAKE generated file: DO NOT EDIT!
# compile CXX with {cxx}
CXX_DEFINES = -DNDEBUG -D_GLIBCXX_USE_CXX11_ABI=0

CXX_INCLUDES = -I/some/units/neuron-a -isystem {nest}

CXX_FLAGS = -O3 -DNDEBUG -std=gnu++20 -fPIC -fopenmp -O2 -w {extra}
"""


def _fake_compiler(folder, fail: bool = False, seconds: float = 0.0):
    """A 'compiler' that writes the file after -o (and counts its runs in calls.txt), or fails."""
    cxx = folder / "fake-cxx"
    failing = 'echo "nest_pch.h:1: error: no such header" >&2; exit 1' if fail else ""
    cxx.write_text(f"""#!/bin/sh
[ "$1" = "--version" ] && {{ echo fake 1.0; exit 0; }}
echo run >> {folder}/calls.txt
{failing}
sleep {seconds}
out=""; prev=""
for a in "$@"; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; done
echo gch > "$out"
""")
    cxx.chmod(cxx.stat().st_mode | stat.S_IEXEC)
    return cxx


def _build_folder(tmp_path, cxx, extra="-fno-math-errno"):
    nest = tmp_path / "nest"
    nest.mkdir(exist_ok=True)
    (nest / "nest.h").write_text("// NEST\n")
    build = tmp_path / f"build{len(list(tmp_path.glob('build*')))}"
    (build / "CMakeFiles" / "m.dir").mkdir(parents=True)
    (build / "CMakeFiles" / "m.dir" / "flags.make").write_text(FLAGS_MAKE.format(cxx=cxx, nest=nest, extra=extra))
    (build / "pch").mkdir()
    (build / "pch" / "nest_pch.h").write_text(pch.HEADER.read_text())
    return build, nest


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NESTML_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(pch.ENV, raising=False)
    return tmp_path / "cache"


def test_the_command_is_the_units_flags_without_their_own_folders(tmp_path):
    build, nest = _build_folder(tmp_path, "/usr/bin/c++")
    cmd = pch.command(build)
    assert cmd[0] == "/usr/bin/c++"
    assert cmd[-2:] == ["-x", "c++-header"]
    assert ["-isystem", str(nest)] == cmd[cmd.index("-isystem"):cmd.index("-isystem") + 2]
    assert "-D_GLIBCXX_USE_CXX11_ABI=0" in cmd and "-fno-math-errno" in cmd and "-std=gnu++20" in cmd
    assert not any(w.startswith("-I") for w in cmd)   # a unit's own folder is not part of what NEST's headers mean
    assert pch.command(tmp_path / "not-configured") is None


def test_other_flags_or_a_reinstalled_nest_are_another_key(tmp_path):
    cxx = _fake_compiler(tmp_path)
    a, nest = _build_folder(tmp_path, cxx)
    b, _ = _build_folder(tmp_path, cxx, extra="")
    assert pch.key(pch.command(a)) != pch.key(pch.command(b))
    before = pch.key(pch.command(a))
    (nest / "nest.h").write_text("// NEST, installed again\n")
    assert pch.key(pch.command(a)) != before
    before = pch.key(pch.command(a))
    (nest / "connection.h").write_text("// one header of NEST's changed in place\n")
    assert pch.key(pch.command(a)) != before


def test_made_once_for_the_machine_and_linked_into_each_build(tmp_path, cache):
    cxx = _fake_compiler(tmp_path)
    a, _ = _build_folder(tmp_path, cxx)
    b, _ = _build_folder(tmp_path, cxx)
    said = []
    gch = pch.ensure(a, said.append)
    assert gch.is_file() and gch.parent.parent == cache / "pch"
    assert any("precompiling NEST's headers" in s for s in said)
    pch.link(a, gch)
    assert (a / "pch" / "nest_pch.h.gch").resolve() == gch.resolve()
    said.clear()
    assert pch.ensure(b, said.append) == gch   # another build of the same flags: no second compile, nothing said
    assert said == [] and (tmp_path / "calls.txt").read_text().count("run") == 1
    pch.link(a, None)
    assert not (a / "pch" / "nest_pch.h.gch").exists()


def test_a_build_waits_for_the_one_making_them(tmp_path, cache):
    """Units compiled without the .gch would be compiled again by the next build (the compiler cache keys them by
    it): the build waits for the one that started while NESTML ran."""
    cxx = _fake_compiler(tmp_path, seconds=1.5)
    a, _ = _build_folder(tmp_path, cxx)
    b, _ = _build_folder(tmp_path, cxx)
    first = threading.Thread(target=pch.ensure, args=(a, lambda _: None))
    first.start()
    time.sleep(0.5)
    said = []
    gch = pch.ensure(b, said.append)
    assert gch.is_file() and any("waiting for NEST's precompiled headers" in s for s in said)
    first.join()
    assert (tmp_path / "calls.txt").read_text().count("run") == 1


def test_a_failure_is_said_once_and_the_build_goes_on_without_them(tmp_path, cache):
    cxx = _fake_compiler(tmp_path, fail=True)
    a, _ = _build_folder(tmp_path, cxx)
    said = []
    assert pch.ensure(a, said.append) is None
    assert any("could not be precompiled" in s and "no such header" in s for s in said)
    assert not list((cache / "pch").glob("*/*.tmp"))
    said.clear()
    assert pch.ensure(a, said.append) is None and said == []   # not tried again on every build
    assert (tmp_path / "calls.txt").read_text().count("run") == 1


def test_a_run_killed_half_way_is_tried_again_and_leaves_nothing(tmp_path, cache):
    cxx = _fake_compiler(tmp_path)
    a, _ = _build_folder(tmp_path, cxx)
    folder = cache / "pch" / pch.key(pch.command(a))
    folder.mkdir(parents=True)
    (folder / "nest_pch.h.gch.123.tmp").write_text("half")   # what a killed run leaves
    killed = tmp_path / "killed-cxx"
    killed.write_text("#!/bin/sh\n[ \"$1\" = \"--version\" ] && { echo fake 1.0; exit 0; }\nkill -9 $$\n")
    killed.chmod(0o755)
    cxx.rename(tmp_path / "real-cxx")
    killed.rename(cxx)
    assert pch.ensure(a, lambda _: None) is None and not (folder / "FAILED").exists()
    (tmp_path / "real-cxx").rename(cxx)
    assert pch.ensure(a, lambda _: None).is_file()
    assert not list(folder.glob("*.tmp"))


def test_turned_off(tmp_path, cache, monkeypatch):
    a, _ = _build_folder(tmp_path, _fake_compiler(tmp_path))
    monkeypatch.setenv(pch.ENV, "0")
    assert pch.ensure(a, print) is None and not (tmp_path / "calls.txt").exists()


def test_only_the_most_recent_sets_are_kept(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(pch, "KEPT", 2)
    cxx = _fake_compiler(tmp_path)
    made = []
    for i in range(3):
        build, _ = _build_folder(tmp_path, cxx, extra=f"-DX={i}")
        made.append(pch.ensure(build, lambda _: None))
        os.utime(made[-1], (time.time() - 100 + i, time.time() - 100 + i))
    assert [g.is_file() for g in made] == [False, True, True]


def test_ccache_is_told_what_its_manual_asks_and_keeps_the_users_own(monkeypatch):
    env = pch.ccache_env({"CCACHE_SLOPPINESS": "include_file_mtime"})
    assert env["CCACHE_SLOPPINESS"].split(",") == ["include_file_mtime", "pch_defines", "time_macros"]
    assert pch.ccache_env({"CCACHE_SLOPPINESS": "time_macros"})["CCACHE_SLOPPINESS"] == "time_macros,pch_defines"


def test_a_build_is_up_to_date_unless_a_source_or_header_is_newer(tmp_path):
    """The build's bookkeeping (keys, shapes, stage times), rewritten by every build, does not count: a build that
    compiles nothing makes no precompiled headers."""
    from nestml_lab.cmake import _up_to_date

    gen = tmp_path / "generated"
    (gen / "units" / "u").mkdir(parents=True)
    so = tmp_path / "m.so"
    for name in ("units/u/a.h", "units/u/a.cpp", "sources.cmake"):
        (gen / name).write_text("x")
    past = time.time() - 100
    for f in gen.rglob("*"):
        os.utime(f, (past, past))
    so.write_text("so")
    os.utime(so, (past + 50, past + 50))
    for name in ("STAGES.json", "units/u/KEY", "units/u/SHAPE.json"):
        (gen / name).write_text("new")
    assert _up_to_date(so, gen)
    (gen / "units" / "u" / "a.h").write_text("edited")
    assert not _up_to_date(so, gen)
    assert not _up_to_date(tmp_path / "missing.so", gen)
