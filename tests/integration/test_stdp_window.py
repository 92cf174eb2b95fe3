"""The one-simulation STDP window equals the seed notebook's one-simulation-per-dt loop."""

import numpy as np
import pytest

from nestml_lab.experiments.stdp_window import StdpWindowParams, run

pytestmark = pytest.mark.nest


@pytest.mark.parametrize("synapse,neuron", [("stdp_synapse", "iaf_psc_exp_neuron"),
                                            ("nest:stdp_synapse", "nest:iaf_psc_exp")])
def test_one_simulation_equals_per_dt_loop(built_module, synapse, neuron):
    p = StdpWindowParams(synapse=synapse, neuron=neuron, n_dt=9, n_pairings=5, frequency_hz=2.0,
                         dt_min_ms=-40.0, dt_max_ms=40.0, delay_ms=1.5)
    together = run(p)
    apart = run(StdpWindowParams(**{**p.__dict__, "one_simulation": False}))
    np.testing.assert_allclose(together.dt_ms, p.dts(), atol=1e-9)
    np.testing.assert_array_equal(together.dt_ms, apart.dt_ms)
    np.testing.assert_allclose(together.dw, apart.dw, rtol=0, atol=1e-12)
    assert (together.dw[p.dts() > 0] > 0).all() and (together.dw[p.dts() < 0] < 0).all()


def test_unknown_synapse_lists_the_catalog(built_module):
    with pytest.raises(KeyError, match="stdp_synapse"):
        run(StdpWindowParams(synapse="no_such_synapse"))


def test_moved_parameter_error_names_the_neuron_parameter(built_module):
    params = StdpWindowParams(n_dt=3, n_pairings=1, synapse_params={"tau_tr_post": 30.0})
    with pytest.raises(KeyError, match="tau_tr_post__for_stdp_synapse_nestml"):
        run(params)


def test_reference_follows_a_moved_parameter_set_on_the_neuron(built_module):
    params = StdpWindowParams(n_dt=11, n_pairings=5, frequency_hz=4.0,
                              neuron_params={"tau_tr_post__for_stdp_synapse_nestml": 40.0})
    r = run(params)
    np.testing.assert_allclose(r.dw, r.dw_reference, rtol=0, atol=1e-9)


def test_reference_curve_on_the_protocol_schedule_equals_the_reference_on_recorded_spikes(built_module, tmp_path):
    """The figure's fine-grid reference is the rule on the protocol's own spike schedule: at the simulated dt
    it equals the reference on the recorded spikes, and the figure is written."""
    from nestml_lab.experiments.stdp_window import plot, reference_curve, weight_unit

    p = StdpWindowParams(n_dt=9, n_pairings=5, frequency_hz=2.0, dt_min_ms=-40.0, dt_max_ms=40.0, nest_twin=False)
    r = run(p)
    assert r.twin is None
    np.testing.assert_allclose(reference_curve(p, r.dt_ms), r.dw_reference, rtol=0, atol=1e-12)
    assert weight_unit("iaf_psc_exp_neuron") == "pA" and weight_unit("aeif_cond_exp_neuron") == "nS"
    assert plot(r, tmp_path).stat().st_size > 10_000


@pytest.mark.parametrize("synapse,synapse_params,neuron_params", [
    ("stdp_synapse", {"lambda": 0.02, "mu_minus": 0.5}, {"tau_tr_post__for_stdp_synapse_nestml": 30.0}),
    ("stdp_triplet_synapse", {"A2_plus": 0.004}, {"tau_y__for_stdp_triplet_synapse_nestml": 90.0}),
])
def test_nest_twin_translates_every_parameter(built_module, tmp_path, synapse, synapse_params, neuron_params):
    """The figure's overlay: NEST's built-in, with the catalog synapse's (non-default) parameters translated,
    gives the same window."""
    from nestml_lab.experiments.stdp_window import nest_twin, plot

    p = StdpWindowParams(synapse=synapse, n_dt=11, n_pairings=10, frequency_hz=4.0, dt_min_ms=-50.0,
                         dt_max_ms=50.0, synapse_params=synapse_params, neuron_params=neuron_params)
    twin = nest_twin(p)
    assert twin.synapse == f"nest:{synapse}" and twin.neuron == "nest:iaf_psc_exp" and not twin.nest_twin
    ours = run(p)   # runs the twin too (nest_twin is on by default)
    assert ours.twin is not None and ours.twin.params == twin
    assert np.ptp(ours.dw) > 0.01
    np.testing.assert_allclose(ours.twin.dw, ours.dw, rtol=0, atol=1e-9)
    assert ours.twin_gap() < 1e-9
    assert plot(ours, tmp_path).is_file()
    assert nest_twin(StdpWindowParams(synapse="tsodyks_synapse")) is None
    assert nest_twin(StdpWindowParams(neuron="izhikevich_neuron")) is None
