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
    subthreshold neuron settles where its current holds it; coupled to a firing one it follows that one's
    sawtooth, the more the larger the coupling, and drains it.
    """
    import nest

    from nestml_lab import generate_code_for

    monkeypatch.setenv("NESTML_LAB_CACHE", str(tmp_path / "cache"))
    module, neuron = generate_code_for(_lif_gap_text(), logging_level="ERROR", codegen_opts={
        "gap_junctions": {"enable": True, "gap_current_port": "I_gap", "membrane_potential_variable": "V_m"}})
    peaks, swings, rates = [], [], []
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
        v = mm.events["V_m"][mm.events["times"] > 100.0]
        peaks.append(v.max())
        swings.append(np.ptp(v))
        rates.append(sr.n_events)
    assert peaks[0] == pytest.approx(-70.0 + 300.0 * 10.0 / 250.0, abs=0.01)   # E_L + I_e tau_m / C_m
    assert swings[0] < 0.01 < swings[1] < swings[2], swings   # settled alone; the sawtooth passed on
    assert rates[0] > rates[2], rates    # the coupled neuron drains the driven one
    assert np.isfinite(peaks).all()


@pytest.mark.nest
def test_the_catalog_gap_neuron_is_nests_hh_psc_alpha_gap_on_nests_two_neuron_example(built_module):
    """NEST's gap_junctions_two_neurons.py for the catalog's twin and NEST's own: the same spikes, V_m within
    0.01 mV. Both integrate with GSL's RKF45 under the same tolerance (absolute 1e-6), each with its own step-size
    history; the traces differ most (0.003 mV) in the upstroke of a spike, where V_m moves 100 mV in 0.5 ms, as they
    do uncoupled. Before the gap-junction patches they spiked up to 1.4 ms apart (NEST never iterated the NESTML
    neuron). Then the synchrony sweep: two neurons at different rates lock as the conductance grows."""
    from nestml_lab.experiments import gap_junctions

    r = gap_junctions.run(gap_junctions.GapJunctionsParams(couplings_ns=(0.0, 0.5, 4.0), t_sim_ms=1300.0))
    assert r.same_spikes, (r.spikes, r.spikes_twin)
    assert [len(s) for s in r.spikes] == [6, 6]
    assert r.max_dv < 0.01
    assert r.locking[0] < 0.2 < 0.95 < r.locking[-1], r.locking
    assert r.rates_hz[0, 0] != r.rates_hz[0, 1] and r.rates_hz[-1, 0] == r.rates_hz[-1, 1], r.rates_hz


@pytest.mark.nest
def test_gap_neurons_with_chemical_synapses_spike_as_nests_own(nest_kernel):
    """Spikes arriving at gap-coupled neurons are read (not consumed) by the waveform-relaxation iterations, and
    the iterations send none; a current generator's input is read once per step: four coupled neurons under
    Poisson input of either sign, a synapse between two of them and a current step into two spike exactly as
    NEST's hh_psc_alpha_gap do."""
    from nestml_lab import neuron_model, reset_kernel

    def run(model):
        reset_kernel()
        nest_kernel.resolution = 0.05
        nest_kernel.rng_seed = 7
        n = nest_kernel.Create(model, 4, params={"I_e": 100.0})
        if "gsl_rel_error_tol" in n[0].get():
            n.gsl_rel_error_tol = 0.0
        parrots = nest_kernel.Create("parrot_neuron", 2)
        nest_kernel.Connect(nest_kernel.Create("poisson_generator", params={"rate": 800.0}), parrots)
        nest_kernel.Connect(parrots[0], n[:2], syn_spec={"weight": 150.0, "delay": 1.0})
        nest_kernel.Connect(parrots[1], n[2:], syn_spec={"weight": -40.0, "delay": 1.5})
        nest_kernel.Connect(n[0], n[3], syn_spec={"weight": 100.0, "delay": 1.0})
        step = nest_kernel.Create("step_current_generator", params={"amplitude_times": [200.0, 350.0],
                                                                    "amplitude_values": [80.0, 0.0]})
        nest_kernel.Connect(step, n[2:])   # a current through the continuous port beside the gap port
        nest_kernel.Connect(n, n, {"rule": "all_to_all", "allow_autapses": False},
                            {"synapse_model": "gap_junction", "weight": 0.5})
        sr = nest_kernel.Create("spike_recorder")
        nest_kernel.Connect(n, sr)
        nest_kernel.Simulate(500.0)
        return [sr.events["times"][sr.events["senders"] == i] for i in n.tolist()]

    ours, nests = run(neuron_model("hh_psc_alpha_gap_neuron")), run("hh_psc_alpha_gap")
    assert sum(len(s) for s in ours) >= 20 and len(nests[2]) > 0 and len(nests[3]) > 0   # the step made 2, 3 fire
    for a, b in zip(ours, nests):
        np.testing.assert_array_equal(a, b)
