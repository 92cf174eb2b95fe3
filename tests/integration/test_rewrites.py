"""The speed rewrites (codegen/edits) change no result: every catalog model, rewritten and not, side by side.

The unrewritten catalog is a second module (``nestml_lab.unrewritten``, suffix
``_nestmlraw``) loaded into the same kernel, so both versions of a model get
the very same input events in one simulation.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from edge_cases import later_stdp_weights

import nestml_lab
from nestml_lab import paths, unrewritten
from nestml_lab.catalog import manifest

pytestmark = [pytest.mark.nest, pytest.mark.slow]   # builds the unrewritten catalog (about 2 min cold)

# Drive per neuron (I_e, pA) and input weight per input spike (pA, nS or mV, by model family).
DRIVE = {name: (d["drive_pA"], d["spike_weight"])
         for name, d in yaml.safe_load((paths.MODELS_DIR / "test_drive.yaml").read_text()).items()}
# Synapse parameters that keep each plastic rule away from its bounds, so the rule is what is compared.
SYNAPSE_PARAMS = {"stp_stdp_synapse": {"Apre0": 0.002, "stdp_value": 0.5}, "stdp_triplet_synapse": {"Wmax": 1000.0},
                  "tsodyks_synapse": {}, "static_synapse": {}}
T_SIM = 1000.0


@pytest.fixture(scope="module")
def both_modules(built_module):
    unrewritten.build()
    return built_module, unrewritten.MODULE


@pytest.fixture
def kernel(nest_kernel, both_modules):
    unrewritten.install()
    nest_kernel.resolution = 0.1
    return nest_kernel


def _cases():
    m = manifest()
    out = [(n, None) for n in m.neurons if n in DRIVE]   # point neurons (a compartmental model is not rewritten)
    out += [(p.neuron, s) for p in m.pairs for s in p.synapses]
    out += [("iaf_psc_exp_neuron", s.name) for s in m.synapses.values() if not s.needs_partner]
    return out


def _names(neuron: str, synapse: str | None) -> tuple[tuple[str, str | None], tuple[str, str | None]]:
    m = manifest()
    if synapse is None:
        return (nestml_lab.neuron_model(neuron), None), (unrewritten.plain(neuron), None)
    if not m.synapses[synapse].needs_partner:
        return ((nestml_lab.neuron_model(neuron), nestml_lab.synapse_model(synapse)),
                (unrewritten.plain(neuron), unrewritten.plain(synapse)))
    return nestml_lab.pair_models(neuron, synapse), unrewritten.pair_models(neuron, synapse)


def _build(nest, neuron_model, synapse_model, inputs, drive, weight, synapse):
    """One target neuron with excitatory, inhibitory, current and (optionally) plastic input."""
    exc, inh, current, pre = inputs
    n = nest.Create(neuron_model, params={"I_e": drive})
    nest.Connect(exc, n, syn_spec={"weight": weight, "delay": 1.0})
    nest.Connect(inh, n, syn_spec={"weight": -weight, "delay": 1.5})
    nest.Connect(current, n, syn_spec={"delay": 1.0})
    if synapse_model:
        if synapse and manifest().synapses[synapse].vt_ports:   # third factor: the presynaptic spikes, via a
            vt = nest.Create("volume_transmitter")               # volume transmitter
            nest.Connect(pre, vt)
            nest.SetDefaults(synapse_model, {"volume_transmitter": vt})
        nest.Connect(pre, n, "all_to_all", {"synapse_model": synapse_model, "weight": weight, "delay": 1.0,
                                            **SYNAPSE_PARAMS.get(synapse, {})})
    mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 0.1})
    sr = nest.Create("spike_recorder")
    nest.Connect(mm, n)
    nest.Connect(n, sr)
    return n, mm, sr


@pytest.mark.parametrize("neuron,synapse", _cases(), ids=lambda x: x or "alone")
def test_rewritten_model_equals_nestml_code_step_for_step(kernel, neuron, synapse):
    nest = kernel
    rng = np.random.default_rng(7)
    times = lambda rate: np.unique(np.round(np.sort(rng.uniform(1.0, T_SIM - 10, int(rate * T_SIM / 1000))), 1))
    exc = nest.Create("spike_generator", params={"spike_times": times(400.0)})
    inh = nest.Create("spike_generator", params={"spike_times": times(200.0)})
    current = nest.Create("step_current_generator", params={"amplitude_times": [100.0, 400.0, 700.0],
                                                           "amplitude_values": [DRIVE[neuron][0] * 0.3, 0.0,
                                                                                -DRIVE[neuron][0] * 0.2]})
    pre_gen = nest.Create("spike_generator", 20)
    for g in pre_gen:
        g.spike_times = times(20.0)
    pre = nest.Create("parrot_neuron", 20)
    nest.Connect(pre_gen, pre, "one_to_one")
    drive, weight = DRIVE[neuron]
    (rw_n, rw_s), (raw_n, raw_s) = _names(neuron, synapse)
    rw = _build(nest, rw_n, rw_s, (exc, inh, current, pre), drive, weight, synapse)
    raw = _build(nest, raw_n, raw_s, (exc, inh, current, pre), drive, weight, synapse)
    nest.Simulate(T_SIM)

    spikes = [sr.events["times"] for _, _, sr in (rw, raw)]
    assert len(spikes[0]) >= 5, f"{rw_n} fired {len(spikes[0])} times: too little to compare"
    np.testing.assert_array_equal(spikes[0], spikes[1])
    v = [mm.events["V_m"] for _, mm, _ in (rw, raw)]
    assert len(v[0]) > 9000
    np.testing.assert_array_equal(v[0], v[1])   # bit for bit
    if synapse:
        w = [np.asarray(nest.GetConnections(target=n, synapse_model=s).get("weight"), dtype=float)
             for (n, _, _), s in ((rw, rw_s), (raw, raw_s))]
        assert len(w[0]) == 20
        if manifest().synapses[synapse].needs_partner:
            assert np.any(np.abs(w[0] - weight) > 1e-6), "no weight changed: the rule was not exercised"
        np.testing.assert_allclose(w[0], w[1], rtol=0, atol=1e-9)


def _plastic_network(nest, neuron, synapse, threads, seed=11):
    """A small balanced network with E->E STDP (Brunel-style parameters, exponential currents)."""
    nestml_lab.reset_kernel()
    unrewritten.install()
    nest.set(resolution=0.1, local_num_threads=threads, rng_seed=seed)
    params = {"C_m": 250.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": 0.0, "V_reset": 10.0, "V_th": 20.0, "V_m": 0.0,
              "tau_syn_ex": 0.5, "tau_syn_in": 0.5}
    exc = nest.Create(neuron, 800, params=params)
    inh = nest.Create(neuron, 200, params=params)
    noise = nest.Create("poisson_generator", params={"rate": 17000.0})
    sr = nest.Create("spike_recorder")
    j = 87.8
    nest.Connect(noise, exc + inh, syn_spec={"weight": j, "delay": 1.5})
    nest.Connect(exc, exc, {"rule": "fixed_indegree", "indegree": 80},
                 {"synapse_model": synapse, "weight": j, "delay": 1.5, "lambda": 0.01, "alpha": 2.02,
                  "mu_plus": 0.0, "mu_minus": 0.0, "Wmax": 3 * j})
    nest.Connect(exc, inh, {"rule": "fixed_indegree", "indegree": 80}, {"weight": j, "delay": 1.5})
    nest.Connect(inh, exc + inh, {"rule": "fixed_indegree", "indegree": 20}, {"weight": -5 * j, "delay": 1.5})
    nest.Connect(exc + inh, sr)
    nest.Simulate(500.0)
    ev = sr.events
    order = np.lexsort((ev["senders"], ev["times"]))
    conns = nest.GetConnections(source=exc[:50], target=exc, synapse_model=synapse)
    c = conns.get(["source", "target", "weight"])
    key = np.lexsort((c["target"], c["source"]))
    return ev["senders"][order], ev["times"][order], np.asarray(c["weight"])[key]


def test_plastic_network_on_two_threads_equals_unrewritten_and_nest(kernel):
    """Two threads (the rewrites keep no shared scratch): same spikes and weights as NESTML's code and NEST's."""
    nest = kernel
    rw = _plastic_network(nest, *nestml_lab.pair_models("iaf_psc_exp_neuron", "stdp_synapse"), threads=2)
    raw = _plastic_network(nest, *unrewritten.pair_models("iaf_psc_exp_neuron", "stdp_synapse"), threads=2)
    builtin = _plastic_network(nest, "iaf_psc_exp", "stdp_synapse", threads=2)
    assert len(rw[0]) > 1000
    for other in (raw, builtin):
        np.testing.assert_array_equal(rw[0], other[0])
        np.testing.assert_array_equal(rw[1], other[1])
        np.testing.assert_allclose(rw[2], other[2], rtol=0, atol=1e-9)
    assert np.any(np.abs(rw[2] - 87.8) > 1e-3), "no weight changed"


def test_rewritten_synapses_are_smaller(kernel):
    nest = kernel
    rw = nest.GetDefaults(nestml_lab.pair_models("iaf_psc_exp_neuron", "stdp_synapse")[1])["sizeof"]
    raw = nest.GetDefaults(unrewritten.pair_models("iaf_psc_exp_neuron", "stdp_synapse")[1])["sizeof"]
    assert rw <= nest.GetDefaults("stdp_synapse")["sizeof"] < raw


def test_nestmls_static_synapse_made_a_later_plastic_synapse_read_old_post_spikes(kernel):
    """What R7 changes (tests/integration/test_edge_cases.py): NESTML's static synapse registered with its
    target, so a plastic synapse connected later read the post spikes kept since t = 0."""
    w = later_stdp_weights(kernel, [unrewritten.plain("static_synapse"), nestml_lab.synapse_model("static_synapse"),
                                    "static_synapse"])
    assert w[1] == w[2] != w[0], w


def test_the_static_synapse_is_as_small_as_nests(kernel):
    nest = kernel
    rw = nest.GetDefaults(nestml_lab.synapse_model("static_synapse"))["sizeof"]
    raw = nest.GetDefaults(unrewritten.plain("static_synapse"))["sizeof"]
    assert rw == nest.GetDefaults("static_synapse")["sizeof"] < raw
