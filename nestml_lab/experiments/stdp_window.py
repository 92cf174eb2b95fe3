"""STDP window: final weight change versus dt = t_post - t_pre, all dt side by side in one NEST simulation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nestml_lab import references
from nestml_lab.experiments.shared import common
from nestml_lab.experiments.shared.contract import Experiment, param
from nestml_lab.experiments.shared.stdp_references import (CATALOG_PREFIX, nest_twin, reference_curve, reference_rule,
                                                           unmapped_parameters)
from nestml_lab.module import reset_kernel
from nestml_lab.provenance import provenance


@dataclass(frozen=True)
class StdpWindowParams:
    """Parameters of the STDP-window protocol.

    A synapse name is a synapse of ``project`` (default: the catalog, e.g. ``stdp_synapse``) or a NEST
    built-in written ``nest:stdp_synapse``; likewise the neuron (``nest:iaf_psc_exp``). A project's
    synapse is compared with ``reference`` where one is named (a NEST built-in run beside it, or a
    catalog rule's Python reference), its parameters translated by ``reference_map``.
    """

    synapse: str = param("stdp_synapse", "synapse of the project (default: the catalog), or a NEST built-in as "
                         "nest:<name>")
    neuron: str = param("iaf_psc_exp_neuron", "neuron of the project (default: the catalog), or a NEST built-in "
                        "as nest:<name>")
    project: str | None = param(None, "project folder (its module.yaml) whose models --synapse and --neuron name; "
                                "none: the catalog. In Python also a loaded Module")
    reference: str | None = param(None, "what a project's synapse is compared with: a NEST built-in run beside it "
                                  "(nest:stdp_synapse, with its Python reference where the toolkit has one) or a "
                                  "catalog rule's Python reference (catalog:stdp_synapse); none: for a catalog "
                                  "synapse its own twin and rule, for a project's synapse nothing")
    reference_map: dict = param({}, "the reference's parameters as numbers or expressions of the synapse's own "
                                "(moved ones included), NAME=EXPR, e.g. lambda=A_plus/Wmax (repeatable); a "
                                "parameter both have by the same name is taken as it is", flag="--reference-map",
                                text=True)
    reference_neuron: str = param("nest:iaf_psc_exp", "NEST neuron a built-in reference runs on (it only has to "
                                  "fire on time; post-trace time constants such as tau_minus are set on it)")
    dt_min_ms: float = param(-100.0, "first dt = t_post - t_pre", "ms", flag="--dt-min")
    dt_max_ms: float = param(100.0, "last dt", "ms", flag="--dt-max")
    n_dt: int = param(101, "points of the sweep")
    dt_values: tuple | None = param(None, "explicit dt list; overrides --dt-min, --dt-max, --n-dt", "ms")
    n_pairings: int = param(60, "pre/post pairings per dt", flag="--pairings")
    frequency_hz: float = param(1.0, "pairing frequency", "Hz", flag="--freq")
    delay_ms: float = param(1.0, "synaptic (dendritic) delay", "ms", flag="--delay")
    resolution_ms: float = param(0.1, "simulation step", "ms", flag="--resolution")
    w0: float = param(50.0, "initial weight", "pA or nS")
    drive_weight: float | None = param(None, "weight of the kick that makes the post neuron fire; none: the "
                                       "smallest power of two that gives exactly one spike", "pA or nS")
    synapse_params: dict = param({}, "synapse parameter NAME=VALUE (repeatable)", flag="--syn-param")
    neuron_params: dict = param({}, "neuron parameter NAME=VALUE, e.g. tau_tr_post__for_stdp_synapse_nestml=30 "
                                "(repeatable)", flag="--neuron-param")
    one_simulation: bool = param(True, "all dt side by side in one simulation; --no-one-simulation runs one "
                                 "simulation per dt (slow, the seed notebook's loop)")
    silent_start_ms: float = param(1000.0, "no spikes before this (NEST's stdp_nn_symm_synapse counts t = 0 as "
                                   "a presynaptic spike)", "ms")
    # the synapse only updates at presynaptic spikes: without one more a period after the last pairing, the
    # last pairing's postsynaptic spike never reaches the weight
    flush_pre_spike: bool = param(True, "one more presynaptic spike a period after the last pairing")
    nest_twin: bool = param(True, "also run NEST's built-in twin of the synapse (where one exists, on "
                            "iaf_psc_exp, every parameter translated) and draw it over the figure")

    def __post_init__(self):
        object.__setattr__(self, "project", common.project_value(self.project))
        if self.reference is not None and not self.reference.startswith((common.BUILTIN_PREFIX, CATALOG_PREFIX)):
            raise ValueError(f"reference {self.reference!r}: name a NEST built-in as nest:<name> or a catalog rule "
                             f"as catalog:<synapse> ({', '.join(references.RULES)})")
        if self.n_dt < 1 or self.n_pairings < 1:
            raise ValueError("n_dt and n_pairings must be at least 1")
        if self.frequency_hz <= 0:
            raise ValueError("frequency_hz must be positive")
        period = 1000.0 / self.frequency_hz
        span = float(np.max(np.abs(self.dts())))
        if self.resolution_ms <= 0 or self.delay_ms < self.resolution_ms:
            raise ValueError("need resolution_ms > 0 and delay_ms >= resolution_ms")
        if span + self.delay_ms >= period:
            raise ValueError(f"|dt| up to {span} ms does not fit into the pairing period {period} ms: "
                             "a pairing's spikes would pass the next pairing's")

    def dts(self) -> np.ndarray:
        """The spike-time differences of the protocol (ms): the given values, or the range."""
        if self.dt_values is not None:
            return np.asarray(self.dt_values, dtype=float)
        return np.linspace(self.dt_min_ms, self.dt_max_ms, self.n_dt)


@dataclass
class StdpWindowResult:
    """dt (ms, measured from the recorded spikes), final weight change, and what made them."""

    params: StdpWindowParams
    dt_ms: np.ndarray
    dw: np.ndarray
    w0: float
    models: dict
    provenance: dict
    dw_reference: np.ndarray | None = None   # the event-driven reference on the recorded spikes, if one exists
    pre: list | None = None                  # recorded presynaptic spike times per dt (ms)
    post: list | None = None                 # recorded postsynaptic spike times per dt (ms)
    twin: StdpWindowResult | None = None     # NEST's built-in twin run the same way (params.nest_twin)
    notes: list = field(default_factory=list)   # what the comparison left out (no reference, NEST defaults used)

    def twin_gap(self) -> float | None:
        """Largest |dw difference| between the synapse and NEST's built-in twin (None without a twin)."""
        return None if self.twin is None else float(np.max(np.abs(self.twin.dw - self.dw)))


def _simulate(nest, neuron: str, synapse: str, p: StdpWindowParams, dts: np.ndarray, drive: float,
              latency: float):
    reset_kernel()
    nest.resolution = p.resolution_ms
    res = p.resolution_ms
    period = 1000.0 / p.frequency_hz
    span = float(np.max(np.abs(p.dts())))
    # The first pairing comes after a silent second: NEST's stdp_nn_symm_synapse treats t = 0 as a
    # presynaptic spike (its t_lastspike_ starts at 0), which would potentiate the first postsynaptic
    # spike by exp(-t_post / tau_plus); a second later that is below 1e-21.
    t0 = max(span + latency + 10.0, period, span + p.silent_start_ms)
    n = len(dts)
    pre = nest.Create("parrot_neuron", n)
    post = nest.Create(neuron, n, params=p.neuron_params)
    base = t0 + np.arange(p.n_pairings) * period
    pre_t = common.on_grid(base, res)
    if p.flush_pre_spike:
        pre_t = np.append(pre_t, common.on_grid(t0 + p.n_pairings * period, res))
    post_times = [common.on_grid(base + dt, res) for dt in dts]
    sg_pre = nest.Create("spike_generator", n, params={"spike_times": pre_t - res})
    sg_post = nest.Create("spike_generator", n,
                          params=[{"spike_times": common.on_grid(t - latency, res)} for t in post_times])
    nest.Connect(sg_pre, pre, "one_to_one", syn_spec={"delay": res})
    nest.Connect(sg_post, post, "one_to_one", syn_spec={"weight": drive, "delay": res})
    syn_spec = {"synapse_model": synapse, "weight": p.w0, "delay": p.delay_ms, **p.synapse_params}
    nest.Connect(pre, post, "one_to_one", syn_spec=syn_spec)
    sr_pre, sr_post = nest.Create("spike_recorder"), nest.Create("spike_recorder")
    nest.Connect(pre, sr_pre)
    nest.Connect(post, sr_post)
    nest.Simulate(float(pre_t[-1]) + span + p.delay_ms + 10.0)
    w = common.final_weights(synapse, pre)
    got_pre = common.spikes_by_sender(sr_pre, pre)
    got_post = common.spikes_by_sender(sr_post, post)
    measured = []
    for k in range(n):
        if len(got_post[k]) != p.n_pairings or not np.allclose(got_post[k], post_times[k], atol=res / 2):
            extra = (f"; a presynaptic spike of weight w0 = {p.w0:g} may make it fire on its own: lower --w0"
                     if len(got_post[k]) > p.n_pairings else "")
            raise RuntimeError(f"post neuron {k} (dt = {dts[k]} ms) fired {len(got_post[k])} spikes, not the "
                               f"{p.n_pairings} intended at the intended times: the drive or a plastic input "
                               f"disturbed it{extra}")
        if len(got_pre[k]) != len(pre_t):
            raise RuntimeError(f"pre neuron {k} fired {len(got_pre[k])} spikes, expected {len(pre_t)}")
        measured.append(float(got_post[k][0] - got_pre[k][0]))
    return np.asarray(measured), w, got_pre, got_post


def run(p: StdpWindowParams, progress=None) -> StdpWindowResult:
    """Run the STDP-window protocol.

    Parameters
    ----------
    p : StdpWindowParams
    progress : callable, optional
        Receives progress lines (the per-dt loop reports every dt).

    Returns
    -------
    StdpWindowResult
        ``dt_ms`` measured between the recorded pre and post spikes, ``dw`` the
        final minus the initial weight.
    """
    import nest

    neuron, synapse, drive, latency = common.prepare(p)
    # the reference and the twin are checked before minutes of simulation, not after
    twin_params = nest_twin(p) if p.nest_twin or p.reference is not None else None
    rule = reference_rule(p, twin_params)
    dts = p.dts()
    if p.one_simulation:
        parts = [_simulate(nest, neuron, synapse, p, dts, drive, latency)]
    else:
        parts = []
        for i, dt in enumerate(dts):
            parts.append(_simulate(nest, neuron, synapse, p, np.array([dt]), drive, latency))
            if progress and ((i + 1) % 10 == 0 or i + 1 == len(dts)):
                progress(f"[stdp-window] dt {i + 1}/{len(dts)}")
    dt_ms = np.concatenate([part[0] for part in parts])
    w = np.concatenate([part[1] for part in parts])
    pre = [t for part in parts for t in part[2]]
    post = [t for part in parts for t in part[3]]
    dw_ref = None if rule is None else np.array([rule(a, b) for a, b in zip(pre, post)]) - p.w0
    twin = run(twin_params) if twin_params is not None and p.nest_twin else None
    notes = []
    if rule is None and twin is None and not p.synapse.startswith(common.BUILTIN_PREFIX):
        notes.append("no reference: nothing checks this curve; name one with --reference nest:<built-in> (and "
                     "--reference-map NAME=EXPR where names differ) or --reference catalog:<rule>")
    unmapped = unmapped_parameters(twin_params) if twin is not None and p.reference is not None else []
    if unmapped:
        notes.append(f"NEST's {twin_params.synapse[len(common.BUILTIN_PREFIX):]} keeps its defaults for "
                     f"{', '.join(unmapped)} (not in --reference-map, not a parameter of the synapse)")
    return StdpWindowResult(p, dt_ms, w - p.w0, p.w0, {"neuron": neuron, "synapse": synapse}, provenance(),
                            dw_ref, pre, post, twin, notes)


def save(result: StdpWindowResult, out_dir: Path | str) -> dict[str, Path]:
    """Write ``window.csv`` (dt_ms, dw, dw_reference, dw_nest_builtin: NaN where there is none) and ``window.json``
    (parameters + provenance) into ``out_dir``.
    """
    nan = [float("nan")] * len(result.dw)
    ref = result.dw_reference.tolist() if result.dw_reference is not None else nan
    builtin = result.twin.dw.tolist() if result.twin is not None else nan
    rows = zip(result.dt_ms.tolist(), result.dw.tolist(), ref, builtin)
    twin = None if result.twin is None else {"params": asdict(result.twin.params), "models": result.twin.models}
    return common.save_table(out_dir, "window", ["dt_ms", "dw", "dw_reference", "dw_nest_builtin"], rows,
                             {"params": asdict(result.params), "models": result.models,
                              "w0": result.w0, "nest_builtin_twin": twin, "notes": result.notes,
                              "provenance": result.provenance})


def _broken_at_jumps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x, y`` with a NaN point between neighbours whose ``y`` jumps by more than a quarter of the curve's
    range: matplotlib breaks the line there.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    span = np.nanmax(y) - np.nanmin(y) if len(y) else 0.0
    if not span > 0:
        return x, y
    after = np.flatnonzero(np.abs(np.diff(y)) > 0.25 * span) + 1
    return np.insert(x, after, np.nan), np.insert(y, after, np.nan)


def weight_unit(neuron: str) -> str:
    """Unit of a synaptic weight onto ``neuron``, from its name: nS for conductance-based neurons (``cond``),
    mV for voltage jumps (``delta``), else pA (current-based).
    """
    return "nS" if "cond" in neuron else "mV" if "delta" in neuron else "pA"


def plot(result: StdpWindowResult, out_dir: Path | str) -> Path:
    """Figure of dw versus dt, written as ``window.png`` into ``out_dir``.

    The reference is drawn at every simulation step of dt and broken where the window jumps (near
    dt = 0, where exactly depends on the delay and the rule), since a line across the jump would show
    values no dt gives. The right axis gives dw in % of w0. NEST's built-in twin (``result.twin``, see
    :func:`nest_twin`) is drawn over it.
    """
    plt = common.pyplot()

    twin = result.twin
    p = result.params
    unit = weight_unit(p.neuron)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.8)
    fine = np.arange(np.floor(result.dt_ms.min()), np.ceil(result.dt_ms.max()) + p.resolution_ms / 2,
                     p.resolution_ms)
    curve = reference_curve(p, fine)
    if curve is not None:
        x, y = _broken_at_jumps(fine, curve)
        ax.plot(x, y, "-", color="k", lw=0.9, zorder=1, label="reference rule (Python, same schedule, every step)")
        # a value between two jumps (dt = -delay for stdp_synapse: pre and post meet, dw = 0) is no line
        padded = np.concatenate([[np.nan], y, [np.nan]])
        alone = ~np.isnan(y) & np.isnan(padded[:-2]) & np.isnan(padded[2:])
        ax.plot(x[alone], y[alone], ".", color="k", ms=4, zorder=2)
    ax.plot(result.dt_ms, result.dw, "o", ms=3.5, color="C0", zorder=3, label=f"NEST simulation ({p.synapse})")
    if twin is not None:
        ax.plot(twin.dt_ms, twin.dw, "x", ms=4, color="C1", zorder=4,
                label=f"NEST's built-in {twin.params.synapse[len(common.BUILTIN_PREFIX):]} on "
                      f"{twin.params.neuron[len(common.BUILTIN_PREFIX):]}")
    if curve is None and twin is None and result.dw_reference is None:
        ax.text(0.02, 0.97, "no reference: nothing checks this curve", transform=ax.transAxes, fontsize=7,
                va="top", color="C3")
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2)
    ax.set_xlabel(r"$\Delta t = t_\mathrm{post} - t_\mathrm{pre}$ (ms)")
    ax.set_ylabel(rf"$\Delta w$ ({unit}), from $w_0$ = {p.w0:g} {unit}")
    if p.w0 != 0:
        right = ax.secondary_yaxis("right", functions=(lambda y: 100.0 * y / p.w0, lambda y: y * p.w0 / 100.0))
        right.set_ylabel(r"$\Delta w / w_0$ (%)")
    where = "" if p.project is None else f" ({Path(p.project).name})"
    ax.set_title(f"{p.synapse} on {p.neuron}{where}: {p.n_pairings} pairings at {p.frequency_hz:g} Hz, "
                 f"delay {p.delay_ms:g} ms", fontsize=9)
    fig.tight_layout()
    return common.save_figure(fig, out_dir, "window.png", dpi=120)


