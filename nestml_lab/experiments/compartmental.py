"""A compartmental NESTML model against NEST's ``cm_default`` on one morphology, over the time step.

A soma with sodium and potassium channels (firing two action potentials) and
two passive dendrites; each receptor type on a dendrite gets its own spike train; the same for the
project's compartmental model (NESTML's compartmental target) and for its NEST
twin. Both take the same compartment and receptor parameters at runtime.

The two integrate the compartment voltages differently: NEST's ``cm_default``
with Crank-Nicolson (second order), NESTML 9.0.0's compartmental target with
implicit (backward) Euler (first order): the channels' and receptors' states
advance alike. So the traces differ by an amount proportional to the step, and
converge as it shrinks: the experiment runs several steps and reports the
largest difference per step (halving with the step is the expected first-order
convergence; anything else is a difference in the models).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


from nestml_lab.module import reset_kernel
from nestml_lab.experiments.shared import common
from nestml_lab.experiments.shared.contract import Experiment, param
from nestml_lab.provenance import provenance

#: The spike train each receptor type receives (ms): bursts that sum up, and single spikes.
SPIKE_TIMES = {"AMPA": [10.0, 12.0, 30.0, 31.0, 32.0, 33.0, 60.0], "NMDA": [15.0, 40.0, 41.0, 42.0],
               "GABA": [20.0, 70.0], "AMPA_NMDA": [35.0, 36.0, 37.0, 38.0, 80.0]}


@dataclass(frozen=True)
class CompartmentalParams:
    """Parameters of the compartmental comparison."""

    neuron: str = param("cm_default_neuron", "compartmental neuron of the project (default: the catalog)")
    project: str | None = param(None, "project folder (its module.yaml); none: the catalog")
    twin: str = param("nest:cm_default", "the NEST built-in compared with it (nest:<name>)")
    resolutions_ms: tuple = param((0.1, 0.05, 0.025), "simulation steps compared", "ms")
    t_sim_ms: float = param(120.0, "simulated time", "ms")
    soma: dict = param({"C_m": 1.0, "g_C": 0.0, "g_L": 0.1, "e_L": -70.0, "gbar_Na": 30.0, "gbar_K": 10.0},
                       "the soma's parameters (nF, uS, mV; channel conductances in uS)", flag="--soma")
    dendrite: dict = param({"C_m": 0.5, "g_C": 0.05, "g_L": 0.05, "e_L": -70.0},
                           "each of the two dendrites' parameters", flag="--dendrite")
    receptors: dict = param({"AMPA": 1, "NMDA": 1, "GABA": 2, "AMPA_NMDA": 2},
                            "receptor type -> the compartment it sits on (0: soma, 1 and 2: dendrites)",
                            flag="--receptor")
    weights: dict = param({"AMPA": 0.3, "NMDA": 0.02, "GABA": 0.05, "AMPA_NMDA": 0.03},
                          "receptor type -> weight of its spikes (uS at the conductance's peak)", flag="--weight")

    def __post_init__(self):
        object.__setattr__(self, "project", common.project_value(self.project))
        unknown = sorted(set(self.receptors) - set(SPIKE_TIMES))
        if unknown:
            raise ValueError(f"receptors: {unknown} have no spike train; the experiment drives "
                             f"{', '.join(SPIKE_TIMES)}")
        if set(self.weights) != set(self.receptors):
            raise ValueError(f"weights: give one per receptor ({', '.join(self.receptors)})")
        if any(c not in (0, 1, 2) for c in self.receptors.values()):
            raise ValueError("receptors: compartments are 0 (soma), 1 and 2 (the dendrites)")
        if any(round(0.1 / dt) * dt != 0.1 or dt > 0.1 for dt in self.resolutions_ms):
            raise ValueError(f"resolutions_ms: steps that divide 0.1 ms, the recording interval "
                             f"(got {self.resolutions_ms})")


@dataclass
class CompartmentalResult:
    """Per step: both models' compartment voltages and somatic spikes, and their largest difference."""

    params: CompartmentalParams
    times_ms: np.ndarray
    v: dict           # step -> (3 compartments, times), the project's model
    v_twin: dict      # step -> the same for the twin
    spikes: dict      # step -> somatic spike times of the model
    spikes_twin: dict
    provenance: dict

    def max_dv(self, dt: float) -> np.ndarray:
        """Largest |V - V of the twin| per compartment at step ``dt`` (mV)."""
        return np.max(np.abs(self.v[dt] - self.v_twin[dt]), axis=1)


