"""Pairing-frequency protocol (Sjöström et al. 2001; Pfister & Gerstner 2006, Fig. 5) for the triplet rule.

60 pre/post pairings at dt = +10 ms and dt = -10 ms, repeated at several
frequencies; the weight change is compared with the measured points. Each
frequency is one NEST simulation with both dt side by side (the STDP-window
machinery with two dt).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nestml_lab.data import SJOSTROM_2001
from nestml_lab.experiments import stdp_window
from nestml_lab.experiments.shared import common
from nestml_lab.experiments.shared.contract import Experiment, param
from nestml_lab.provenance import provenance


@dataclass(frozen=True)
class PairingFrequencyParams:
    """Parameters of the pairing-frequency protocol (Sjostrom et al. 2001)."""

    synapse: str = param("stdp_triplet_synapse", "synapse of the project (default: the catalog), or a NEST "
                         "built-in as nest:<name>")
    neuron: str = param("iaf_psc_exp_neuron", "neuron of the project (default: the catalog), or a NEST built-in "
                        "as nest:<name>")
    project: str | None = param(None, "project folder (its module.yaml) whose models --synapse and --neuron name; "
                                "none: the catalog (then the parameter defaults below are the triplet rule's; a "
                                "project's models start from their own)")
    reference: str | None = param(None, "nest:<built-in> or catalog:<rule> to compare a project's synapse with "
                                  "(see stdp-window)")
    reference_map: dict = param({}, "the reference's parameters as expressions of the synapse's, NAME=EXPR",
                                flag="--reference-map", text=True)
    frequencies_hz: tuple = param((0.1, 1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0), "pairing frequencies", "Hz")
    dt_ms: tuple = param((-10.0, 10.0), "t_post - t_pre at the synapse", "ms")
    n_pairings: int = param(60, "pairings per frequency", flag="--pairings")
    delay_ms: float = param(0.1, "dendritic delay; the spikes are shifted so that the synapse sees dt", "ms")
    resolution_ms: float = param(0.1, "simulation step", "ms")
    w0: float = param(1.0, "initial weight; the rule is additive: dw does not depend on w0 inside [Wmin, Wmax]")
    # Pfister & Gerstner 2006, Table 4, visual cortex, all-to-all (catalog names)
    synapse_params: dict = param({"tau_plus": 16.8, "tau_x": 101.0, "A2_plus": 5e-10, "A3_plus": 6.2e-3,
                                  "A2_minus": 7e-3, "A3_minus": 2.3e-4},
                                 "synapse parameters (Pfister & Gerstner 2006, Table 4, visual cortex, all-to-all)",
                                 flag="--syn-param")
    # the post neuron only has to fire on time: a short synaptic current keeps a kick from outlasting the
    # refractory period at 50 Hz; the triplet rule's postsynaptic time constants live in the neuron
    neuron_params: dict = param({"tau_syn_ex": 0.2, "tau_minus__for_stdp_triplet_synapse_nestml": 33.7,
                                 "tau_y__for_stdp_triplet_synapse_nestml": 125.0},
                                "neuron parameters (the triplet rule's post time constants live in the neuron)",
                                flag="--neuron-param")

    def __post_init__(self):
        object.__setattr__(self, "project", common.project_value(self.project))
        if self.project is not None:   # the catalog triplet rule's values mean nothing to a project's models
            for name in ("synapse_params", "neuron_params"):
                if getattr(self, name) == getattr(PairingFrequencyParams(), name):
                    object.__setattr__(self, name, {})


@dataclass
class PairingFrequencyResult:
    """Weight change per pairing frequency and spike-time difference, with the reference's."""

    params: PairingFrequencyParams
    frequency_hz: np.ndarray
    dt_ms: np.ndarray            # as seen by the synapse
    dw: np.ndarray               # (frequency, dt)
    dw_reference: np.ndarray     # Python reference on the recorded spikes, same shape (NaN if none)
    provenance: dict