def summary(result: StdpWindowResult) -> list[str]:
    """Lines for the terminal: the window's range, its largest gap to the reference rule and to NEST's twin."""
    p = result.params
    lines = [f"{p.synapse} on {p.neuron}: {len(result.dt_ms)} dt x {p.n_pairings} pairings; dw from "
             f"{result.dw.min():.4g} to {result.dw.max():.4g} {weight_unit(p.neuron)}"]
    if result.dw_reference is not None:
        lines.append(f"largest |dw - reference rule|: {np.max(np.abs(result.dw - result.dw_reference)):.1e}")
    if result.twin is not None:
        lines.append(f"NEST's built-in {result.twin.params.synapse[len(common.BUILTIN_PREFIX):]} with the same "
                     f"parameters: largest |dw difference| {result.twin_gap():.1e}")
    return lines + list(result.notes)


def numbers(result: StdpWindowResult) -> dict:
    """The window's extremes and where they are, its area on either side, and the gaps to the references."""
    dt, dw = result.dt_ms, result.dw
    step = float(np.median(np.diff(dt))) if len(dt) > 1 else 1.0
    out = {"dw_max": float(dw.max()), "dt_at_dw_max": float(dt[np.argmax(dw)]), "dw_min": float(dw.min()),
           "dt_at_dw_min": float(dt[np.argmin(dw)]), "ltp_area": float(dw[dw > 0].sum() * step),
           "ltd_area": float(dw[dw < 0].sum() * step)}
    if result.dw_reference is not None:
        out["reference_gap"] = float(np.max(np.abs(dw - result.dw_reference)))
    if result.twin is not None:
        out["twin_gap"] = result.twin_gap()
    return out


EXPERIMENT = Experiment(StdpWindowParams, run, save, plot, summary, numbers=numbers,
                        help="weight change versus dt = t_post - t_pre, all dt in one simulation")
