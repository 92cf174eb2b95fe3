"""Gap junctions: a NESTML neuron against NEST's own on NEST's two-neuron example, and synchrony over coupling.

1. NEST's example ``gap_junctions_two_neurons.py`` (Hahne et al. 2015): two
   neurons at 100 pA, one started at -10 mV, coupled by NEST's ``gap_junction``
   synapse (0.5 nS) under waveform relaxation, 351 ms at 0.05 ms, for the
   project's neuron and for its NEST twin (``hh_psc_alpha_gap``). Both integrate
   with GSL's RKF45 under an absolute tolerance of 1e-6; NEST's has no relative
   tolerance, so the NESTML neuron's ``gsl_rel_error_tol`` is set to 0 for this
   comparison (its default, 1e-6, doubles the gap).
2. Synchrony: two neurons driven by different currents fire at different
   rates; coupled strongly enough they lock. For each conductance, the locking
   of the second neuron's spikes to the first's cycle (vector strength: 0 for
   phases spread evenly, 1 for spikes at one phase; Goldberg & Brown 1969) and
   both rates.

Under ``mpirun`` every process ends with the same merged spikes and traces, so
the result does not depend on how processes and threads are laid out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np


from nestml_lab.module import reset_kernel
from nestml_lab import parallel
from nestml_lab.experiments.shared import common
from nestml_lab.experiments.shared.contract import Experiment, param
from nestml_lab.provenance import provenance


@dataclass(frozen=True)
class GapJunctionsParams:
    """Parameters of the gap-junction experiment."""

    neuron: str = param("hh_psc_alpha_gap_neuron", "gap-junction neuron of the project (default: the catalog); its "
                        "module.yaml names its gap port under gap_junctions:")
    project: str | None = param(None, "project folder (its module.yaml); none: the catalog")
    twin: str | None = param("nest:hh_psc_alpha_gap", "NEST built-in compared on NEST's two-neuron example "
                             "(nest:<name>); none: no comparison")
    example_weight_ns: float = param(0.5, "gap conductance of NEST's two-neuron example", "nS")
    couplings_ns: tuple = param((0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0), "gap conductances of the synchrony sweep",
                                "nS")
    currents_pa: tuple = param((100.0, 120.0), "constant currents of the two neurons (different rates)", "pA")
    t_sim_ms: float = param(2000.0, "simulated time per conductance", "ms")
    t_skip_ms: float = param(300.0, "transient left out of the synchrony measures", "ms")
    resolution_ms: float = param(0.05, "simulation step (NEST's example: 0.05)", "ms")
    threads: int = param(1, "NEST threads per process")

    def __post_init__(self):
        object.__setattr__(self, "project", common.project_value(self.project))
        if self.twin in ("", "none"):
            object.__setattr__(self, "twin", None)
        if len(self.currents_pa) != 2:
            raise ValueError(f"currents_pa: two currents, one per neuron (got {len(self.currents_pa)})")
        if any(g < 0 for g in self.couplings_ns):
            raise ValueError(f"couplings_ns: conductances are >= 0 nS (got {self.couplings_ns})")


@dataclass
class GapJunctionsResult:
    """The example's traces and spikes (model and twin), and the synchrony measures per conductance."""

    params: GapJunctionsParams
    times_ms: np.ndarray          # the example's voltmeter times
    v_m: np.ndarray               # (2 neurons, times), the project's neuron
    v_m_twin: np.ndarray | None   # the same for the twin
    spikes: list                  # per neuron, the example's spike times
    spikes_twin: list | None
    couplings_ns: np.ndarray
    rates_hz: np.ndarray          # (couplings, 2)
    locking: np.ndarray           # vector strength of neuron 2's spikes in neuron 1's cycle, per coupling
    provenance: dict

    @property
    def max_dv(self) -> float:
        """Largest |V_m - V_m of the twin| on the example (mV); NaN without a twin."""
        return float(np.max(np.abs(self.v_m - self.v_m_twin))) if self.v_m_twin is not None else float("nan")

    @property
    def same_spikes(self) -> bool | None:
        """Whether the example's spikes equal the twin's (None without a twin)."""
        if self.spikes_twin is None:
            return None
        return all(np.array_equal(a, b) for a, b in zip(self.spikes, self.spikes_twin))


def _kernel(nest, p: GapJunctionsParams, mod) -> None:
    reset_kernel(also=mod)
    nest.SetKernelStatus({"resolution": p.resolution_ms, "local_num_threads": p.threads, "use_wfr": True})


