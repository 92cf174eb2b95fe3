"""A malformed model, a C++ compile error and a missing compiler each stop `make module` with a clear
error, and the previously installed module stays in place and loads.

Runs the real command on a two-model project in a temporary folder (about a minute, cached by ccache after).
"""

import hashlib
import os
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
    assert _digest(so) == before and _loads(checkout)


def test_missing_compiler_is_reported_and_keeps_the_module(checkout):
    so = _so(checkout)
    before = _digest(so)
    out = _run(checkout, CXX="/nonexistent/g++")
    assert out.returncode != 0
    assert "[toolchain] no C++ compiler" in out.stderr
    assert _digest(so) == before and _loads(checkout)
