"""Song, Miller & Abbott (2000): competitive Hebbian learning through additive STDP.

1000 excitatory Poisson inputs at 15 Hz drive one conductance-based LIF
neuron through the catalog's ``stdp_synapse`` made additive (mu_plus =
mu_minus = 0: dw = lambda Wmax x_pre at a post spike, dw = -alpha lambda Wmax
x_post at a pre spike, w clipped to [0, Wmax]) with depression slightly
stronger than potentiation (alpha = 1.05). The weights compete: the
distribution becomes bimodal, most weights near 0 or near Wmax. The
experiment is an experiment tree (:func:`tree`, run by :mod:`nestml_lab.networks`)
whose sessions cut the run into pieces after each of which the weights are read.

Parameters from the paper (Fig. 1): tau_m 20 ms, V_rest -70, V_th -54,
V_reset -60 mV, E_ex 0 mV, tau_ex 5 ms, g_max 0.015 leak conductances,
A+ = 0.005 g_max, tau_+ = tau_- = 20 ms; 200 inhibitory Poisson inputs at
10 Hz with fixed conductance 0.05 (E_in -70 mV, tau_in 5 ms) keep the neuron
in the fluctuation-driven regime where timing, not the mean, decides.

How sharp the two modes can be: near w = 0 the weights feel the drift of the
uncorrelated pairings, r_pre r_post tau (A+ - A-), and the diffusion of single
pairings, r_pre r_post tau (A+^2 + A-^2) / 2; at the clipped boundary the
stationary density is then exponential with scale (A+^2 + A-^2) / (4 (A- - A+))
~ 10 A+ = 0.05 g_max at the paper's A+ (0.1 g_max at A+ = 0.01). Smaller A+
sharpens the modes and slows their formation in proportion: at the paper's
A+ the distribution settles in about 1500 s of model time.

The inputs are parrot neurons repeating ``poisson_generator_ps``: the grid
``poisson_generator`` draws a Poisson number for each of its 1000 targets at
every time step, which made the run 4.6x slower with the same statistics.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nestml_lab import catalog
from nestml_lab.experiments.shared import common
from nestml_lab.experiments.shared.contract import Experiment, param


@dataclass(frozen=True)
class Song2000Params:
    """Parameters of Song, Miller & Abbott (2000)'s competitive STDP experiment."""

    n_inputs: int = param(1000, "excitatory Poisson inputs", flag="--inputs")
    rate_hz: float = param(15.0, "rate of each input", "Hz")
    t_sim_s: float = param(3000.0, "simulated time; about 0.06 s wall per s; settled after about 1500 s at the "
                           "default A+", "s", flag="--t-sim")
    n_snapshots: int = param(30, "weight snapshots over the run (histograms over time)")
    g_L_nS: float = param(10.0, "leak conductance; C_m / g_L = tau_m = 20 ms", "nS")
    C_m_pF: float = param(200.0, "membrane capacitance", "pF")
    E_L_mV: float = param(-70.0, "leak reversal (resting) potential", "mV")
    g_max_leak: float = param(0.015, "Wmax in units of the leak conductance")
    a_plus_rel: float = param(0.005, "A+ / g_max (the paper's 0.005; larger is faster but blurs the modes)",
                              flag="--a-plus")
    alpha: float = param(1.05, "A- / A+")
    tau_stdp_ms: float = param(20.0, "tau_+ = tau_-", "ms")
    n_inh_inputs: int = param(200, "inhibitory Poisson inputs (fixed weights)")
    inh_rate_hz: float = param(10.0, "their rate", "Hz")
    g_inh_leak: float = param(0.05, "their conductance, in units of the leak conductance")
    w0_rel: float = param(0.5, "initial weights uniform in [0, 2 w0_rel] x g_max, clipped to g_max")
    seed: int = param(1, "NEST's random seed")
    threads: int = param(2, "threads per process; under `mpirun -np N` every process runs this many: use 1 per core")

    @property
    def g_max(self) -> float:
        """The upper weight bound (nS): g_max_leak times the leak conductance."""
        return self.g_max_leak * self.g_L_nS