def _example(nest, model: str, p: GapJunctionsParams, nestml: bool):
    """NEST's two-neuron example for one model: (times, V_m per neuron, spikes per neuron)."""
    neurons = nest.Create(model, 2, params={"I_e": 100.0})
    neurons[0].V_m = -10.0
    if nestml and "gsl_rel_error_tol" in nest.GetDefaults(model):
        neurons.gsl_rel_error_tol = 0.0   # NEST's hh_psc_alpha_gap: absolute tolerance only
    vm = nest.Create("voltmeter", params={"interval": 0.1})
    sr = nest.Create("spike_recorder")
    nest.Connect(vm, neurons)
    nest.Connect(neurons, sr)
    nest.Connect(neurons, neurons, {"rule": "all_to_all", "allow_autapses": False},
                 {"synapse_model": "gap_junction", "weight": p.example_weight_ns})
    nest.Simulate(351.0)
    ev = parallel.events(vm, ("senders", "times", "V_m"))
    ids = neurons.tolist()
    times = ev["times"][ev["senders"] == ids[0]]
    v = np.array([ev["V_m"][ev["senders"] == i] for i in ids])
    sp = parallel.events(sr)
    return times, v, [sp["times"][sp["senders"] == i] for i in ids]


def vector_strength(spikes: np.ndarray, cycle: np.ndarray) -> float:
    """Locking of ``spikes`` to the cycles between consecutive ``cycle`` spikes: |mean exp(2 pi i phase)|."""
    cycle = np.sort(cycle)
    inside = spikes[(spikes >= cycle[0]) & (spikes < cycle[-1])] if len(cycle) > 1 else spikes[:0]
    if len(inside) == 0:
        return float("nan")
    k = np.searchsorted(cycle, inside, side="right") - 1
    phase = (inside - cycle[k]) / (cycle[k + 1] - cycle[k])
    return float(np.abs(np.mean(np.exp(2j * np.pi * phase))))


def _pair(nest, model: str, g: float, p: GapJunctionsParams) -> list[np.ndarray]:
    a = nest.Create(model, params={"I_e": p.currents_pa[0]})
    b = nest.Create(model, params={"I_e": p.currents_pa[1]})
    sr = nest.Create("spike_recorder", params={"start": p.t_skip_ms})
    nest.Connect(a + b, sr)
    if g > 0:
        nest.Connect(a, b, {"rule": "one_to_one", "make_symmetric": True},
                     {"synapse_model": "gap_junction", "weight": g})
    nest.Simulate(p.t_sim_ms)
    ev = parallel.events(sr)
    return [ev["times"][ev["senders"] == n.global_id] for n in (a, b)]


def run(p: GapJunctionsParams, progress=None) -> GapJunctionsResult:
    """The example against the twin, then the synchrony sweep."""
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    mod = common.project_module(p.project)
    if p.neuron not in mod.manifest.gap_junctions:
        raise ValueError(f"{p.neuron} has no gap junctions in {mod.project / 'module.yaml'}: add "
                         f"gap_junctions: {{{p.neuron}: {{port: <gap current port>, variable: V_m}}}} "
                         f"(docs/gap_junctions.md); it has them for: "
                         f"{', '.join(mod.manifest.gap_junctions) or 'none'}")
    model = mod.neuron(p.neuron)
    twin = None
    if p.twin is not None:
        if not p.twin.startswith(common.BUILTIN_PREFIX):
            raise ValueError(f"twin: a NEST built-in as {common.BUILTIN_PREFIX}<name> (got {p.twin!r})")
        twin = p.twin[len(common.BUILTIN_PREFIX):]
        common.check_builtin(twin, "neuron")
    _kernel(nest, p, mod)
    times, v, spikes = _example(nest, model, p, nestml=True)
    v_twin = spikes_twin = None
    if twin:
        _kernel(nest, p, mod)
        _, v_twin, spikes_twin = _example(nest, twin, p, nestml=False)
        if progress:
            progress(f"[gap-junctions] NEST's two-neuron example: max |V_m - {twin}| = "
                     f"{np.max(np.abs(v - v_twin)):.2g} mV")
    rates, locking = [], []
    span = (p.t_sim_ms - p.t_skip_ms) / 1000.0
    for g in p.couplings_ns:
        _kernel(nest, p, mod)
        a, b = _pair(nest, model, g, p)
        rates.append([len(a) / span, len(b) / span])
        locking.append(vector_strength(b, a))
        if progress:
            progress(f"[gap-junctions] g = {g:g} nS: {rates[-1][0]:.1f} and {rates[-1][1]:.1f} spikes/s, "
                     f"locking {locking[-1]:.2f}")
    return GapJunctionsResult(p, times, v, v_twin, spikes, spikes_twin, np.asarray(p.couplings_ns, float),
                              np.asarray(rates), np.asarray(locking), provenance())


