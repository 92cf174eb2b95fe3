"""The notebook path: a real Jupyter kernel runs our notebook written as seed 001 is (model strings ->
generate_code_for -> nest.Install -> an STDP window loop -> edit -> regenerate in the same kernel), twice;
the second run generates from the cache. And the notebook calls' contract without a kernel."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from nestml_lab import paths

pytestmark = pytest.mark.nest

NOTEBOOK = paths.REPO_ROOT / "docs" / "notebooks" / "stdp_from_a_notebook.ipynb"
GAPS_AND_COMPARTMENTS = paths.REPO_ROOT / "docs" / "notebooks" / "gap_junctions_and_compartments.ipynb"


def _execute(cache: Path, cwd: Path, notebook: Path = NOTEBOOK) -> tuple[dict, list[str]]:
    import nbclient
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    os.environ["NESTML_LAB_CACHE"] = str(cache)   # the kernel inherits it
    try:
        nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(cwd)}},
                                ).execute()
    finally:
        del os.environ["NESTML_LAB_CACHE"]
    texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    line = next(t for t in texts if t.startswith("RESULT "))
    return json.loads(line[len("RESULT "):]), texts


@pytest.mark.slow   # builds two modules in a Jupyter kernel (about a minute), then runs the notebook again
def test_notebook_generates_installs_edits_and_reruns_from_the_cache(built_module, tmp_path):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    cache, cwd = tmp_path / "cache", tmp_path / "work"
    cwd.mkdir()
    first, texts = _execute(cache, cwd)
    assert not list(cwd.iterdir()), "the notebook calls wrote into the working directory"
    dw, dw_edited = np.array(first["dw"]), np.array(first["dw_edited"])
    # dw / lambda = P - alpha D (all-to-all traces): from alpha = 1 and the edited alpha = 3 follow P and D,
    # which must both be positive somewhere and negative nowhere, if the edited code ran
    depression = (dw - dw_edited) / 2.0
    potentiation = dw + depression
    assert depression.min() > -1e-12 and potentiation.min() > -1e-12
    assert depression.max() > 0.1 and potentiation.max() > 0.1, (dw, dw_edited)
    assert first["modules"][0] != first["modules"][1], "an edited model must be a new module"
    # the upgrade report and NESTML's warnings were shown
    shown = "".join(texts)
    assert "emit_spike(w, d) -> emit_spike(w)" in shown and 'Variable "a" has the same name' in shown

    second, _ = _execute(cache, cwd)
    assert second["modules"] == first["modules"]
    assert max(second["generation_s"]) < 2.0, second["generation_s"]
    assert second["dw"] == first["dw"] and second["dw_edited"] == first["dw_edited"]


def test_generate_code_for_returns_nestmls_names_and_installs_after_reset(built_module, tmp_path, monkeypatch):
    import nest

    from nestml_lab import generate_code_for

    monkeypatch.setenv("NESTML_LAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    neuron = (paths.MODELS_DIR / "iaf_psc_exp_neuron.nestml").read_text()
    module, name = generate_code_for(neuron, logging_level="ERROR")
    assert module.startswith("nestml_") and module.endswith("_module") and name == "iaf_psc_exp_neuron_nestml"
    t0 = time.perf_counter()
    assert generate_code_for(neuron, logging_level="ERROR") == (module, name)   # from the cache
    assert time.perf_counter() - t0 < 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["cache"]
    nest.ResetKernel()
    nest.Install(module)   # no environment variable set by the caller
    nest.ResetKernel()
    nest.Install(module)
    assert name in nest.node_models


def test_notebook_calls_refuse_clearly(built_module, tmp_path, monkeypatch):
    """Wrong options and model text are refused naming the call's arguments and the lines of the text; a refused
    build leaves nothing in the cache."""
    from nestml_lab import generate_code_for, generate_nest_target
    from nestml_lab.codegen.errors import CodegenError

    monkeypatch.setenv("NESTML_LAB_CACHE", str(tmp_path / "cache"))
    neuron = (paths.MODELS_DIR / "iaf_psc_exp_neuron.nestml").read_text()
    with pytest.raises(ValueError, match="numeric_solve.*not understood.*numeric_solver"):
        generate_code_for(neuron, codegen_opts={"numeric_solve": "rk45"})
    with pytest.raises(ValueError, match="suffix='_nestml'"):
        generate_nest_target(str(paths.MODELS_DIR / "iaf_psc_exp_neuron.nestml"))
    broken = neuron.replace("V_m mV = E_L", "V_m mV = E_Lx")
    where = r"(?s)\n  iaf_psc_exp_neuron.nestml:31:\d+: .*E_Lx.*line numbers are those of"
    with pytest.raises(CodegenError, match=where) as err:
        generate_code_for(broken, logging_level="ERROR")
    modules = tmp_path / "cache" / "modules"
    assert str(modules) not in str(err.value)   # the log it names is kept outside the module cache
    # a refusal of the call's options names them, not the manifest the call wrote into the cache
    synapse = (paths.MODELS_DIR / "stdp_synapse.nestml").read_text()
    with pytest.raises(CodegenError, match=r"\[manifest\] the call's options: weight_variable 'ww': stdp_synapse "
                                           r"has no such parameter.*did you mean w\?") as err:
        generate_code_for(neuron, synapse, post_ports=["post_spikes"], logging_level="ERROR",
                          codegen_opts={"numeric_solver": "rk4", "weight_variable": {"stdp_synapse": "ww"}})
    assert "module.yaml" not in str(err.value) and str(modules) not in str(err.value)
    # refused in memory, before a cache folder was named: nothing at all was written for it
    assert not [p for p in modules.iterdir()], "a refused build left a folder in the cache"


@pytest.mark.slow   # builds a gap-junction LIF and a compartmental model in a Jupyter kernel (about a minute)
def test_the_gap_junction_and_compartmental_notebook_runs_in_a_kernel(tmp_path):
    """A user's own LIF with a gap port, twenty coupled all to all: synchrony (Golomb & Rinzel's chi) grows with
    the conductance; a user's two-compartment model: the AMPA input depolarises the dendrite, the soma less."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    cwd = tmp_path / "work"
    cwd.mkdir()
    result, _ = _execute(tmp_path / "cache", cwd, GAPS_AND_COMPARTMENTS)
    chi = result["chi"]
    assert chi[0] < 0.4 < chi[1] < chi[2] and chi[2] > 0.9, chi
    dendrite, soma = result["peaks_mV"]
    assert dendrite > -40.0 and -70.0 < soma < dendrite, result["peaks_mV"]


@pytest.mark.slow   # builds a neuron-synapse pair (about 40 s)
def test_numeric_solver_of_a_notebook_call_goes_to_the_neuron_of_a_pair(tmp_path, monkeypatch):
    """NESTML's numeric_solver in generate_code_for with a plastic synapse: the pair builds, its neuron integrated
    with forward Euler (the synapse is generated with it; it has no solver of its own to refuse)."""
    from nestml_lab import generate_code_for

    monkeypatch.setenv("NESTML_LAB_CACHE", str(tmp_path / "cache"))
    module, neuron, synapse = generate_code_for(
        str(paths.MODELS_DIR / "izhikevich_neuron.nestml"), str(paths.MODELS_DIR / "stdp_synapse.nestml"),
        post_ports=["post_spikes"], logging_level="ERROR",
        codegen_opts={"numeric_solver": "forward-Euler", "weight_variable": {"stdp_synapse": "w"}})
    (code,) = (tmp_path / "cache" / "modules").glob(f"*/build/generated/units/pair-*/{neuron}.cpp")
    assert "// nestml-lab: numeric ODE solver: forward-Euler" in code.read_text()
    assert synapse.startswith("stdp_synapse_nestml__with_izhikevich_neuron_nestml")
