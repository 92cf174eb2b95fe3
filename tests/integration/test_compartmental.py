"""Compartmental models (NESTML's NEST_compartmental target) in the module flow: the catalog's cm_default_neuron
against NEST's cm_default, the refusals before NESTML runs, and NESTML's notebook call."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from nestml_lab import paths
from nestml_lab.codegen import precheck
from nestml_lab.codegen.errors import ManifestError
from nestml_lab.codegen.manifest import load_manifest

CM = "cm_default_neuron"


@pytest.mark.nest
def test_the_catalog_compartmental_model_converges_to_nests_cm_default(built_module):
    """Same morphology, receptors and spikes; the soma fires two action potentials. The difference is the voltage
    scheme's (implicit Euler in NESTML 9's compartmental target, Crank-Nicolson in cm_default): it halves with the
    step in every compartment (first order), the dendrites stay within 15 mV per ms of step, the action potentials
    within two steps. A difference in a channel or a receptor would not shrink with the step."""
    from nestml_lab.experiments import compartmental

    r = compartmental.run(compartmental.CompartmentalParams(resolutions_ms=(0.1, 0.05)))
    coarse, fine = r.max_dv(0.1), r.max_dv(0.05)
    assert coarse[1:].max() < 15.0 * 0.1 and fine[1:].max() < 15.0 * 0.05, (coarse, fine)
    assert coarse.min() > 1e-2, coarse   # they do differ: not one model run twice
    np.testing.assert_allclose(coarse / fine, 2.0, rtol=0.2)
    for dt in (0.1, 0.05):
        assert len(r.spikes[dt]) == len(r.spikes_twin[dt]) == 2, (r.spikes, r.spikes_twin)
        assert np.abs(r.spikes[dt] - r.spikes_twin[dt]).max() <= 2 * dt + 1e-9, (r.spikes, r.spikes_twin)
    assert r.v[0.1][0].max() > 0.0 and r.v[0.1][1].max() > -20.0   # action potentials; the AMPA bursts


def _project(tmp_path, extra: str):
    shutil.copy(paths.MODELS_DIR / f"{CM}.nestml", tmp_path)
    shutil.copy(paths.MODELS_DIR / "stdp_synapse.nestml", tmp_path)
    (tmp_path / "module.yaml").write_text(f"module: cm_module\nsuffix: _c\nneurons: [{CM}]\n"
                                          "synapses:\n  stdp_synapse: {weight_variable: w, post_ports: [post_spikes]}\n"
                                          + extra)
    return load_manifest(tmp_path)


@pytest.mark.parametrize("extra,line,says", [
    (f"gap_junctions:\n  {CM}: {{port: I_gap, variable: v_comp}}\n", 7, "NESTML 9 gives gap junctions to point "
                                                                       "neurons only"),
    (f"solvers:\n  {CM}: rk4\n", 7, "NESTML's compartmental target has no solver to choose"),
    (f"pairs:\n  - neuron: {CM}\n    synapses: [stdp_synapse]\n", 6, "co-generates plastic synapses with point "
                                                                    "neurons only"),
])
def test_what_nestml_9_cannot_do_with_a_compartmental_model_is_refused_before_it_runs(tmp_path, extra, line, says):
    manifest = _project(tmp_path, extra)
    assert manifest.compartmental() == (CM,)
    with pytest.raises(ManifestError, match=f"module.yaml:{line}: ") as err:
        precheck.check_sources(manifest)
    assert says in str(err.value) and f"{CM} is a compartmental model (@mechanism:: at {CM}.nestml:" in str(err.value)


def test_a_comment_naming_a_mechanism_does_not_make_a_model_compartmental(tmp_path):
    text = (paths.MODELS_DIR / "iaf_psc_exp_neuron.nestml").read_text()
    (tmp_path / "iaf_psc_exp_neuron.nestml").write_text("# not @mechanism::channel\n" + text)
    (tmp_path / "module.yaml").write_text("module: p_module\nsuffix: _p\nneurons: [iaf_psc_exp_neuron]\n")
    assert load_manifest(tmp_path).compartmental() == ()


def test_the_compartmental_notebook_call_refuses_a_point_model_by_name(tmp_path):
    from nestml_lab import generate_nest_compartmental_target

    shutil.copy(paths.MODELS_DIR / "iaf_psc_exp_neuron.nestml", tmp_path)
    with pytest.raises(ValueError, match="iaf_psc_exp_neuron.nestml declare.* no @mechanism:: current: a point "
                                         "model; build it with generate_nest_target"):
        generate_nest_compartmental_target(str(tmp_path), suffix="_x")


@pytest.mark.slow
@pytest.mark.nest
def test_nestmls_compartmental_call_builds_a_model_beside_a_point_model(tmp_path, monkeypatch):
    """NESTML's generate_nest_compartmental_target with a model of the user's (a potassium channel and an AMPA
    receptor; no catalog); then generate_nest_target on a folder with it and a point neuron: one module, both."""
    import nest

    from nestml_lab import generate_nest_compartmental_target, generate_nest_target

    monkeypatch.setenv("NESTML_LAB_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "my_cm_neuron.nestml").write_text(_MY_CM)
    generate_nest_compartmental_target(str(folder), module_name="mycm_module", suffix="_my", logging_level="ERROR")
    shutil.copy(paths.MODELS_DIR / "iaf_psc_exp_neuron.nestml", folder)
    generate_nest_target(str(folder), module_name="both_module", suffix="_my", logging_level="ERROR")
    for module in ("mycm_module", "both_module"):
        nest.ResetKernel()
        nest.Install(module)
        cm = nest.Create("my_cm_neuron_my")
        cm.compartments = [{"parent_idx": -1, "params": {"C_m": 1.0, "g_L": 0.1, "e_L": -70.0, "gbar_K": 0.1}}]
        cm.receptors = [{"comp_idx": 0, "receptor_type": "AMPA"}]
        nest.Connect(nest.Create("spike_generator", params={"spike_times": [10.0]}), cm,
                     syn_spec={"weight": 0.1, "delay": 0.5, "receptor_type": 0})
        mm = nest.Create("multimeter", params={"record_from": ["v_comp0"], "interval": 0.1})
        nest.Connect(mm, cm)
        nest.Simulate(40.0)
        v = mm.events["v_comp0"]
        assert v[:100].max() < -69.0 < -60.0 < v.max(), (v[:100].max(), v.max())   # rest, then the EPSP
    assert "iaf_psc_exp_neuron_my" in nest.node_models


_MY_CM = """\
model my_cm_neuron:
    state:
        v_comp real = 0
        n_K real = 0.0003

    parameters:
        gbar_K real = 0.0
        e_K real = -85.0
        e_AMPA real = 0.0
        tau_r_AMPA real = 0.2
        tau_d_AMPA real = 3.0

    internals:
        tp_AMPA real = (tau_r_AMPA * tau_d_AMPA) / (tau_d_AMPA - tau_r_AMPA) * ln(tau_d_AMPA / tau_r_AMPA)
        g_norm_AMPA real = 1. / (-exp(-tp_AMPA / tau_r_AMPA) + exp(-tp_AMPA / tau_d_AMPA))

    equations:
        n_K' = (n_inf_K(v_comp) - n_K) / (tau_n_K(v_comp) * 1 s)
        inline I_K real = gbar_K * n_K * (e_K - v_comp) @mechanism::channel
        kernel g_AMPA = g_norm_AMPA * (-exp(-t / tau_r_AMPA) + exp(-t / tau_d_AMPA))
        inline AMPA real = convolve(g_AMPA, spikes_AMPA) * (e_AMPA - v_comp) @mechanism::receptor

    function n_inf_K(v real) real:
        return 1 / (1 + exp(-(v + 40) / 10))

    function tau_n_K(v real) real:
        return 2.0

    input:
        spikes_AMPA <- spike

    output:
        spike
"""
