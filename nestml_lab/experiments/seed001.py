"""Seed notebook 001 reproduced: the STDP window of its Izhikevich neuron and additive convolution-trace synapse.

The protocol is the notebook's: a presynaptic spike at 300 ms (and one at
998 ms that makes the synapse take up the last postsynaptic spike), one
postsynaptic spike forced by a 9999 mV kick at 1, 6, ..., 896 ms, synaptic
delay 15 ms, 1000 ms per run; the result is dw / lambda against
dt = t_post - t_pre of the first recorded spikes. The notebook ran one
simulation per postsynaptic time; here all of them run side by side in one.
The models are the notebook's texts upgraded by ``nestml-lab upgrade``
(``models/seed001_*.nestml``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nestml_lab import catalog

from nestml_lab.module import reset_kernel
from nestml_lab import references
from nestml_lab.experiments.shared import common
from nestml_lab.experiments.shared.contract import Experiment, param
from nestml_lab.provenance import provenance


@dataclass(frozen=True)
class Seed001Params:
    """Parameters of seed notebook 001's STDP protocol."""

    neuron: str = param("seed001_izhikevich_neuron", "catalog neuron (the notebook's, upgraded)")
    synapse: str = param("seed001_stdp_synapse", "catalog synapse (the notebook's, upgraded)")
    sim_time_ms: float = param(1000.0, "length of the run", "ms")
    pre_spikes_ms: tuple = param((300.0, 998.0), "spike generator times of the presynaptic parrot", "ms")
    post_first_ms: float = param(1.0, "first postsynaptic kick", "ms")
    post_last_ms: float = param(900.0, "kicks before this: range(1, 900, 5) as in the notebook", "ms")
    post_step_ms: float = param(5.0, "step between kicks", "ms")
    delay_ms: float = param(15.0, "delay of the plastic connection", "ms")
    kick_weight: float = param(9999.0, "weight of the kick (a jump of V_m)", "mV")
    resolution_ms: float = param(0.1, "simulation step", "ms")
    synapse_params: dict = param({}, "synapse parameter NAME=VALUE (repeatable)", flag="--syn-param")

    def kicks(self) -> np.ndarray:
        """The post kick times of the protocol (ms)."""
        return np.arange(self.post_first_ms, self.post_last_ms, self.post_step_ms)


@dataclass
class Seed001Result:
    """The STDP curve of the notebook's protocol and its reference."""

    params: Seed001Params
    dt_ms: np.ndarray           # t_post - t_pre of the first recorded spikes (ms)
    dw_over_lambda: np.ndarray  # (w_end - w_start) / lambda
    reference: np.ndarray       # the same from the Python reference on the recorded spikes
    models: dict
    provenance: dict


def run(p: Seed001Params, progress=None) -> Seed001Result:
    """Run the notebook's protocol in one simulation; dw / lambda per spike-time difference."""
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    catalog.install_module()
    neuron, synapse = common.resolve_models(p.synapse, p.neuron)
    common.check_names(synapse, p.synapse_params, "synapse")
    reset_kernel()
    nest.resolution = p.resolution_ms
    kicks = p.kicks()
    n = len(kicks)
    sg_pre = nest.Create("spike_generator", params={"spike_times": list(p.pre_spikes_ms)})
    pre = nest.Create("parrot_neuron", n)
    post = nest.Create(neuron, n)
    sg_post = nest.Create("spike_generator", n, params=[{"spike_times": [k]} for k in kicks])
    nest.Connect(sg_pre, pre)                       # the notebook's default delay (1 ms)
    nest.Connect(sg_post, post, "one_to_one", syn_spec={"weight": p.kick_weight})
    nest.Connect(pre, post, "one_to_one",
                 syn_spec={"synapse_model": synapse, "delay": p.delay_ms, **p.synapse_params})
    sr_pre, sr_post = nest.Create("spike_recorder"), nest.Create("spike_recorder")
    nest.Connect(pre, sr_pre)
    nest.Connect(post, sr_post)
    w_start = common.final_weights(synapse, pre)
    lam = nest.GetDefaults(synapse)["lambda"] if "lambda" not in p.synapse_params else p.synapse_params["lambda"]
    nest.Simulate(p.sim_time_ms)
    w_end = common.final_weights(synapse, pre)
    got_pre = common.spikes_by_sender(sr_pre, pre)
    got_post = common.spikes_by_sender(sr_post, post)
    if any(len(t) == 0 for t in got_post):
        missing = [float(kicks[i]) for i, t in enumerate(got_post) if len(t) == 0]
        raise RuntimeError(f"post neurons kicked at {missing} ms did not fire")
    dt = np.array([post_t[0] - pre_t[0] for pre_t, post_t in zip(got_pre, got_post)])
    ref_params = {k: v for k, v in p.synapse_params.items() if k in references.ADDITIVE_DEFAULTS}
    ref = np.array([references.stdp_additive(a, b, p.delay_ms, w0, ref_params).final - w0
                    for a, b, w0 in zip(got_pre, got_post, w_start)]) / lam
    return Seed001Result(p, dt, (w_end - w_start) / lam, ref, {"neuron": neuron, "synapse": synapse},
                         provenance())


def save(result: Seed001Result, out_dir: Path | str) -> dict[str, Path]:
    """Write the curve (CSV + JSON) into ``out_dir``; return the paths."""
    rows = zip(result.dt_ms.tolist(), result.dw_over_lambda.tolist(), result.reference.tolist())
    return common.save_table(out_dir, "seed001", ["dt_ms", "dw_over_lambda", "reference"], rows,
                             {"params": asdict(result.params), "models": result.models,
                              "provenance": result.provenance})


def plot(result: Seed001Result, out_dir: Path | str) -> Path:
    """The curve against the reference as a figure in ``out_dir``; return its path."""
    plt = common.pyplot()

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(result.dt_ms, result.dw_over_lambda, s=18, label=f"NEST simulation ({result.params.synapse})")
    ax.plot(result.dt_ms, result.reference, "-", color="k", lw=0.8, label="Python reference (same spikes)")
    ax.axhline(0, color="k", ls="--", lw=1.5, alpha=0.5)
    ax.axvline(-result.params.delay_ms, color="k", ls="--", lw=1.5, alpha=0.5)
    ax.set_xlim(-200, 200)
    ax.grid(True)
    ax.set_xlabel(r"$\Delta t = t_\mathrm{post} - t_\mathrm{pre}$ (ms)")
    ax.set_ylabel(r"$\Delta w / \lambda$ (1)")
    ax.set_title("seed notebook 001: Izhikevich neuron, additive STDP, delay "
                 f"{result.params.delay_ms:g} ms", fontsize=9)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    fig.tight_layout()
    return common.save_figure(fig, out_dir, "seed001.png", dpi=120)


def summary(result: Seed001Result) -> list[str]:
    """One line: the curve's range and its largest gap to the reference."""
    gap = np.max(np.abs(result.dw_over_lambda - result.reference))
    return [f"{len(result.dt_ms)} post times in one simulation; dw/lambda from {result.dw_over_lambda.min():.3g} "
            f"to {result.dw_over_lambda.max():.3g}; largest |difference to the reference| {gap:.1e}"]


EXPERIMENT = Experiment(Seed001Params, run, save, plot, summary,
                        help="seed notebook 001's STDP window (Izhikevich, additive STDP, delay 15 ms)")
