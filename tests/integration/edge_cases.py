"""The edge cases of tests/integration/test_edge_cases.py as functions, for pytest and for the MPI run
(tests/mpi/edge_cases_mpi.py runs them under mpirun, where pytest is not installed)."""

from __future__ import annotations

import numpy as np

import nestml_lab
from nestml_lab import references
from nestml_lab.experiments.shared import common

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


def run_case(synapse: str, pairs: list, delay: float, resolution: float = 0.1, threads: int = 1,
         w0: float | None = None, params: dict | None = None):
    """Final weights and recorded spikes of one connection per (pre times, post times) of ``pairs``."""
    import nest

    neuron_name, default_w0, syn_params, moved = SYNAPSES[synapse]
    w0 = default_w0 if w0 is None else w0
    syn_params = {**syn_params, **(params or {})}
    cat = nestml_lab.catalog.module()
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


def check(w, expected, w0):
    assert np.any(np.abs(w - w0) > 1e-6), "no weight changed: nothing was tested"
    np.testing.assert_allclose(w, expected, rtol=0, atol=TOLERANCE)


#: presynaptic spikes 200 ms apart: a kicked neuron is back at rest by the next (tau_m = 10 ms), so every
#: postsynaptic spike comes exactly when intended; the traces still carry over (tau 20-125 ms)
PRE = [100.0, 300.0, 500.0, 700.0]




def cases(synapse: str) -> dict:
    """Named edge cases of one synapse: ``{name: (pairs, delay)}`` (those that need no special parameters)."""
    delay = 1.0
    return {
        # post in the same step as pre; arriving at the synapse (t_post + delay) exactly at a pre spike
        "simultaneous": ([(PRE, list(PRE)), (PRE, [t - delay for t in PRE]),
                          (PRE, [t - delay for t in PRE[:2]] + [t + 5.0 for t in PRE[2:]])], delay),
        **{f"delay {d:g}": ([(PRE, [t + dt for t in PRE]) for dt in (-7.3, -0.2, 0.1, 0.3, 4.9)], d)
           for d in (0.1, 1.5, 2.3)},
        "multiplicity 2": ([([100.0, 300.0, 300.0, 500.0], [t + 3.0 for t in (100.0, 300.0, 500.0)])], delay),
    }


def later_stdp_weights(nest, static_models: list) -> list:
    """One NEST iaf_psc_exp per static synapse model, firing every ~9 ms from t = 0, each with one input through
    that model; at 100 ms a presynaptic spike train starts reaching each neuron through a NEST stdp_synapse
    connected only then. The stdp weights after 200 ms: they depend on the post spikes the neuron kept for
    its registered inputs (a static synapse that registered makes it keep all of them from t = 0)."""
    targets = nest.Create("iaf_psc_exp", len(static_models), params={"I_e": 600.0})
    source = nest.Create("parrot_neuron")
    for target, model in zip(targets, static_models):
        nest.Connect(source, target, syn_spec={"synapse_model": model, "weight": 1.0})
    nest.Simulate(100.0)
    pre = nest.Create("spike_generator", params={"spike_times": [101.0, 120.0, 155.0]})
    parrot = nest.Create("parrot_neuron")
    nest.Connect(pre, parrot)
    nest.Connect(parrot, targets, syn_spec={"synapse_model": "stdp_synapse", "weight": 10.0, "delay": 1.0})
    nest.Simulate(100.0)
    return nest.GetConnections(source=parrot).get("weight")

