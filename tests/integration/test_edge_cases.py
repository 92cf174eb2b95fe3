"""The edge cases NEST's own test suite pins down, for every plastic synapse of the catalog, against the
independent event-driven reference (nestml_lab.references) at 1e-12: simultaneous pre and post (at the
synapse, and in one step), a delay of one resolution step, delays that are not multiples of 1 ms, a spike of
multiplicity 2, a weight bound reached, and two threads.

Each case is a few explicit spike trains: parrot neurons replay the presynaptic ones, and the postsynaptic
neurons are kicked so that they fire at the intended times (checked). The final weight of each connection is
compared with the reference run on the recorded spikes.
"""

from __future__ import annotations

import numpy as np
import pytest

import nestml_lab
from nestml_lab import parallel, references
from nestml_lab.experiments import common

pytestmark = pytest.mark.nest

#: synapse -> (neuron it is co-generated with, w0, synapse parameters, moved neuron parameters). The weights
#: are small, so that what the plastic synapse adds does not move the postsynaptic spikes the kicks make.
SYNAPSES = {
    "stdp_synapse": ("iaf_psc_exp_neuron", 2.0, {}, {}),
    "stdp_nn_symm_synapse": ("iaf_psc_exp_neuron", 2.0, {}, {}),
    "stdp_triplet_synapse": ("iaf_psc_exp_neuron", 2.0, {}, {}),
    "stp_stdp_synapse": ("aeif_cond_exp_neuron", 0.8, {"Apre0": 0.002, "stdp_value": 0.5},
                         {"Apost0": -0.0021}),
}
TOLERANCE = 1e-12


def _run(synapse: str, pairs: list, delay: float, resolution: float = 0.1, threads: int = 1,
         w0: float | None = None, params: dict | None = None):
    """Final weights and recorded spikes of one connection per (pre times, post times) of ``pairs``."""
    import nest

    neuron_name, default_w0, syn_params, moved = SYNAPSES[synapse]
    w0 = default_w0 if w0 is None else w0
    syn_params = {**syn_params, **(params or {})}
    cat = nestml_lab.catalog()
    neuron, syn = cat.pair(neuron_name, synapse)
    neuron_params = {cat.moved_parameter(synapse, k): v for k, v in moved.items()}
    drive, latency = common.calibrate_drive(neuron, resolution, neuron_params)
    nestml_lab.reset_kernel()
    nest.resolution, nest.local_num_threads = resolution, threads
    n = len(pairs)
    pre = nest.Create("parrot_neuron", n)
    post = nest.Create(neuron, n, params=neuron_params)
    for k, (t_pre, t_post) in enumerate(pairs):
        gen_pre = nest.Create("spike_generator", params={"spike_times": np.asarray(t_pre) - resolution})
        gen_post = nest.Create("spike_generator", params={"spike_times": common.on_grid(
            np.asarray(t_post) - latency, resolution)})
        nest.Connect(gen_pre, pre[k], syn_spec={"delay": resolution})
        nest.Connect(gen_post, post[k], syn_spec={"weight": drive, "delay": resolution})
    nest.Connect(pre, post, "one_to_one", syn_spec={"synapse_model": syn, "weight": w0, "delay": delay,
                                                    **syn_params})
    rec_pre, rec_post = nest.Create("spike_recorder"), nest.Create("spike_recorder")
    nest.Connect(pre, rec_pre)
    nest.Connect(post, rec_post)
    t_end = max(max(np.max(a, initial=0), np.max(b, initial=0)) for a, b in pairs) + delay + 20.0
    nest.Simulate(t_end)
    w = common.final_weights(syn, pre)
    got_pre, got_post = common.spikes_by_sender(rec_pre, pre), common.spikes_by_sender(rec_post, post)
    for k, (_t_pre, t_post) in enumerate(pairs):
        assert np.allclose(got_post[k], t_post, atol=resolution / 2), f"pair {k}: post fired at {got_post[k]}"
    rule_params = {**syn_params, **moved}
    expected = np.array([references.RULES[synapse](a, b, delay, w0, rule_params).final
                         for a, b in zip(got_pre, got_post)])
    return w, expected, got_pre, got_post