def _run(nest, model: str, dt: float, p: CompartmentalParams, mod):
    reset_kernel(also=mod)
    nest.resolution = dt
    cm = nest.Create(model)
    cm.compartments = [{"parent_idx": -1, "params": dict(p.soma)},
                       {"parent_idx": 0, "params": dict(p.dendrite)}, {"parent_idx": 0, "params": dict(p.dendrite)}]
    cm.receptors = [{"comp_idx": c, "receptor_type": r} for r, c in p.receptors.items()]
    for i, r in enumerate(p.receptors):
        sg = nest.Create("spike_generator", params={"spike_times": SPIKE_TIMES[r]})
        nest.Connect(sg, cm, syn_spec={"synapse_model": "static_synapse", "weight": p.weights[r], "delay": 0.5,
                                       "receptor_type": i})
    mm = nest.Create("multimeter", params={"record_from": ["v_comp0", "v_comp1", "v_comp2"], "interval": 0.1})
    sr = nest.Create("spike_recorder")
    nest.Connect(mm, cm)
    nest.Connect(cm, sr)
    nest.Simulate(p.t_sim_ms)
    ev = mm.events
    return ev["times"], np.array([ev[f"v_comp{i}"] for i in range(3)]), np.asarray(sr.events["times"])


def run(p: CompartmentalParams, progress=None) -> CompartmentalResult:
    """Both models on the morphology, at every step."""
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    mod = common.project_module(p.project)
    if p.neuron not in mod.manifest.compartmental():
        raise ValueError(f"{p.neuron} is not a compartmental model of {mod.project / 'module.yaml'} (no "
                         f"@mechanism:: in its file); its compartmental models: "
                         f"{', '.join(mod.manifest.compartmental()) or 'none'} (docs/compartmental.md)")
    if not p.twin.startswith(common.BUILTIN_PREFIX):
        raise ValueError(f"twin: a NEST built-in as {common.BUILTIN_PREFIX}<name> (got {p.twin!r})")
    twin = p.twin[len(common.BUILTIN_PREFIX):]
    common.check_builtin(twin, "neuron")
    model = mod.neuron(p.neuron)
    v, v_twin, spikes, spikes_twin = {}, {}, {}, {}
    times = None
    for dt in p.resolutions_ms:
        times, v[dt], spikes[dt] = _run(nest, model, dt, p, mod)
        _, v_twin[dt], spikes_twin[dt] = _run(nest, twin, dt, p, mod)
        if progress:
            gap = float(np.max(np.abs(v[dt] - v_twin[dt])))
            progress(f"[compartmental] dt = {dt:g} ms done: at most {gap:.3g} mV from NEST's cm_default")
    return CompartmentalResult(p, times, v, v_twin, spikes, spikes_twin, provenance())