@dataclass
class Song2000Result:
    """Weight snapshots, output rates and the tree run of the experiment."""

    params: Song2000Params
    times_s: np.ndarray          # snapshot times (s)
    weights: np.ndarray          # (snapshot, input) weights (nS)
    post_rate_hz: np.ndarray     # output rate between snapshots (Hz)
    provenance: dict
    tree_run: object = None      # the tree's run (networks.RunData), written by save() as the run folder

    def bimodality(self, edge: float = 0.1, snapshot: int = -1) -> dict:
        """Fractions of the weights below edge x g_max, above (1 - edge) x g_max, and between.

        At the uniform start, 2 x edge of the weights lie within ``edge`` of 0 or g_max.
        """
        w = self.weights[snapshot] / self.params.g_max
        low, high = float(np.mean(w < edge)), float(np.mean(w > 1 - edge))
        return {"low": low, "high": high, "middle": 1.0 - low - high}


def tree(p: Song2000Params) -> dict:
    """The experiment tree: the network, and the run cut into sessions after each of which the weights are read."""
    g_max = p.g_max
    return {
        "kernel": {"resolution_ms": 0.1, "seed": p.seed, "threads": p.threads},
        "network": {
            "neuron_models": {"post": {
                "params": {"catalog": "iaf_cond_exp_neuron", "partner": "stdp_synapse"},
                "nest_params": {"C_m": p.C_m_pF, "g_L": p.g_L_nS, "E_L": p.E_L_mV, "V_th": -54.0, "V_reset": -60.0,
                                "E_ex": 0.0, "tau_syn_ex": 5.0, "E_in": -70.0, "tau_syn_in": 5.0,
                                "t_ref": 0.1, "V_m": p.E_L_mV,
                                catalog.moved_parameter("stdp_synapse", "tau_tr_post"): p.tau_stdp_ms}}},
            "synapse_models": {"plastic": {
                "params": {"catalog": "stdp_synapse", "partner": "iaf_cond_exp_neuron"},
                # additive: mu = 0, so dw = lambda Wmax x_pre (potentiation), -alpha lambda Wmax x_post
                "nest_params": {"Wmax": g_max, "lambda": p.a_plus_rel, "alpha": p.alpha, "mu_plus": 0.0,
                                "mu_minus": 0.0, "tau_tr_pre": p.tau_stdp_ms, "delay": 1.0,
                                "weight": {"uniform": {"min": 0.0, "max": min(1.0, 2 * p.w0_rel) * g_max}}}}},
            "populations": {"post": {"model": "post", "n": 1},
                            "inputs": {"model": "nest:parrot_neuron", "n": p.n_inputs},
                            "noise": {"model": "nest:poisson_generator_ps", "n": 1,
                                      "nest_params": {"rate": p.rate_hz}},
                            # the inhibitory inputs are independent and fixed: one Poisson source of their sum
                            "inhibition": {"model": "nest:poisson_generator", "n": 1,
                                           "nest_params": {"rate": p.n_inh_inputs * p.inh_rate_hz}}},
            "connections": [{"source": "noise", "target": "inputs"},
                            {"source": "inhibition", "target": "post",
                             "nest_params": {"weight": -p.g_inh_leak * p.g_L_nS, "delay": 1.0}},
                            {"source": "inputs", "target": "post", "synapse": "plastic"}],
            "recorders": [{"name": "post", "populations": ["post"]},
                          {"name": "weights", "weights": {"source": "inputs", "synapse": "plastic",
                                                          "max_sources": p.n_inputs}}],
        },
        "sessions": {"start": {"simulation_time_ms": 0.1},
                     **{f"learn_{k + 1:02d}": {"simulation_time_ms": p.t_sim_s * 1000.0 / p.n_snapshots}
                        for k in range(p.n_snapshots)}},
    }


def run(p: Song2000Params, progress=None) -> Song2000Result:
    """Run the tree of :func:`tree` (nothing is written: :func:`save` writes the run folder too)."""
    from nestml_lab import networks

    def report(line: str) -> None:
        if progress:
            progress(line.replace("[tree]", "[song2000]"))

    data = networks.simulate(networks.parse(tree(p), "song2000"), progress=report)
    times, weights, rates = [], [], []
    for name, t in data.session_times.items():
        src, _tgt, w = data.weights[name]["weights"]
        weights.append(np.asarray(w)[np.argsort(src)])
        times.append(t["end_ms"] / 1000.0)
        if name != "start":
            rates.append(len(data.spikes[name]["post"][1]) / ((t["end_ms"] - t["start_ms"]) / 1000.0))
    return Song2000Result(p, np.array(times), np.array(weights), np.array(rates), data.versions, data)


