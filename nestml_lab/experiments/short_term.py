"""Short-term plasticity (Tsodyks-Markram): PSC amplitude ratios A_n / A_1 for regular trains.

Every (parameter set, rate) combination runs side by side in one NEST
simulation: a parrot neuron replays the regular train through the synapse
into NEST's ``iaf_psc_exp`` (kept below threshold), whose excitatory current
is recorded every step. The amplitude a spike transmits is the jump of that
current at its arrival: J(t) = I(t) - I(t - h) exp(-h / tau_syn).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


from nestml_lab.module import reset_kernel
from nestml_lab import parallel
from nestml_lab import references
from nestml_lab.experiments.shared import common
from nestml_lab.experiments.shared.contract import Experiment, param
from nestml_lab.provenance import provenance

# Tsodyks, Pawelzik & Markram (1998) style parameter sets (catalog parameter names; times in ms)
DEPRESSING = {"U": 0.5, "tau_rec": 800.0, "tau_fac": 0.0}
FACILITATING = {"U": 0.03, "tau_rec": 130.0, "tau_fac": 530.0}


@dataclass(frozen=True)
class ShortTermParams:
    """Parameters of the short-term plasticity protocol (Tsodyks & Markram)."""

    synapse: str = param("tsodyks_synapse", "synapse of the project (default: the catalog), or NEST's as "
                         "nest:tsodyks_synapse; it takes U, tau_rec, tau_fac and tau_psc")
    project: str | None = param(None, "project folder (its module.yaml) whose synapse --synapse names; none: the "
                                "catalog. In Python also a loaded Module")
    reference: bool | None = param(None, "draw the Tsodyks-Markram Python reference (none: for the catalog's and "
                                   "NEST's tsodyks_synapse yes, for a project's synapse only when asked)")
    sets: dict = param({"depressing": DEPRESSING, "facilitating": FACILITATING},
                       "parameter sets by name: U (1), tau_rec and tau_fac (ms)", cli=False)
    rates_hz: tuple = param((10.0, 20.0, 50.0), "rates of the regular trains", "Hz")
    n_spikes: int = param(10, "spikes per train", flag="--spikes")
    t_first_ms: float = param(100.0, "first spike", "ms")
    weight: float = param(100.0, "w: the PSC amplitude for fully available resources", "pA")
    tau_psc_ms: float = param(3.0, "the synapse's tau_psc and the target's tau_syn_ex", "ms")
    delay_ms: float = param(1.0, "synaptic delay", "ms")
    resolution_ms: float = param(0.1, "simulation step", "ms")

    def __post_init__(self):
        object.__setattr__(self, "project", common.project_value(self.project))
        if self.n_spikes < 2:
            raise ValueError("n_spikes must be at least 2 (ratios are to the first spike)")
        for name, s in self.sets.items():
            unknown = set(s) - {"U", "tau_rec", "tau_fac"}
            if unknown:
                raise KeyError(f"parameter set {name!r}: unknown keys {sorted(unknown)}; use U, tau_rec, tau_fac")


@dataclass
class ShortTermResult:
    """Postsynaptic current amplitudes per parameter set and rate, and the reference's."""

    params: ShortTermParams
    amplitudes: dict      # (set, rate) -> amplitudes of the n spikes (pA), measured from the current
    reference: dict       # (set, rate) -> the Python reference's amplitudes for the recorded spikes (or empty)
    model: str
    provenance: dict

    @property
    def has_reference(self) -> bool:
        """Whether a reference (NEST's tsodyks_synapse) ran beside the synapse."""
        return bool(self.reference)

    def ratios(self, which: str = "amplitudes") -> dict:
        """``A_n / A_1`` per (set, rate); ``which="reference"`` for the reference's (NaN without one)."""
        table = getattr(self, which)
        if not table:
            return {k: np.full(len(v), np.nan) for k, v in self.amplitudes.items()}
        return {k: v / v[0] for k, v in table.items()}


def _synapse_params(p: ShortTermParams, s: dict, nest_builtin: bool) -> dict:
    params = {"U": s["U"], "tau_rec": s["tau_rec"], "tau_fac": s["tau_fac"], "tau_psc": p.tau_psc_ms}
    if not nest_builtin:
        params["w"] = p.weight   # the catalog model's weight variable; NEST's "weight" maps to it as well
    return params


