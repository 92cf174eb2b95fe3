"""Gap junctions (NESTML's ``gap_junctions`` option): the manifest entry and its check, the notebook call with
NESTML's option, and NEST's ``gap_junction`` synapse coupling two of the catalog's LIFs with a gap port."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from nestml_lab import paths
from nestml_lab.codegen import precheck
from nestml_lab.codegen.errors import ManifestError
from nestml_lab.codegen.manifest import load_manifest


def _lif_gap_text() -> str:
    """The catalog's iaf_psc_exp_neuron with a gap-current port in its membrane equation."""
    text = (paths.MODELS_DIR / "iaf_psc_exp_neuron.nestml").read_text()
    new = text.replace("model iaf_psc_exp_neuron:", "model lif_gap_neuron:").replace(
        "(I_syn_ex - I_syn_in + I_e + I_stim) / C_m\n", "(I_syn_ex - I_syn_in + I_e + I_stim + I_gap) / C_m\n").replace(
        "        I_stim pA <- continuous\n", "        I_stim pA <- continuous\n        I_gap pA <- continuous\n")
    assert new.count("I_gap") >= 2
    return new


@pytest.mark.parametrize("entry,says", [
    ("{port: I_gap, variable: V_m}", "iaf_psc_exp_neuron has no continuous input port 'I_gap' for the gap current; "
                                     "its continuous ports: I_stim"),
    ("{port: I_stim, variable: V_mm}", "has no state variable 'V_mm' for the membrane potential"),
    ("{port: I_stim}", "gap_junctions: 'iaf_psc_exp_neuron': variable must be a name"),
])
def test_a_gap_junction_entry_is_checked_against_the_model_with_its_line(tmp_path, entry, says):
    shutil.copy(paths.MODELS_DIR / "iaf_psc_exp_neuron.nestml", tmp_path)
    (tmp_path / "module.yaml").write_text("module: g_module\nsuffix: _g\nneurons: [iaf_psc_exp_neuron]\n"
                                          f"gap_junctions:\n  iaf_psc_exp_neuron: {entry}\n")
    with pytest.raises(ManifestError, match="module.yaml:5: ") as err:
        precheck.check_sources(load_manifest(tmp_path))
    assert says in str(err.value)


@pytest.mark.slow
@pytest.mark.nest
def test_gap_junctions_from_the_notebook_call_couple_two_neurons(tmp_path, monkeypatch):
    """NESTML's option as NESTML spells it; NEST's gap_junction connects the neurons (waveform relaxation). A
    driven neuron pulls a subthreshold one up, the more the larger the coupling; uncoupled, it stays at rest.
    """
    import nest

    from nestml_lab import generate_code_for

    monkeypatch.setenv("NESTML_LAB_CACHE", str(tmp_path / "cache"))
    module, neuron = generate_code_for(_lif_gap_text(), logging_level="ERROR", codegen_opts={
        "gap_junctions": {"enable": True, "gap_current_port": "I_gap", "membrane_potential_variable": "V_m"}})
    peaks, rates = [], []
    for g in (0.0, 5.0, 20.0):
        nest.ResetKernel()
        nest.Install(module)
        nest.resolution = 0.05
        nest.SetKernelStatus({"use_wfr": True, "wfr_comm_interval": 1.0, "wfr_tol": 1e-4,
                              "wfr_interpolation_order": 3})
        a = nest.Create(neuron, params={"I_e": 450.0})   # fires
        b = nest.Create(neuron, params={"I_e": 300.0})   # settles 12 mV above rest, below threshold
        if g:
            nest.Connect(a, b, {"rule": "one_to_one", "make_symmetric": True},
                         {"synapse_model": "gap_junction", "weight": g})
        mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 0.1})
        nest.Connect(mm, b)
        sr = nest.Create("spike_recorder")
        nest.Connect(a, sr)
        nest.Simulate(500.0)
        peaks.append(mm.events["V_m"][mm.events["times"] > 100.0].max())
        rates.append(sr.n_events)
    assert peaks[0] == pytest.approx(-70.0 + 300.0 * 10.0 / 250.0, abs=0.01)   # E_L + I_e tau_m / C_m
    assert peaks[0] < peaks[1] < peaks[2], peaks
    assert rates[0] > rates[2], rates    # the coupled neuron drains the driven one
    assert np.isfinite(peaks).all()
