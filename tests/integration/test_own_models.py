"""A user's project, outside the checkout, validated as the catalog is: loaded beside the catalog in one kernel,
the STDP window on its synapse against a NEST twin, a tree of its models, name clashes, the example neuron
against NEST's iaf_psc_delta, and an edit -> rebuild -> load in one process running the new code."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import nestml_lab
from nestml_lab import paths
from nestml_lab.experiments import short_term, stdp_window
from nestml_lab.module import ModuleClashError, StaleModuleError
from nestml_lab.project import make_module, new_project

pytestmark = pytest.mark.nest

#: The example synapse of `nestml-lab init` (additive, all-to-all, hard bounds) is NEST's stdp_synapse with
#: mu_plus = mu_minus = 0: dw+ = lambda Wmax K+, dw- = alpha lambda Wmax K-.
TO_STDP_SYNAPSE = {"lambda": "A_plus / Wmax", "alpha": "A_minus / A_plus", "mu_plus": 0.0, "mu_minus": 0.0,
                   "tau_plus": "tau_pre", "tau_minus": "tau_post"}


@pytest.fixture(scope="module", autouse=True)
def _leave_no_module_behind():
    """The modules loaded here (my_models_module, copy_module) are not installed again by a later module's
    reset_kernel(): test_projects.py, in the same slow session, builds a my_models_module of its own."""
    yield
    from nestml_lab import module as modules

    for name in ("my_models_module", "copy_module", "edited_module"):
        modules._INSTALLED.pop(name, None)


@pytest.fixture(scope="module")
def own_project(built_module, tmp_path_factory):
    """`nestml-lab init` + build, in a folder of its own (not the checkout)."""
    folder = tmp_path_factory.mktemp("newcomer") / "my_models"
    new_project(folder)
    # and a short-term synapse of their own (the catalog's Tsodyks-Markram model under another name)
    text = (paths.MODELS_DIR / "tsodyks_synapse.nestml").read_text()
    (folder / "my_tm_synapse.nestml").write_text(text.replace("model tsodyks_synapse:", "model my_tm_synapse:"))
    manifest = folder / "module.yaml"
    manifest.write_text(manifest.read_text().replace(
        "synapses:\n", "synapses:\n  my_tm_synapse: {weight_variable: w}\n"))
    make_module(folder, log=lambda line: None)
    return folder


def test_init_gives_the_project_its_own_suffix(own_project):
    text = (own_project / "module.yaml").read_text()
    assert "suffix: _my_models" in text and "module: my_models_module" in text


def test_stdp_window_on_the_users_synapse_equals_its_nest_twin(own_project, nest_kernel):
    nest = nest_kernel
    mine = nestml_lab.load(own_project)
    cat = nestml_lab.catalog.module()
    p = stdp_window.StdpWindowParams(project=mine, synapse="additive_stdp_synapse", neuron="lif_delta_neuron",
                                     w0=5.0, n_dt=41, n_pairings=20, reference="nest:stdp_synapse",
                                     reference_map=TO_STDP_SYNAPSE)
    assert p.project == str(own_project)   # a Module is stored as its folder (parameters stay plain data)
    result = stdp_window.run(p)
    assert result.models["synapse"].endswith("_my_models")
    assert np.ptp(result.dw) > 0.1, "the window is flat: nothing was tested"
    assert result.twin is not None and result.twin.params.synapse == "nest:stdp_synapse"
    assert result.twin_gap() <= 1e-9
    np.testing.assert_allclose(result.dw, result.dw_reference, rtol=0, atol=1e-9)
    assert not result.notes
    # running the experiment from Python left both modules installed
    assert mine.pair("lif_delta_neuron", "additive_stdp_synapse")[0] in nest.node_models
    assert cat.neuron("iaf_psc_exp_neuron") in nest.node_models


def test_a_wrong_mapping_is_seen_by_the_twin(own_project, nest_kernel):
    wrong = dict(TO_STDP_SYNAPSE, alpha="A_minus / A_plus * 2")
    p = stdp_window.StdpWindowParams(project=str(own_project), synapse="additive_stdp_synapse",
                                     neuron="lif_delta_neuron", w0=5.0, dt_values=(-10.0, 10.0), n_pairings=20,
                                     reference="nest:stdp_synapse", reference_map=wrong)
    assert stdp_window.run(p).twin_gap() > 1e-3


def test_no_reference_is_said_plainly(own_project, nest_kernel):
    p = stdp_window.StdpWindowParams(project=str(own_project), synapse="additive_stdp_synapse",
                                     neuron="lif_delta_neuron", w0=5.0, dt_values=(-10.0, 10.0), n_pairings=5)
    result = stdp_window.run(p)
    assert result.twin is None and result.dw_reference is None
    assert any("no reference" in line for line in stdp_window.summary(result))


def test_unknown_names_and_mapping_errors_say_what_exists(own_project, nest_kernel):
    with pytest.raises(KeyError, match="additive_stdp_synapse"):
        stdp_window.run(stdp_window.StdpWindowParams(project=str(own_project), synapse="stdp_synapse",
                                                     neuron="lif_delta_neuron"))
    bad = stdp_window.StdpWindowParams(project=str(own_project), synapse="additive_stdp_synapse",
                                       neuron="lif_delta_neuron", dt_values=(10.0,), n_pairings=2,
                                       reference="nest:stdp_synapse", reference_map={"lambda": "A_pluss / Wmax"})
    with pytest.raises(KeyError, match="no parameter 'A_pluss'.*A_plus"):
        stdp_window.run(bad)


def test_short_term_runs_on_a_project_synapse(own_project, nest_kernel):
    """A project's synapse gets the Tsodyks-Markram reference only when asked; a plastic synapse that needs a
    neuron partner is refused with the pair to use."""
    p = dict(project=str(own_project), synapse="my_tm_synapse", rates_hz=(20.0,), n_spikes=5)
    plain = short_term.run(short_term.ShortTermParams(**p))
    assert not plain.has_reference and any("no reference" in line for line in short_term.summary(plain))
    checked = short_term.run(short_term.ShortTermParams(**p, reference=True))
    assert checked.model == "my_tm_synapse_my_models"
    for key, amplitudes in checked.amplitudes.items():
        np.testing.assert_allclose(amplitudes, checked.reference[key], rtol=1e-9)
    with pytest.raises(KeyError, match="exists only co-generated.*lif_delta_neuron \\+ additive_stdp_synapse"):
        short_term.run(short_term.ShortTermParams(project=str(own_project), synapse="additive_stdp_synapse"))


def test_a_tree_uses_the_users_models_beside_the_catalogs(own_project, nest_kernel, tmp_path):
    from nestml_lab import networks

    tree_file = tmp_path / "mine.yml"
    tree_file.write_text(f"""