def save(result: CompartmentalResult, out_dir: Path | str) -> dict[str, Path]:
    """The largest differences per step (CSV + JSON) and the traces (NPZ)."""
    rows = ([dt, *result.max_dv(dt), len(result.spikes[dt]), len(result.spikes_twin[dt])]
            for dt in result.params.resolutions_ms)
    meta = {"params": asdict(result.params), "provenance": result.provenance,
            "spikes": {str(dt): [list(result.spikes[dt]), list(result.spikes_twin[dt])]
                       for dt in result.params.resolutions_ms}}
    paths = common.save_table(out_dir, "compartmental", ["dt_ms", "max_dv_soma_mV", "max_dv_dendrite1_mV",
                                                         "max_dv_dendrite2_mV", "spikes", "spikes_twin"], rows, meta)
    arrays = {"times_ms": result.times_ms}
    for dt in result.params.resolutions_ms:
        arrays[f"v_{dt:g}"] = result.v[dt]
        arrays[f"v_twin_{dt:g}"] = result.v_twin[dt]
    _, npz = common.save_arrays(out_dir, "compartmental_traces.json", meta, "compartmental_traces.npz", arrays)
    return {**paths, "traces": npz}


def plot(result: CompartmentalResult, out_dir: Path | str) -> Path:
    """The traces at the coarsest step over the twin's, and the largest difference against the step."""
    plt = common.pyplot()
    p = result.params
    dt = max(p.resolutions_ms)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.6, 1]})
    for i, (color, label) in enumerate((("C3", "soma"), ("C0", "dendrite 1"), ("C2", "dendrite 2"))):
        ax1.plot(result.times_ms, result.v[dt][i], color=color, lw=1.2, label=label)
        ax1.plot(result.times_ms, result.v_twin[dt][i], "k--", lw=0.7,
                 label=f"NEST's {p.twin[len(common.BUILTIN_PREFIX):]}" if i == 0 else None)
    ax1.set_xlabel("time (ms)")
    ax1.set_ylabel("compartment voltage (mV)")
    ax1.set_title(f"{p.neuron} and NEST's own, dt = {dt:g} ms", fontsize=9)
    ax1.legend(fontsize=7, frameon=False, loc="upper right")
    steps = np.array(sorted(p.resolutions_ms))
    gaps = np.array([result.max_dv(s) for s in steps])
    for i, (color, label) in enumerate((("C3", "soma"), ("C0", "dendrite 1"), ("C2", "dendrite 2"))):
        ax2.loglog(steps, gaps[:, i], "o-", color=color, label=label)
    ax2.loglog(steps, gaps.max() * steps / steps.max(), ":", color="0.5", label="first order (∝ dt)")
    ax2.set_xticks(steps, [f"{x:g}" for x in steps])
    ax2.minorticks_off()
    ax2.set_xlabel("time step (ms)")
    ax2.set_ylabel("max |V - V of NEST's| (mV)")
    ax2.set_title("implicit Euler (NESTML) vs Crank-Nicolson (NEST)", fontsize=9)
    ax2.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return common.save_figure(fig, out_dir, "compartmental.png", dpi=120)


def summary(result: CompartmentalResult) -> list[str]:
    """One line per step: the largest differences and the somatic spikes of both."""
    lines = []
    for dt in result.params.resolutions_ms:
        gap = result.max_dv(dt)
        lines.append(f"dt = {dt:g} ms: max |V - {result.params.twin}| = {', '.join(f'{g:.3g}' for g in gap)} mV "
                     f"(soma, dendrites); somatic spikes at {', '.join(f'{t:g}' for t in result.spikes[dt])} and "
                     f"{', '.join(f'{t:g}' for t in result.spikes_twin[dt])} ms")
    return lines


def numbers(result: CompartmentalResult) -> dict:
    """Per step: the largest difference in each compartment, and the somatic spikes' largest shift."""
    out = {}
    for dt in result.params.resolutions_ms:
        for name, gap in zip(("soma", "dendrite1", "dendrite2"), result.max_dv(dt)):
            out[f"max_dv_{name}_dt{dt:g}"] = float(gap)
        a, b = result.spikes[dt], result.spikes_twin[dt]
        out[f"spike_shift_dt{dt:g}"] = float(np.max(np.abs(a - b))) if len(a) == len(b) and len(a) else float("nan")
    return out


EXPERIMENT = Experiment(CompartmentalParams, run, save, plot, summary, numbers=numbers,
                        help="a compartmental model against NEST's cm_default on one morphology, over the step")