def run(p: ShortTermParams, progress=None) -> ShortTermResult:
    """Drive the synapse with regular trains at each rate and measure every spike's amplitude."""
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    mod = common.project_module(p.project)
    builtin = p.synapse.startswith(common.BUILTIN_PREFIX)
    synapse = p.synapse[len(common.BUILTIN_PREFIX):] if builtin else mod.synapse(p.synapse)
    with_reference = p.reference if p.reference is not None else (p.project is None or builtin)
    combos = [(name, rate) for name in p.sets for rate in p.rates_hz]
    reset_kernel()
    nest.resolution = p.resolution_ms
    h = p.resolution_ms
    trains = [common.on_grid(p.t_first_ms + np.arange(p.n_spikes) * 1000.0 / rate, h) for _, rate in combos]
    pre = nest.Create("parrot_neuron", len(combos))
    post = nest.Create("iaf_psc_exp", len(combos), params={"tau_syn_ex": p.tau_psc_ms, "V_th": 1e9})
    sg = nest.Create("spike_generator", len(combos), params=[{"spike_times": t - h} for t in trains])
    nest.Connect(sg, pre, "one_to_one", syn_spec={"delay": h})
    for k, (name, _rate) in enumerate(combos):
        params = _synapse_params(p, p.sets[name], builtin or p.project is not None)
        common.check_names(synapse, params, "synapse")
        nest.Connect(pre[k], post[k], syn_spec={"synapse_model": synapse, "weight": p.weight,
                                                "delay": p.delay_ms, **params})
    mm = nest.Create("multimeter", params={"record_from": ["I_syn_ex"], "interval": h})
    sr = nest.Create("spike_recorder")
    nest.Connect(mm, post)
    nest.Connect(pre, sr)
    t_end = max(t[-1] for t in trains) + p.delay_ms + 5.0
    nest.Simulate(t_end)

    ev = parallel.events(mm, ("senders", "times", "I_syn_ex"))
    decay = np.exp(-h / p.tau_psc_ms)
    recorded_pre = common.spikes_by_sender(sr, pre)
    amplitudes, reference = {}, {}
    for k, key in enumerate(combos):
        sel = ev["senders"] == post[k].global_id
        t, i_syn = ev["times"][sel], ev["I_syn_ex"][sel]
        order = np.argsort(t)
        t, i_syn = t[order], i_syn[order]
        jumps = i_syn[1:] - i_syn[:-1] * decay
        arrival = recorded_pre[k] + p.delay_ms
        idx = np.searchsorted(t[1:], arrival - h / 2)
        amplitudes[key] = jumps[idx]
        if with_reference:
            ref_params = {**_synapse_params(p, p.sets[key[0]], False), "w": p.weight}
            reference[key] = references.tsodyks(recorded_pre[k], ref_params)
    return ShortTermResult(p, amplitudes, reference, synapse, provenance())


def save(result: ShortTermResult, out_dir: Path | str) -> dict[str, Path]:
    """Write the amplitudes and ratios (CSV + JSON) into ``out_dir``; return the paths."""
    ratios, ref = result.ratios(), result.ratios("reference")
    rows = ([key[0], key[1], n, a, ratios[key][n - 1], ref[key][n - 1]]
            for key, amps in result.amplitudes.items() for n, a in enumerate(amps, 1))
    return common.save_table(out_dir, "short_term", ["set", "rate_hz", "n", "amplitude_pA", "ratio", "ratio_reference"],
                             rows, {"params": asdict(result.params), "model": result.model,
                                    "provenance": result.provenance})


def plot(result: ShortTermResult, out_dir: Path | str) -> Path:
    """The amplitude ratios against spike number as a figure in ``out_dir``; return its path."""
    plt = common.pyplot()

    names = list(result.params.sets)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
    ratios, ref = result.ratios(), result.ratios("reference")
    for ax, name in zip(axes[0], names):
        for c, rate in enumerate(result.params.rates_hz):
            n = np.arange(1, result.params.n_spikes + 1)
            ax.plot(n, ratios[(name, rate)], "o-", color=f"C{c}", ms=4, label=f"{rate:g} Hz")
            if result.has_reference:
                ax.plot(n, ref[(name, rate)], "x", color="k", ms=5, label="Python reference" if c == 0 else None)
            elif c == 0:
                ax.text(0.02, 0.03, "no reference", transform=ax.transAxes, fontsize=7, color="C3")
        s = result.params.sets[name]
        ax.set_title(f"{name}: U {s['U']:g}, tau_rec {s['tau_rec']:g} ms, tau_fac {s['tau_fac']:g} ms", fontsize=8)
        ax.set_xlabel("spike number n")
        ax.set_ylabel(r"PSC amplitude ratio $A_n / A_1$ (1)")
        ax.axhline(1, color="0.6", lw=0.8)
        ax.legend(fontsize=7, frameon=False)
    fig.suptitle(f"{result.model}: PSC amplitudes of regular trains", fontsize=9)
    fig.tight_layout()
    return common.save_figure(fig, out_dir, "short_term.png", dpi=120)


def summary(result: ShortTermResult) -> list[str]:
    """One line per parameter set and rate: A2/A1 and An/A1."""
    lines = [f"{name:12s} {rate:5.1f} Hz: A2/A1 = {r[1]:.3f}, A{len(r)}/A1 = {r[-1]:.3f}"
             for (name, rate), r in result.ratios().items()]
    if result.has_reference:
        gap = max(float(np.max(np.abs(a - result.reference[k]))) for k, a in result.amplitudes.items())
        lines.append(f"largest |amplitude - Tsodyks-Markram reference|: {gap:.1e} pA")
    else:
        lines.append("no reference: nothing checks these ratios (--reference draws the Tsodyks-Markram one)")
    return lines


EXPERIMENT = Experiment(ShortTermParams, run, save, plot, summary,
                        help="Tsodyks-Markram PSC ratios A_n/A_1 for regular trains")
