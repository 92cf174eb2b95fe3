"""Bad input and faults during `nestml-lab module`: each stops with a clear error, or recovers, and the
installed module is always the last good one and loads.

Bad input: a malformed model, C++ that does not compile, a missing or poisoned compiler, the hostile
manifests and models of tests/unit/test_hostile_inputs.py. Faults: a build killed during generation and
during compilation, a link killed half-way (a truncated library), a truncated installed library, a model
edited during a build, two builds at once. Runs the real command on a small project in a temporary
folder (a few minutes; `make test-slow`).
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nestml_lab import paths

pytestmark = [pytest.mark.nest, pytest.mark.slow]

MANIFEST = """module: tiny_module
suffix: _nestml
neurons: [iaf_psc_exp_neuron]
synapses:
  static_synapse: {weight_variable: w}
"""


def _run(root: Path, **env_extra) -> subprocess.CompletedProcess:
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, "-m", "nestml_lab", "module"], env=env, capture_output=True, text=True,
                          cwd=root)


def _so(root: Path) -> Path:
    [so] = (root / "build").glob("nest-*/tiny_module.so")
    return so


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _loads(root: Path) -> bool:
    code = (f"import nest, nestml_lab; nestml_lab.load({str(root)!r}, check_sources=False); "
            "nest.Create('iaf_psc_exp_neuron_nestml'); print('LOADED')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return "LOADED" in out.stdout


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    for m in ("iaf_psc_exp_neuron", "static_synapse"):
        shutil.copy(paths.MODELS_DIR / f"{m}.nestml", root)
    (root / "module.yaml").write_text(MANIFEST)
    first = _run(root)
    assert first.returncode == 0, first.stdout + first.stderr
    return root


def _run_edited(checkout: Path, model: str, old: str, new: str) -> tuple[subprocess.CompletedProcess, str]:
    """Run `make module` with one model edited, then restore it; return the run and the edited text."""
    src = checkout / f"{model}.nestml"
    original = src.read_text()
    assert old in original
    edited = original.replace(old, new)
    src.write_text(edited)
    try:
        return _run(checkout), edited
    finally:
        src.write_text(original)


def test_malformed_model_names_file_and_line_and_keeps_the_module(checkout):
    so = _so(checkout)
    before = _digest(so)
    out, edited = _run_edited(checkout, "iaf_psc_exp_neuron", "I_syn_ex += exc_spikes * 1 pA * 1 s",
                              "I_syn_ex += exc_spikez * 1 pA * 1 s")
    line = next(i for i, ln in enumerate(edited.splitlines(), 1) if "exc_spikez" in ln)
    assert out.returncode != 0
    assert f"iaf_psc_exp_neuron.nestml:{line}:" in out.stderr
    assert "[nestml]" in out.stderr
    assert _digest(so) == before and _loads(checkout)


def test_compile_error_names_the_model_and_log_and_keeps_the_module(checkout):
    so = _so(checkout)
    before = _digest(so)
    # NESTML accepts max(0, real) but emits std::max(int, double), which does not compile.
    out, _ = _run_edited(checkout, "static_synapse", "emit_spike(w)",
                         "w_out real = max(0, w)\n        emit_spike(w_out)")
    assert out.returncode != 0, out.stdout
    assert "[compile]" in out.stderr
    assert "model: static_synapse_nestml" in out.stderr
    assert "build.log" in out.stderr
    # the failing file as the user can open it (the compiler, run by ccache with relative paths, says ../../)
    assert str(checkout / "build" / "generated" / "units" / "synapse-static_synapse") in out.stderr, out.stderr
    assert _digest(so) == before and _loads(checkout)


def test_missing_compiler_is_reported_and_keeps_the_module(checkout):
    so = _so(checkout)
    before = _digest(so)
    out = _run(checkout, CXX="/nonexistent/g++")
    assert out.returncode != 0
    assert "[toolchain] no C++ compiler" in out.stderr
    assert _digest(so) == before and _loads(checkout)


def test_poisoned_compiler_then_a_good_build_needs_no_clean(checkout):
    """CXX=/bin/false once used to stay in CMake's cache and break every later build with an empty error."""
    so = _so(checkout)
    before = _digest(so)
    bad = _run(checkout, CXX="/bin/false")
    assert bad.returncode != 0
    assert "[cmake]" in bad.stderr and "failed (exit" in bad.stderr
    assert not bad.stderr.rstrip().endswith("):"), "the error says what failed, not nothing"
    assert _digest(so) == before and _loads(checkout)
    good = _run(checkout)
    assert good.returncode == 0, good.stdout + good.stderr
    assert _loads(checkout)