def save(result: Song2000Result, out_dir: Path | str) -> dict[str, Path]:
    """``song2000.json`` (parameters, bimodality, provenance), ``song2000.npz`` (snapshot times, weights, output
    rates) and the tree's run folder ``run/`` (see :mod:`nestml_lab.networks`).
    """
    from nestml_lab import networks

    files = {"run": networks.write(result.tree_run, Path(out_dir) / "run")} if result.tree_run is not None else {}
    js, npz = common.save_arrays(
        out_dir, "song2000.json", {"params": asdict(result.params), "bimodality": result.bimodality(),
                                   "provenance": result.provenance},
        "song2000.npz", {"times_s": result.times_s, "weights_nS": result.weights, "post_rate_hz": result.post_rate_hz})
    return {"npz": npz, "json": js, **files}


def plot(result: Song2000Result, out_dir: Path | str) -> Path:
    """The weight distribution and its evolution as a figure in ``out_dir``; return its path."""
    plt = common.pyplot()

    p = result.params
    bins = np.linspace(0, 1, 41)
    hist = np.array([np.histogram(w / p.g_max, bins)[0] for w in result.weights]) / p.n_inputs
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    ax = axes[0]
    im = ax.imshow(hist.T, origin="lower", aspect="auto", cmap="viridis",
                   extent=[result.times_s[0], result.times_s[-1], 0, 1])
    ax.set_xlabel("time (s)")
    ax.set_ylabel(r"$w / g_\mathrm{max}$")
    ax.set_title("weight histogram over time", fontsize=9)
    fig.colorbar(im, ax=ax, label="fraction of synapses")
    ax = axes[1]
    fractions = [result.bimodality(snapshot=k) for k in range(len(result.times_s))]
    for key, label in (("low", "< 0.1 g_max"), ("high", "> 0.9 g_max"), ("middle", "between")):
        ax.plot(result.times_s, [f[key] for f in fractions], label=label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("fraction of synapses")
    ax.set_ylim(0, 1)
    rate_ax = ax.twinx()
    rate_ax.stairs(result.post_rate_hz, result.times_s, baseline=None, color="0.5", lw=0.8)   # rate between snapshots
    rate_ax.set_ylabel("output rate (Hz)", color="0.4")
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    ax.set_title("weights near the bounds, and the output rate (grey)", fontsize=9)
    ax = axes[2]
    ax.hist(result.weights[0] / p.g_max, bins, alpha=0.5, label="start")
    ax.hist(result.weights[-1] / p.g_max, bins, alpha=0.7, label=f"after {p.t_sim_s:g} s")
    ax.set_xlabel(r"$w / g_\mathrm{max}$")
    ax.set_ylabel("synapses")
    b = result.bimodality()
    ax.set_title(f"final: {b['low']:.0%} < 0.1, {b['high']:.0%} > 0.9 g_max", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return common.save_figure(fig, out_dir, "song2000.png", dpi=110)


def summary(result: Song2000Result) -> list[str]:
    """One line: how bimodal the weights became, and the output rate."""
    b = result.bimodality()
    return [f"{b['low']:.0%} of the weights < 0.1 g_max, {b['high']:.0%} > 0.9 g_max after {result.params.t_sim_s:g} s; "
            f"output rate {result.post_rate_hz[0]:.1f} Hz at first, {result.post_rate_hz[-1]:.1f} Hz at the end"]


def numbers(result: Song2000Result) -> dict:
    """The final weights' split (near 0, near g_max, between) and the last output rate."""
    split = result.bimodality()
    return {"weights_low": split["low"], "weights_high": split["high"], "weights_middle": split["middle"],
            "post_rate_hz": float(result.post_rate_hz[-1]) if len(result.post_rate_hz) else float("nan")}


EXPERIMENT = Experiment(Song2000Params, run, save, plot, summary, numbers=numbers,
                        help="Song, Miller & Abbott 2000: STDP makes the weights bimodal")