def save(result: GapJunctionsResult, out_dir: Path | str) -> dict[str, Path]:
    """The synchrony table (CSV + JSON) and the example's traces (NPZ)."""
    rows = ([g, r[0], r[1], s] for g, r, s in zip(result.couplings_ns, result.rates_hz, result.locking))
    meta = {"params": asdict(result.params), "provenance": result.provenance,
            "example": {"max_abs_dv_mV": result.max_dv, "same_spikes": result.same_spikes}}
    paths = common.save_table(out_dir, "gap_junctions", ["g_nS", "rate_1_hz", "rate_2_hz", "locking"], rows, meta)
    arrays = {"times_ms": result.times_ms, "v_m": result.v_m}
    if result.v_m_twin is not None:
        arrays["v_m_twin"] = result.v_m_twin
    _, npz = common.save_arrays(out_dir, "gap_junctions_example.json", meta, "gap_junctions_example.npz", arrays)
    return {**paths, "example": npz}


def plot(result: GapJunctionsResult, out_dir: Path | str) -> Path:
    """The example's traces over the twin's, and locking and rates against the conductance."""
    plt = common.pyplot()
    p = result.params
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, color in enumerate(("C3", "C2")):
        ax1.plot(result.times_ms, result.v_m[i], color=color, lw=1.2, label=f"neuron {i + 1}")
        if result.v_m_twin is not None:
            ax1.plot(result.times_ms, result.v_m_twin[i], "k--", lw=0.7,
                     label="NEST's own" if i == 0 else None)
    ax1.set_xlabel("time (ms)")
    ax1.set_ylabel("membrane potential (mV)")
    title = f"{p.neuron}, NEST's two-neuron example, g = {p.example_weight_ns:g} nS"
    if result.v_m_twin is not None:
        title += f"\nmax |dV| = {result.max_dv:.1g} mV, spikes {'equal' if result.same_spikes else 'DIFFER'}"
    ax1.set_title(title, fontsize=9)
    ax1.legend(fontsize=7, frameon=False, loc="upper right", ncol=3)
    ax1.set_ylim(top=100)
    x = np.arange(len(result.couplings_ns))   # conductances evenly spaced, labelled with their values
    ax2.plot(x, result.locking, "o-", color="C0", label="locking (vector strength)")
    ax2.set_xticks(x, [f"{g:g}" for g in result.couplings_ns])
    ax2.set_ylim(0, 1.05)
    ax2.set_xlabel("gap conductance (nS)")
    ax2.set_ylabel("locking of neuron 2 to neuron 1", color="C0")
    twin_ax = ax2.twinx()
    for i, (color, mark) in enumerate((("C3", "s"), ("C2", "^"))):
        twin_ax.plot(x, result.rates_hz[:, i], mark + ":", color=color, ms=4,
                     label=f"rate, neuron {i + 1} ({p.currents_pa[i]:g} pA)")
    twin_ax.set_ylabel("rate (spikes/s)")
    ax2.set_title("synchrony grows with the coupling", fontsize=9)
    lines = ax2.get_legend_handles_labels()
    more = twin_ax.get_legend_handles_labels()
    ax2.legend(lines[0] + more[0], lines[1] + more[1], fontsize=7, frameon=False, loc="lower right")
    fig.tight_layout()
    return common.save_figure(fig, out_dir, "gap_junctions.png", dpi=120)


def summary(result: GapJunctionsResult) -> list[str]:
    """The comparison with the twin, and one line per conductance."""
    lines = []
    if result.v_m_twin is not None:
        lines.append(f"NEST's two-neuron example: max |V_m - {result.params.twin}| = {result.max_dv:.2g} mV; "
                     f"spikes {'equal' if result.same_spikes else 'differ'} "
                     f"({', '.join(str(len(s)) for s in result.spikes)} per neuron)")
    for g, r, s in zip(result.couplings_ns, result.rates_hz, result.locking):
        lines.append(f"g = {g:5g} nS: rates {r[0]:5.1f} and {r[1]:5.1f} spikes/s, locking {s:.2f}")
    return lines


def numbers(result: GapJunctionsResult) -> dict:
    """The example's gap to the twin, and the locking and rates at the largest conductance."""
    out = {"locking_at_max_g": float(result.locking[-1]), "rate_1_at_max_g": float(result.rates_hz[-1, 0]),
           "rate_2_at_max_g": float(result.rates_hz[-1, 1])}
    locked = [g for g, s in zip(result.couplings_ns, result.locking) if s > 0.9]
    out["smallest_locking_g"] = float(min(locked)) if locked else float("nan")
    if result.v_m_twin is not None:
        out["example_max_dv"] = result.max_dv
        out["example_same_spikes"] = float(bool(result.same_spikes))
    return out


EXPERIMENT = Experiment(GapJunctionsParams, run, save, plot, summary, numbers=numbers,
                        help="gap junctions: NEST's two-neuron example against the twin, synchrony over coupling")