modules: [{own_project}]
kernel: {{resolution_ms: 0.1, seed: 3}}
network:
  neuron_models:
    mine: {{params: {{nestml: lif_delta_neuron, partner: additive_stdp_synapse}}, nest_params: {{I_e: 400.0}}}}
    theirs: {{params: {{catalog: iaf_psc_exp_neuron}}, nest_params: {{I_e: 600.0}}}}
  synapse_models:
    plastic: {{params: {{nestml: additive_stdp_synapse, partner: lif_delta_neuron}}, nest_params: {{weight: 5.0}}}}
  populations:
    pre: {{model: theirs, n: 5}}
    post: {{model: mine, n: 5}}
  connections:
    - {{source: pre, target: post, synapse: plastic, rule: {{rule: one_to_one}}}}
  recorders:
    - {{name: spikes, populations: [pre, post]}}
    - {{name: w, weights: {{source: pre, synapse: plastic}}}}
sessions:
  run: {{simulation_time_ms: 500}}
""")
    data = networks.simulate(networks.read(tree_file))
    senders, _ = data.spikes["run"]["spikes"]
    assert np.isin(data.ids("post"), senders).all() and np.isin(data.ids("pre"), senders).all()
    assert not np.allclose(data.weights["run"]["w"][2], 5.0), "the user's STDP synapse did not learn"
    assert data.tree["modules"] == [str(own_project)]
    assert "my_models_module" in data.versions["modules"]
    # a name no module has: the tree path and every module asked
    tree_file.write_text(tree_file.read_text().replace("nestml: lif_delta_neuron", "nestml: lif_neuron"))
    with pytest.raises(networks.TreeError, match=r"neuron_models\.mine: no neuron 'lif_neuron'.*my_models_module"):
        networks.simulate(networks.read(tree_file))


@pytest.mark.slow   # half a minute: two projects built
def test_two_projects_with_the_same_model_names_give_a_clear_error(own_project, nest_kernel, tmp_path):
    twin = tmp_path / "copy_of_mine"
    shutil.copytree(own_project, twin, ignore=shutil.ignore_patterns("build"))
    manifest = twin / "module.yaml"
    manifest.write_text(manifest.read_text().replace("module: my_models_module", "module: copy_module"))
    make_module(twin, log=lambda line: None)
    nestml_lab.load(own_project)
    with pytest.raises(ModuleClashError, match=r"beside my_models_module .*lif_delta_neuron_my_models.*suffix"):
        nestml_lab.load(twin)
    # with another suffix both load into one kernel
    manifest.write_text(manifest.read_text().replace("suffix: _my_models", "suffix: _copy"))
    make_module(twin, log=lambda line: None)
    assert nestml_lab.load(twin).neuron("lif_delta_neuron") == "lif_delta_neuron_copy"
    nestml_lab.reset_kernel()   # every module installed again
    assert {"lif_delta_neuron_copy", "lif_delta_neuron_my_models"} <= set(nest_kernel.node_models)


def test_the_example_neuron_fires_as_iaf_psc_delta(own_project, spikes_under_one_input):
    """Same parameters, same Poisson input (strong enough to hit the refractory period): same spike times."""
    mine = nestml_lab.load(own_project)
    t_ours, t_nest = spikes_under_one_input([(mine.neuron("lif_delta_neuron"), {}), ("iaf_psc_delta", {})],
                                            rate_hz=12000.0, weight=2.0, t_sim_ms=2000.0, seed=11)
    assert len(t_nest) > 200 and np.diff(t_nest).min() < 2.5   # input arrives during refractory periods
    np.testing.assert_array_equal(t_ours, t_nest)


def test_edit_rebuild_load_in_one_process_runs_the_new_code(own_project, nest_kernel, tmp_path):
    """NEST keeps a library mapped after ResetKernel: the rebuilt one must not silently run the old code."""
    nest = nest_kernel
    project = tmp_path / "edited"
    shutil.copytree(own_project, project, ignore=shutil.ignore_patterns("build"))
    manifest = project / "module.yaml"
    manifest.write_text(manifest.read_text().replace("my_models", "edited"))
    make_module(project, log=lambda line: None)

    def rate() -> int:
        m = nestml_lab.load(project)
        n = nest.Create(m.neuron("lif_delta_neuron"), params={"I_e": 500.0})
        sr = nest.Create("spike_recorder")
        nest.Connect(n, sr)
        nest.Simulate(1000.0)
        return sr.n_events

    before = rate()
    source = project / "lif_delta_neuron.nestml"
    source.write_text(source.read_text().replace("t_ref ms = 2 ms", "t_ref ms = 20 ms"))
    made = make_module(project, log=lambda line: None)
    # the kernel still has the old models: a clear error, not the old code
    with pytest.raises(StaleModuleError, match="ResetKernel"):
        made.module.install()
    nest.ResetKernel()
    after = rate()
    assert after < before / 2, f"the old library ran: {before} spikes before the edit, {after} after"
    assert nestml_lab.load(project).library().parent.parent.name == "loaded"   # a copy: the old file is mapped


def test_generated_models_refuse_non_finite_values_by_name(own_project, nest_kernel):
    """As NEST's own models do: NaN never, an infinity only where the value was infinite already."""
    nest = nest_kernel
    mine = nestml_lab.load(own_project)
    neuron, synapse = mine.pair("lif_delta_neuron", "additive_stdp_synapse")
    n = nest.Create(neuron, 2)
    for name, value in (("C_m", float("nan")), ("V_m", float("inf")), ("tau_m", float("-inf"))):
        with pytest.raises(nest.NESTError, match=f"{name} must be a finite number"):
            n[0].set({name: value})
    n[0].set({"tau_m": 12.0})
    assert n[0].get("tau_m") == 12.0
    nest.Connect(n[0], n[1], syn_spec={"synapse_model": synapse})
    conn = nest.GetConnections(n[0], n[1])
    for name in ("A_plus", "weight"):
        with pytest.raises(nest.NESTError, match="must be a finite number"):
            conn.set({name: float("nan")})