def run(p: PairingFrequencyParams, progress=None) -> PairingFrequencyResult:
    """Pair pre and post spikes at each frequency and dt; the weight change against the reference rule."""
    # the synapse sees a postsynaptic spike at t_post + delay: shift the spikes so that it sees dt
    spike_dts = tuple(dt - p.delay_ms for dt in p.dt_ms)
    dw = np.full((len(p.frequencies_hz), len(p.dt_ms)), np.nan)
    ref = np.full_like(dw, np.nan)
    for i, f in enumerate(p.frequencies_hz):
        wp = stdp_window.StdpWindowParams(
            synapse=p.synapse, neuron=p.neuron, project=p.project, reference=p.reference,
            reference_map=p.reference_map, dt_values=spike_dts, n_pairings=p.n_pairings, frequency_hz=f,
            delay_ms=p.delay_ms, resolution_ms=p.resolution_ms, w0=p.w0, synapse_params=p.synapse_params,
            neuron_params=p.neuron_params, nest_twin=False)
        r = stdp_window.run(wp)
        dw[i] = r.dw
        if r.dw_reference is not None:
            ref[i] = r.dw_reference
        if progress:
            progress(f"[pairing-frequency] {f:g} Hz: dw = {', '.join(f'{x:+.3f}' for x in r.dw)}")
    return PairingFrequencyResult(p, np.asarray(p.frequencies_hz, float), np.asarray(p.dt_ms, float), dw, ref,
                                  provenance())


def save(result: PairingFrequencyResult, out_dir: Path | str) -> dict[str, Path]:
    """Write the table (CSV + JSON) into ``out_dir``; return the paths."""
    rows = ([fr, dt, result.dw[i, j], result.dw_reference[i, j]]
            for i, fr in enumerate(result.frequency_hz) for j, dt in enumerate(result.dt_ms))
    return common.save_table(out_dir, "pairing_frequency", ["frequency_hz", "dt_ms", "dw", "dw_reference"], rows,
                             {"params": asdict(result.params), "provenance": result.provenance,
                              "data": SJOSTROM_2001})


def plot(result: PairingFrequencyResult, out_dir: Path | str) -> Path:
    """Weight change against frequency, one curve per dt, as a figure in ``out_dir``; return its path."""
    plt = common.pyplot()

    fig, ax = plt.subplots(figsize=(5.5, 4))
    data = SJOSTROM_2001
    w0 = result.params.w0
    for j, dt in enumerate(result.dt_ms):
        key = "dt_plus10" if dt > 0 else "dt_minus10"
        color = "C3" if dt > 0 else "C0"
        ax.plot(result.frequency_hz, result.dw[:, j] / w0, "o-", color=color, ms=4,
                label=f"NEST, dt = {dt:+g} ms")
        if np.all(np.isfinite(result.dw_reference[:, j])):
            ax.plot(result.frequency_hz, result.dw_reference[:, j] / w0, "x", color="k", ms=5,
                    label="Python reference" if j == 0 else None)
        if abs(abs(dt) - 10.0) < 1e-9:
            ax.errorbar(data["frequency_hz"], data[key]["dw"], yerr=data[key]["sem"], fmt="s", mfc="none",
                        color=color, capsize=3, label=f"Sjöström 2001, dt = {dt:+g} ms")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel("pairing frequency (Hz)")
    ax.set_ylabel(r"$\Delta w / w_0$ after %d pairings ($w_0$ = %g)" % (result.params.n_pairings, w0))
    ax.set_title(f"{result.params.synapse}: pairing-frequency protocol", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return common.save_figure(fig, out_dir, "pairing_frequency.png", dpi=120)


def summary(result: PairingFrequencyResult) -> list[str]:
    """One line per frequency: the weight changes and the largest gap to the reference."""
    lines = []
    for i, f in enumerate(result.frequency_hz):
        lines.append(f"{f:5g} Hz: " + ", ".join(f"dw(dt {dt:+g} ms) = {result.dw[i, j]:+.3f}"
                                                 for j, dt in enumerate(result.dt_ms)))
    ok = np.isfinite(result.dw_reference)
    if ok.any():
        lines.append(f"largest |dw - reference rule|: {np.max(np.abs(result.dw[ok] - result.dw_reference[ok])):.1e}")
    return lines


def numbers(result: PairingFrequencyResult) -> dict:
    """The weight change at the lowest and the highest frequency, for each dt."""
    out = {}
    for j, dt in enumerate(result.dt_ms):
        for i, label in ((0, "lowest_f"), (-1, "highest_f")):
            out[f"dw_dt{dt:+g}_{label}"] = float(result.dw[i, j])
    return out


EXPERIMENT = Experiment(PairingFrequencyParams, run, save, plot, summary, numbers=numbers,
                        help="triplet rule: 60 pairings at +-10 ms versus frequency (Sjöström 2001)")
