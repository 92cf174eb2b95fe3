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
from edge_cases import PRE, SYNAPSES, TOLERANCE, cases, later_stdp_weights
from edge_cases import check as _check
from edge_cases import run_case as _run

from nestml_lab import parallel, references

pytestmark = pytest.mark.nest

@pytest.mark.parametrize("synapse", list(SYNAPSES))
def test_simultaneous_pre_and_post(built_module, synapse):
    """Post at the same step as pre, and post arriving at the synapse (t_post + delay) exactly at a pre spike."""
    w, expected, *_ = _run(synapse, *cases(synapse)["simultaneous"])
    _check(w, expected, SYNAPSES[synapse][1])


@pytest.mark.parametrize("synapse", list(SYNAPSES))
@pytest.mark.parametrize("delay", [0.1, 1.5, 2.3])
def test_delay_of_one_step_and_off_the_millisecond(built_module, synapse, delay):
    w, expected, *_ = _run(synapse, *cases(synapse)[f"delay {delay:g}"])
    _check(w, expected, SYNAPSES[synapse][1])


@pytest.mark.parametrize("synapse", list(SYNAPSES))
def test_a_presynaptic_spike_of_multiplicity_two(built_module, synapse):
    """Two presynaptic spikes in one step reach the synapse as one event of multiplicity 2, which acts as two
    spikes in a row (NEST's built-in STDP synapses count it once)."""
    pairs, delay = cases(synapse)["multiplicity 2"]
    w, expected, got_pre, _ = _run(synapse, pairs, delay)
    assert list(got_pre[0]) == pairs[0][0], "the parrot did not pass the multiplicity on"
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


@pytest.mark.parametrize("synapse,params", [
    ("stdp_synapse", {"Wmax": 3.0, "lambda": 0.5, "alpha": 1.0, "mu_plus": 0.0, "mu_minus": 0.0}),
    ("stdp_nn_symm_synapse", {"Wmax": 3.0, "lambda": 0.5, "alpha": 1.0, "mu_plus": 0.0, "mu_minus": 0.0}),
    ("stdp_triplet_synapse", {"A2_minus": 0.5, "A3_minus": 0.0}),
])
def test_the_lower_weight_bound_is_reached(built_module, synapse, params):
    """Post 5 ms before pre, additive depression far larger than the weight: it stops at 0."""
    pairs = [([100.0 + 200.0 * i for i in range(4)], [95.0 + 200.0 * i for i in range(4)])]
    w, expected, got_pre, got_post = _run(synapse, pairs, 1.0, w0=0.3, params=params)
    np.testing.assert_allclose(w, expected, rtol=0, atol=TOLERANCE)
    assert w[0] == 0.0
    # the bound held it: from 3.0 the same spikes take off more than 0.3 (additive depression: the same amount)
    assert references.RULES[synapse](got_pre[0], got_post[0], 1.0, 3.0, params).final < 3.0 - 0.3


@pytest.mark.parametrize("synapse", list(SYNAPSES))
def test_two_threads_give_the_one_threads_weights(built_module, synapse):
    pairs = [(PRE, [t + dt for t in PRE]) for dt in (-10.0, -3.0, 2.0, 8.0, 15.0, -1.0)]
    one, expected, *_ = _run(synapse, pairs, 1.5)
    two, *_ = _run(synapse, pairs, 1.5, threads=2)
    _check(one, expected, SYNAPSES[synapse][1])
    np.testing.assert_array_equal(one, two)
    assert parallel.num_processes() == 1


def test_a_plastic_synapse_connected_later_reads_no_post_spikes_from_before_it(nest_kernel):
    """NEST's static synapse does not register with its target for a spike history; NESTML's did, so that a
    plastic synapse connected later read (and was potentiated by) the post spikes since t = 0. The catalog's
    static and Tsodyks synapses do as NEST's (rewrite R7): the same weights."""
    import nestml_lab

    nest = nest_kernel
    w = later_stdp_weights(nest, [nestml_lab.synapse_model("static_synapse"),
                                  nestml_lab.synapse_model("tsodyks_synapse"), "static_synapse"])
    assert w[0] != 10.0   # the rule did act
    assert w[0] == w[1] == w[2], w