def test_a_link_killed_half_way_is_linked_again(checkout):
    """A kill while linking leaves a truncated, newer-looking .so in the build tree: it must not be installed."""
    so = _so(checkout)
    built = so.parent / "cmake" / so.name
    data = built.read_bytes()
    built.write_bytes(data[: len(data) // 3])     # what a killed linker leaves
    os.utime(built, None)
    out = _run(checkout)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "linking it again" in out.stdout
    from nestml_lab.cmake import check_elf

    assert check_elf(so) is None and _loads(checkout)


def test_a_truncated_installed_module_is_refused_and_the_process_lives(checkout, tmp_path):
    """Loading a cut-short .so killed Python with SIGBUS; now the stamp's hash refuses it before NEST sees it."""
    copy = tmp_path / "project"
    shutil.copytree(checkout, copy)
    [so] = (copy / "build").glob("nest-*/tiny_module.so")
    so.write_bytes(so.read_bytes()[:4096])
    code = (f"import nestml_lab\n"
            f"try:\n    nestml_lab.load({str(copy)!r}, check_sources=False)\n"
            f"except nestml_lab.ModuleNotBuiltError as e:\n    print('REFUSED', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "REFUSED" in out.stdout and "cut short" in out.stdout and "nestml-lab module" in out.stdout


def test_a_model_edited_during_the_build_is_not_installed(checkout):
    from nestml_lab.cmake import BuildError
    from nestml_lab.project import make_module

    so = _so(checkout)
    before = _digest(so)
    src = checkout / "static_synapse.nestml"
    original = src.read_text()

    def edit_when_generated(line: str) -> None:
        if line.startswith("[codegen] done"):
            src.write_text(original + "\n# edited while the module was being built\n")

    try:
        with pytest.raises(BuildError, match="changed while the module was being built"):
            make_module(checkout, log=edit_when_generated)
    finally:
        src.write_text(original)
    assert _digest(so) == before and _loads(checkout)


def test_a_second_build_waits_for_the_first(checkout):
    import fcntl

    lock = open(checkout / "build" / ".lock", "a+")
    fcntl.flock(lock, fcntl.LOCK_EX)   # a first build is running
    try:
        second = subprocess.Popen([sys.executable, "-m", "nestml_lab", "module"], cwd=checkout, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        seen = ""
        while "waiting for it to finish" not in seen and second.poll() is None:
            seen += second.stdout.readline()
        assert "waiting for it to finish" in seen, seen
        assert second.poll() is None, "the second build waits"
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
    rest, _ = second.communicate(timeout=600)
    assert second.returncode == 0, rest
    assert _loads(checkout)


def _stamp(root: Path) -> dict:
    import json

    [stamp] = (root / "build").glob("nest-*/tiny_module.json")
    return json.loads(stamp.read_text())


@pytest.mark.parametrize("kill_at", ["generation", "compilation"])
def test_a_build_killed_then_run_again_installs_a_good_module(checkout, kill_at):
    """Kill `nestml-lab module` while NESTML generates or while C++ compiles; the installed module stays the
    last good one, and the next run finishes the job."""
    import signal
    import time

    so = _so(checkout)
    before, stamp_before = _digest(so), _stamp(checkout)
    src = checkout / "iaf_psc_exp_neuron.nestml"
    original = src.read_text()
    # an equation: a default alone would compile only the neuron's table of defaults (R11), in milliseconds
    factor = 1.1 if kill_at == "generation" else 1.2
    src.write_text(original.replace("/ tau_m +", f"/ (tau_m * {factor}) +"))
    assert src.read_text() != original
    try:   # no compiler cache: the compilation must take its seconds, whatever an earlier run left there
        proc = subprocess.Popen([sys.executable, "-m", "nestml_lab", "module"], cwd=checkout, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                env=dict(os.environ, CCACHE_DISABLE="1"))
        if kill_at == "generation":
            time.sleep(2.0)
        else:   # once generation is done, the compiler runs
            seen = ""
            while "[codegen] done" not in seen and proc.poll() is None:
                seen += proc.stdout.readline()
            time.sleep(3.0)
        assert proc.poll() is None, f"the build ended before it could be killed ({kill_at})"
        os.killpg(proc.pid, signal.SIGKILL)   # the whole group: the worker processes and the compiler too
        proc.wait()
        assert _digest(so) == before and _stamp(checkout) == stamp_before, "the last good module stays"
        assert _loads(checkout)
        again = _run(checkout)
        assert again.returncode == 0, again.stdout + again.stderr
        assert _stamp(checkout)["source_hash"] != stamp_before["source_hash"], "the edited model is installed"
        assert _loads(checkout)
    finally:
        src.write_text(original)
    assert _run(checkout).returncode == 0


def test_every_hostile_manifest_and_model_keeps_the_installed_module(checkout, tmp_path):
    """The corpus of tests/unit/test_hostile_inputs.py, run as `make_module` on a built project."""
    from nestml_lab.codegen.errors import CodegenError
    from nestml_lab.project import make_module

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
    import test_hostile_inputs as corpus

    shutil.copy(paths.MODELS_DIR / "stdp_synapse.nestml", checkout)
    so = _so(checkout)
    before = _digest(so)
    manifest, neuron = checkout / "module.yaml", checkout / "iaf_psc_exp_neuron.nestml"
    good_manifest, good_neuron = manifest.read_text(), neuron.read_bytes()
    tried = 0
    try:
        for what, text, expected in corpus.MANIFESTS:
            manifest.write_text(text)
            with pytest.raises(CodegenError, match=re.escape(expected)):
                make_module(checkout, log=lambda line: None)
            assert _digest(so) == before, what
            tried += 1
        manifest.write_text(good_manifest)
        for what, content, expected in corpus.MODELS:
            neuron.write_bytes(content if isinstance(content, bytes) else content.encode())
            with pytest.raises(CodegenError, match=re.escape(expected)):
                make_module(checkout, log=lambda line: None)
            assert _digest(so) == before, what
            tried += 1
    finally:
        manifest.write_text(good_manifest)
        neuron.write_bytes(good_neuron)
        (checkout / "stdp_synapse.nestml").unlink()
    assert tried == len(corpus.MANIFESTS) + len(corpus.MODELS)
    assert _loads(checkout)
