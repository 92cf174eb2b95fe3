"""A plastic synapse driven by random pre- and postsynaptic spike trains, many independent pairs side by side.

Used to test a synapse against the event-driven references of
:mod:`nestml_lab.references` and against NEST's built-in twins on irregular
spike trains, not only on clean pairings. The result holds the spike times
that were actually recorded, so a reference sees exactly what the synapse saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


from nestml_lab.module import reset_kernel
from nestml_lab.experiments.shared import common
from nestml_lab.provenance import provenance


@dataclass(frozen=True)
class RandomTrainsParams:
    """Parameters of the random-trains protocol: pairs of Poisson trains through one synapse each."""

    synapse: str = "stdp_synapse"      # catalog synapse or nest:<built-in>
    neuron: str = "iaf_psc_exp_neuron" # catalog neuron or nest:<built-in>
    project: str | None = None         # project folder whose models the names are (None: the catalog)
    n_pairs: int = 20                  # independent pre/post pairs, simulated side by side
    rate_pre_hz: float = 20.0          # Poisson rate of the presynaptic trains (Hz)
    rate_post_hz: float = 20.0         # Poisson rate of the kicks that make the post neurons fire (Hz)
    min_isi_post_ms: float = 5.0       # kicks closer than this to the previous one are dropped (ms)
    t_start_ms: float = 20.0           # every presynaptic train starts with a spike here (ms)
    t_sim_ms: float = 2000.0           # simulated time (ms)
    delay_ms: float = 1.0              # synaptic (dendritic) delay (ms)
    resolution_ms: float = 0.1         # simulation step (ms)
    w0: float = 50.0                   # initial weight
    seed: int = 12345                  # seed of the spike trains (numpy)
    drive_weight: float | None = None  # kick weight; None: calibrated (see common.calibrate_drive)
    synapse_params: dict = field(default_factory=dict)
    neuron_params: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.n_pairs < 1 or self.t_sim_ms <= self.t_start_ms:
            raise ValueError("need n_pairs >= 1 and t_sim_ms > t_start_ms")


@dataclass
class RandomTrainsResult:
    """The recorded trains and the final weights, with the reference rule's."""

    params: RandomTrainsParams
    pre: list        # recorded presynaptic spike times per pair (ms)
    post: list       # recorded postsynaptic spike times per pair (ms)
    w: np.ndarray    # final weight per pair
    models: dict
    provenance: dict


def _poisson(rng, rate_hz: float, t0: float, t1: float) -> np.ndarray:
    n = rng.poisson(rate_hz * (t1 - t0) / 1000.0)
    return np.sort(rng.uniform(t0, t1, n))


def _thin(times: np.ndarray, min_isi: float) -> np.ndarray:
    kept, last = [], -np.inf
    for t in times:
        if t - last >= min_isi:
            kept.append(t)
            last = t
    return np.asarray(kept)


def trains(p: RandomTrainsParams, latency_ms: float) -> tuple[list, list]:
    """Presynaptic spike times and kick times per pair (on the grid, unique, inside the simulation)."""
    rng = np.random.default_rng(p.seed)
    res = p.resolution_ms
    end = p.t_sim_ms - p.delay_ms - 5.0
    pre, kicks = [], []
    for _ in range(p.n_pairs):
        t_pre = common.on_grid(np.concatenate([[p.t_start_ms], _poisson(rng, p.rate_pre_hz, p.t_start_ms, end)]), res)
        pre.append(np.unique(t_pre))
        # kicks start after the first presynaptic spike has reached the synapse
        t_kick = _poisson(rng, p.rate_post_hz, p.t_start_ms + p.delay_ms + res, end)
        kicks.append(np.unique(common.on_grid(_thin(t_kick, p.min_isi_post_ms), res)) - latency_ms)
    return pre, [common.on_grid(k, res) for k in kicks]


def run(p: RandomTrainsParams) -> RandomTrainsResult:
    """Drive every pair with its Poisson trains; the weights against the reference rule on the same spikes."""
    import nest

    neuron, synapse, drive, latency = common.prepare(p)
    pre_t, kick_t = trains(p, latency)

    reset_kernel()
    nest.resolution = p.resolution_ms
    res = p.resolution_ms
    pre = nest.Create("parrot_neuron", p.n_pairs)
    post = nest.Create(neuron, p.n_pairs, params=p.neuron_params)
    sg_pre = nest.Create("spike_generator", p.n_pairs, params=[{"spike_times": t - res} for t in pre_t])
    sg_post = nest.Create("spike_generator", p.n_pairs,
                          params=[{"spike_times": k[k > 0]} for k in kick_t])
    nest.Connect(sg_pre, pre, "one_to_one", syn_spec={"delay": res})
    nest.Connect(sg_post, post, "one_to_one", syn_spec={"weight": drive, "delay": res})
    nest.Connect(pre, post, "one_to_one",
                 syn_spec={"synapse_model": synapse, "weight": p.w0, "delay": p.delay_ms, **p.synapse_params})
    sr_pre, sr_post = nest.Create("spike_recorder"), nest.Create("spike_recorder")
    nest.Connect(pre, sr_pre)
    nest.Connect(post, sr_post)
    nest.Simulate(p.t_sim_ms)
    w = common.final_weights(synapse, pre)
    return RandomTrainsResult(p, common.spikes_by_sender(sr_pre, pre), common.spikes_by_sender(sr_post, post), w,
                              {"neuron": neuron, "synapse": synapse}, provenance())