def _check(w, expected, w0):
    assert np.any(np.abs(w - w0) > 1e-6), "no weight changed: nothing was tested"
    np.testing.assert_allclose(w, expected, rtol=0, atol=TOLERANCE)


#: presynaptic spikes 200 ms apart: a kicked neuron is back at rest by the next (tau_m = 10 ms), so every
#: postsynaptic spike comes exactly when intended; the traces still carry over (tau 20-125 ms)
PRE = [100.0, 300.0, 500.0, 700.0]


@pytest.mark.parametrize("synapse", list(SYNAPSES))
def test_simultaneous_pre_and_post(built_module, synapse):
    """Post at the same step as pre, and post arriving at the synapse (t_post + delay) exactly at a pre spike."""
    delay = 1.0
    pairs = [(PRE, [t for t in PRE]),                       # in one step
             (PRE, [t - delay for t in PRE]),               # simultaneous at the synapse
             (PRE, [t - delay for t in PRE[:2]] + [t + 5.0 for t in PRE[2:]])]
    w, expected, *_ = _run(synapse, pairs, delay)
    _check(w, expected, SYNAPSES[synapse][1])


@pytest.mark.parametrize("synapse", list(SYNAPSES))
@pytest.mark.parametrize("delay", [0.1, 1.5, 2.3])
def test_delay_of_one_step_and_off_the_millisecond(built_module, synapse, delay):
    pairs = [(PRE, [t + dt for t in PRE]) for dt in (-7.3, -0.2, 0.1, 0.3, 4.9)]
    w, expected, *_ = _run(synapse, pairs, delay)
    _check(w, expected, SYNAPSES[synapse][1])


@pytest.mark.parametrize("synapse", list(SYNAPSES))
def test_a_presynaptic_spike_of_multiplicity_two(built_module, synapse):
    """Two presynaptic spikes in one step reach the synapse as one event of multiplicity 2, which acts as two
    spikes in a row (NEST's built-in STDP synapses count it once)."""
    pre = [100.0, 300.0, 300.0, 500.0]
    w, expected, got_pre, _ = _run(synapse, [(pre, [t + 3.0 for t in (100.0, 300.0, 500.0)])], 1.0)
    assert list(got_pre[0]) == pre, "the parrot did not pass the multiplicity on"
    _check(w, expected, SYNAPSES[synapse][1])


@pytest.mark.parametrize("synapse,w0,params", [
    ("stdp_synapse", 2.5, {"Wmax": 3.0, "lambda": 0.5, "mu_plus": 0.0, "mu_minus": 0.0}),
    ("stdp_nn_symm_synapse", 2.5, {"Wmax": 3.0, "lambda": 0.5, "mu_plus": 0.0, "mu_minus": 0.0}),
    ("stdp_triplet_synapse", 2.9, {"Wmax": 3.0, "A2_plus": 0.5, "A3_plus": 0.5}),
])
def test_the_upper_weight_bound_is_reached(built_module, synapse, w0, params):
    pairs = [([100.0 + 200.0 * i for i in range(8)], [105.0 + 200.0 * i for i in range(8)])]
    w, expected, got_pre, got_post = _run(synapse, pairs, 1.0, w0=w0, params=params)
    np.testing.assert_allclose(w, expected, rtol=0, atol=TOLERANCE)
    # the bound held it: the last presynaptic spike takes a little off Wmax = 3, and without the bound the
    # weight would have grown past it
    assert 2.999 < w[0] < 3.0
    unbounded = references.RULES[synapse](got_pre[0], got_post[0], 1.0, w0, {**params, "Wmax": 1e9}).final
    assert unbounded > 3.5


@pytest.mark.parametrize("synapse", list(SYNAPSES))
def test_two_threads_give_the_one_threads_weights(built_module, synapse):
    pairs = [(PRE, [t + dt for t in PRE]) for dt in (-10.0, -3.0, 2.0, 8.0, 15.0, -1.0)]
    one, expected, *_ = _run(synapse, pairs, 1.5)
    two, *_ = _run(synapse, pairs, 1.5, threads=2)
    _check(one, expected, SYNAPSES[synapse][1])
    np.testing.assert_array_equal(one, two)
    assert parallel.num_processes() == 1
