"""Published firing patterns on the catalog's neurons: Izhikevich (2004) Fig. 1 and Naud et al. (2008) Fig. 4.

Izhikevich: the 20 panels of his ``figure1.m`` on the catalog's ``izhikevich_neuron``, built with the
integration his script uses (``semi-implicit-Euler`` at the panel's step: V, then u from the new V; module.yaml
``solvers:``), driven by the panel's current (``I_e`` set at every change, so the value of step t is the one
the script uses at t). Panels G and L change the model's quadratic (4.1 V + 108) and R its recovery equation
(du/dt = a b (V + 65)): they run on the catalog model's text with that one line replaced. Beside each run, the
script itself in Python (the reference); each panel's criterion is checked on both.

Naud: the eight AdEx parameter sets on the catalog's ``aeif_cond_exp_neuron`` (its default solver, GSL's
RKF45), and on NEST's ``aeif_cond_exp``, 600 ms of step current at 0.1 ms; beside them the paper's forward
Euler in Python. Each run is classified by three features of its spike train (the ones Naud et al. use):

- steady state: *transient* (no spike after the first quarter); *bursting* or *irregular* (ISIs drop
  three-fold at least twice: bursts; regular when every burst after the first has the same number of
  spikes and the intervals between bursts vary by under 5 %); else the adaptation index
  A = mean (ISI[i+1] - ISI[i]) / (ISI[i+1] + ISI[i]) over the ISIs after the first four (the onset's
  transient) says *adapting* (A > 0.003), *accelerating* (A < -0.003) or *tonic*;
- onset: an *initial burst* (one of the first three ISIs is followed by one over three times longer, in a
  train that is not bursting) or *delayed* (first spike after 25 ms and after 1.5 first ISIs), else none.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nestml_lab import catalog

from nestml_lab.module import reset_kernel
from nestml_lab import parallel, paths
from nestml_lab.experiments.shared import common
from nestml_lab.experiments.shared.contract import Experiment, param
from nestml_lab.experiments.shared.patterns_data import IZHIKEVICH_2004, NAUD_2008, NAUD_FIELDS, IzhikevichPanel
from nestml_lab.provenance import provenance

FAMILIES = ("izhikevich", "naud")
#: ISIs the adaptation index leaves out (the onset's transient), as Naud et al.'s index does with its k
ADAPTATION_SKIP = 4
#: the catalog model's lines that panels G, L (class1) and R (accommodation) of Izhikevich's script change
_EQUATIONS = {
    "class1": ("5.0 * V_m + 140 mV", "4.1 * V_m + 108 mV"),
    "accommodation": ("U_m' = a * (b * V_m - U_m)", "U_m' = a * b * (V_m + 65 mV)"),
}


@dataclass(frozen=True)
class FiringPatternsParams:
    """Parameters of the firing-pattern validation."""

    families: tuple = param(FAMILIES, "which papers' patterns: izhikevich (2004, Fig. 1), naud (2008, Fig. 4)")
    solver: str = param("semi-implicit-Euler", "solver the Izhikevich neuron is built with (his scripts': "
                        "semi-implicit-Euler)", choices=("semi-implicit-Euler", "forward-Euler", "rk4", "rk45"))
    naud_t_ms: float = param(600.0, "duration of the Naud step currents", "ms")
    naud_resolution_ms: float = param(0.1, "simulation step of the Naud runs", "ms")

    def __post_init__(self):
        unknown = set(self.families) - set(FAMILIES)
        if unknown:
            raise ValueError(f"families: unknown {sorted(unknown)}; choose from {', '.join(FAMILIES)}")


@dataclass
class Run:
    """One pattern run: spike times (ms, the paper script's clock), V trace and what the criterion found."""

    spikes: np.ndarray
    t: np.ndarray = field(repr=False)
    v: np.ndarray = field(repr=False)
    verdict: str
    ok: bool


@dataclass
class FiringPatternsResult:
    """Every panel's runs (NEST and the published script) and verdicts."""

    params: FiringPatternsParams
    izhikevich: dict    # panel key -> {"nest": Run, "script": Run}
    naud: dict          # pattern -> {"catalog": Run, "nest": Run, "euler": Run}
    models: dict
    provenance: dict

    def failures(self) -> list[str]:
        """The runs whose pattern is not the published one."""
        return [f"{family} {name} ({impl}): {run.verdict}"
                for family, table in (("izhikevich", self.izhikevich), ("naud", self.naud))
                for name, runs in table.items() for impl, run in runs.items() if not run.ok]


# --- Izhikevich (2004) -----------------------------------------------------------------------------------------

def panel_current(panel: IzhikevichPanel) -> tuple[np.ndarray, np.ndarray]:
    """The script's loop times (0, tau, 2 tau, ... t_end) and the current at each."""
    t = np.arange(0.0, panel.t_end + panel.tau / 2, panel.tau)
    return t, np.broadcast_to(np.asarray(panel.current(t), float), t.shape)


def izhikevich_script(panel: IzhikevichPanel, simultaneous: bool = False) -> Run:
    """The panel as ``figure1.m`` computes it; spike times are the loop's t at the step that crosses.
    ``simultaneous``: u from the V at the step's start instead (forward Euler, NEST's izhikevich).
    """
    t, current = panel_current(panel)
    v, u, a, b = float(panel.v0), float(panel.u_start), panel.a, panel.b
    spikes, trace = [], np.empty_like(t)
    for i, ti in enumerate(t):
        v_start = v
        if panel.equation == "class1":
            v = v + panel.tau * (0.04 * v * v + 4.1 * v + 108 - u + current[i])
        else:
            v = v + panel.tau * (0.04 * v * v + 5 * v + 140 - u + current[i])
        v_u = v_start if simultaneous else v
        u = u + panel.tau * a * (b * (v_u + 65) if panel.equation == "accommodation" else b * v_u - u)
        if v > 30:
            spikes.append(ti)
            trace[i], v, u = 30.0, panel.c, u + panel.d
        else:
            trace[i] = v
    return _judged(panel, np.array(spikes), t, trace)


def _bursts(spikes: np.ndarray, gap_factor: float = 3.0) -> list[np.ndarray]:
    """Spikes grouped into bursts: a new burst starts after an ISI over ``gap_factor`` times the shortest."""
    if len(spikes) < 2:
        return [spikes] if len(spikes) else []
    isi = np.diff(spikes)
    cuts = np.flatnonzero(isi > gap_factor * isi.min()) + 1
    return np.split(spikes, cuts)


def izhikevich_check(panel: IzhikevichPanel, s: np.ndarray, t: np.ndarray, v: np.ndarray) -> tuple[bool, str]:
    """Whether spike times ``s`` (and V) show the panel's published feature; and what was measured."""
    isi = np.diff(s)
    n = len(s)
    said = f"{n} spike{'s' * (n != 1)}" + (f" from {s[0]:g} ms" if n else "")
    k = panel.key
    if k == "A":
        return n >= 3 and s[-1] > 75 and abs(isi[-1] - isi[-2]) < 0.05 * isi[-2], said
    if k == "B":
        return n == 1 and s[0] > 20, said
    if k in ("C", "T"):
        bursts = [b for b in _bursts(s) if len(b) >= 2]
        said += f", {len(bursts)} bursts"
        if k == "C":
            return len(bursts) >= 3 and bursts[-1][0] > panel.t_end / 2, said
        return len(bursts) >= 2 and s[0] > 50 and s[-1] < 255, said
    if k == "D":
        return n >= 3 and s[-1] - 20 < 60 and len(_bursts(s)) == 1, said
    if k == "E":
        return n >= 5 and np.all(isi[:2] < 10) and np.sum(isi[2:] > 20) >= 2, said
    if k == "F":
        return n >= 4 and np.all(np.diff(isi) > 0) and isi[-1] > 5 * isi[0], said
    if k in ("G", "H"):
        said += f", first ISI {isi[0]:.1f} ms" if n >= 2 else ""
        if n < 4 or not np.all(np.diff(isi) <= 0) or isi[-1] >= isi[0]:   # equal on the step grid at most
            return False, said
        return (isi[0] > 35) if k == "G" else (isi[0] < 25), said
    if k == "I":
        return n == 1 and s[0] - 10 > 10, said
    if k == "J":
        if n != 1:
            return False, said
        after = v[t > s[0] + 5]
        peaks = after[1:-1][(after[1:-1] > after[:-2]) & (after[1:-1] >= after[2:])]
        said += f", {len(peaks)} local maxima after it"
        return len(peaks) >= 2 and np.all(np.diff(peaks[:3]) < 0), said
    if k == "K":
        return n == 1 and s[0] > 320, said
    if k == "L":
        return n == 1 and 100 / 11 + 5 < s[0] < 100 / 11 + 15, said
    if k == "M":
        return n == 1 and s[0] > 25, said
    if k == "N":
        return n >= 3 and s[0] > 25 and s[-1] - s[0] < 40, said
    if k == "O":
        return n == 1 and s[0] > 80, said
    if k == "P":
        return n >= 3 and s[0] > 37.5 and s[-1] < 221, said
    if k == "Q":
        if n != 1:
            return False, said
        after = v[t > s[0] + 0.5]
        said += f", V after the spike peaks at {after.max():.1f} mV"
        return after.max() > panel.c, said
    if k == "R":
        return n == 1 and 300 < s[0] < 320, said
    if k == "S":
        return n >= 2 and s[0] > 50 and s[-1] < 255, said
    raise KeyError(f"no criterion for panel {k}")


def same_spikes(a: Run, b: Run) -> bool:
    """The same spikes at the same steps (times within a nanosecond: the grids' arithmetic differs)."""
    return len(a.spikes) == len(b.spikes) and bool(np.allclose(a.spikes, b.spikes, rtol=0, atol=1e-6))


def v_gap(a: Run, b: Run) -> float:
    """Largest |V| difference of two runs over the steps both recorded."""
    n = min(len(a.v), len(b.v))
    return float(np.max(np.abs(a.v[:n] - b.v[:n]))) if n else 0.0


def _judged(panel: IzhikevichPanel, spikes, t, v) -> Run:
    ok, said = izhikevich_check(panel, spikes, t, v)
    return Run(spikes, t, v, said, bool(ok))


def izhikevich_models(solver: str, progress=None):
    """The catalog's Izhikevich neuron and its two equation variants, built with ``solver`` (cached)."""
    from nestml_lab.module_cache import build_models

    text = (paths.MODELS_DIR / "izhikevich_neuron.nestml").read_text()
    sources = {"izhikevich_neuron": text}
    for variant, (old, new) in _EQUATIONS.items():
        if text.count(old) != 1:
            raise RuntimeError(f"models/izhikevich_neuron.nestml no longer has the line with {old!r} that "
                               f"Izhikevich's {variant} panels change")
        sources[f"izhikevich_{variant}_neuron"] = text.replace(old, new).replace(
            "model izhikevich_neuron:", f"model izhikevich_{variant}_neuron:")
    return build_models(sources, solver=solver, suffix="_izhikevich2004", log=progress)


def izhikevich_nest(panel: IzhikevichPanel, model: str) -> Run:
    """The panel on a NEST model: ``I_e`` follows the script's current; spikes on the script's clock."""
    import nest

    reset_kernel()
    nest.resolution = panel.tau
    t, current = panel_current(panel)
    neuron = nest.Create(model, params={"a": panel.a, "b": panel.b, "c": panel.c, "d": panel.d, "V_th": 30.0,
                                        "V_m": panel.v0, "U_m": panel.u_start, "I_e": current[0]})
    mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": panel.tau})
    sr = nest.Create("spike_recorder")
    nest.Connect(mm, neuron)
    nest.Connect(neuron, sr)
    changes = np.flatnonzero(np.diff(current)) + 1
    starts = np.concatenate([[0], changes])
    ends = np.concatenate([changes, [len(t)]])
    try:
        with nest.RunManager():
            for i, j in zip(starts, ends):
                neuron.I_e = float(current[i])   # set_status also refuses a state that is no longer finite
                nest.Run((j - i) * panel.tau)
    except nest.NESTError as exc:   # e.g. rk45 carrying the quadratic's blow-up past the cut-off to NaN
        reason = str(exc).splitlines()[0]
        return Run(np.array([]), t[:0], t[:0], f"the integration failed: {reason}", False)
    spikes = np.asarray(sr.events["times"], float) - panel.tau   # the step that crossed, as the script counts
    v = np.asarray(mm.events["V_m"], float)
    v = np.where(np.isin(np.round(mm.events["times"] - panel.tau, 6), np.round(spikes, 6)), 30.0, v)
    return _judged(panel, np.round(spikes, 6), t[:len(v)], v)


# --- Naud et al. (2008) ----------------------------------------------------------------------------------------

def naud_euler(values: tuple, t_ms: float, dt: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The AdEx of Naud et al. by forward Euler (their and Brian2's example's integration): spike times, the
    step times and V at each.
    """
    c, g_l, e_l, v_t, d_t, a, tau_w, b, v_r, i = values
    steps = int(round(t_ms / dt))
    v, w, spikes, trace = float(e_l), 0.0, [], np.empty(steps)
    for k in range(steps):
        dv = (-g_l * (v - e_l) + g_l * d_t * np.exp((v - v_t) / d_t) + i - w) / c
        dw = (a * (v - e_l) - w) / tau_w
        v, w = v + dt * dv, w + dt * dw
        if v > 0:
            v, w = v_r, w + b
            spikes.append((k + 1) * dt)
        trace[k] = v
    return np.array(spikes), dt * np.arange(1, steps + 1), trace


def classify(spikes: np.ndarray, t_ms: float) -> tuple[str, str, dict]:
    """``(onset, steady, measures)`` of a spike train under a step current from t = 0 (module docstring)."""
    n = len(spikes)
    if n == 0:
        return "", "silent", {}
    measures = {"latency_ms": float(spikes[0])}
    if spikes[-1] < t_ms / 4:
        return "", "transient", measures
    isi = np.diff(spikes)
    drops = np.flatnonzero(isi[1:] < isi[:-1] / 3) + 1 if len(isi) > 1 else np.array([], int)
    measures["drops"] = len(drops)
    if len(drops) >= 2:
        sizes = np.diff(drops)                                  # spikes per burst after the first
        long = isi[drops - 1]                                   # the interval before each burst
        regular = len(set(sizes.tolist())) <= 1 and np.std(long[1:]) < 0.05 * np.mean(long[1:])
        steady = "bursting" if regular else "irregular"
    else:
        jumps = [k for k in range(min(3, len(isi) - 1)) if isi[k + 1] > 3 * isi[k]]
        rest = isi[ADAPTATION_SKIP:]
        a_index = float(np.mean(np.diff(rest) / (rest[1:] + rest[:-1]))) if len(rest) > 1 else 0.0
        measures["adaptation_index"] = a_index
        steady = "adapting" if a_index > 0.003 else "accelerating" if a_index < -0.003 else "tonic"
        if jumps:
            return "initial burst", steady, measures
    delayed = n > 1 and spikes[0] > 25.0 and spikes[0] > 1.5 * isi[0]
    return ("delayed" if delayed else ""), steady, measures


def _naud_run(spikes, t, v, expected, t_ms) -> Run:
    onset, steady, m = classify(spikes, t_ms)
    found = " ".join(x for x in (onset, steady) if x)
    said = f"{found} ({len(spikes)} spikes" + (f", A = {m['adaptation_index']:+.4f}" if "adaptation_index" in m
                                              else "") + ")"
    return Run(spikes, t, v, said, (onset, steady) == expected)


def naud_nest(p: FiringPatternsParams, models: dict) -> dict:
    """Every Naud pattern on each NEST model of ``models`` ({label: NEST name}), one kernel per model."""
    import nest

    out = {}
    for label, model in models.items():
        reset_kernel()
        nest.resolution = p.naud_resolution_ms
        params = [dict(zip(NAUD_FIELDS, map(float, values)), V_peak=0.0, t_ref=0.0, V_m=float(values[2]), w=0.0)
                  for values, _ in NAUD_2008.values()]
        neurons = nest.Create(model, len(params), params=params)
        mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": p.naud_resolution_ms})
        sr = nest.Create("spike_recorder")
        nest.Connect(mm, neurons)
        nest.Connect(neurons, sr)
        nest.Simulate(p.naud_t_ms)
        trains = common.spikes_by_sender(sr, neurons)
        mev = parallel.events(mm, ("senders", "times", "V_m"))
        for k, (name, (_, expected)) in enumerate(NAUD_2008.items()):
            sel = mev["senders"] == neurons[k].global_id
            out.setdefault(name, {})[label] = _naud_run(trains[k], mev["times"][sel], mev["V_m"][sel], expected,
                                                        p.naud_t_ms)
    return out


def run(p: FiringPatternsParams, progress=None) -> FiringPatternsResult:
    """Run every panel of the chosen families, on NEST and on the published scripts' arithmetic."""
    import nest

    say = progress or (lambda line: None)
    nest.verbosity = nest.VerbosityLevel.ERROR
    izh, naud, models = {}, {}, {}
    reset_kernel()   # modules are installed before any node exists; each run's reset reinstalls them
    mod = izhikevich_models(p.solver, progress).install() if "izhikevich" in p.families else None
    cat = catalog.module() if "naud" in p.families else None
    if mod is not None:
        for panel in IZHIKEVICH_2004:
            name = "izhikevich_neuron" if panel.equation == "standard" else f"izhikevich_{panel.equation}_neuron"
            models[f"izhikevich {panel.equation}"] = mod.neuron(name)
            izh[panel.key] = {"nest": izhikevich_nest(panel, mod.neuron(name)), "script": izhikevich_script(panel)}
            say(f"[firing-patterns] Izhikevich {panel.key} {panel.name}: {izh[panel.key]['nest'].verdict}")
    if cat is not None:
        models["naud catalog"] = cat.neuron("aeif_cond_exp_neuron")
        models["naud nest"] = "aeif_cond_exp"
        naud = naud_nest(p, {"catalog": models["naud catalog"], "nest": "aeif_cond_exp"})
        for name, (values, expected) in NAUD_2008.items():
            naud[name]["euler"] = _naud_run(*naud_euler(values, p.naud_t_ms, p.naud_resolution_ms), expected,
                                            p.naud_t_ms)
            say(f"[firing-patterns] Naud {name}: {naud[name]['catalog'].verdict}")
    return FiringPatternsResult(p, izh, naud, models, provenance())


def save(result: FiringPatternsResult, out_dir: Path | str) -> dict[str, Path]:
    """Write the verdict table, the spike times and the figures into ``out_dir``; return the paths."""
    rows = []
    for panel in IZHIKEVICH_2004:
        if panel.key in result.izhikevich:
            runs = result.izhikevich[panel.key]
            rows.append(["izhikevich_2004", f"{panel.key} {panel.name}", panel.criterion,
                         runs["nest"].verdict, runs["nest"].ok, runs["script"].verdict, runs["script"].ok,
                         " ".join(f"{x:g}" for x in runs["nest"].spikes)])
    for name, runs in result.naud.items():
        expected = " ".join(x for x in NAUD_2008[name][1] if x)
        rows.append(["naud_2008", name, expected, runs["catalog"].verdict, runs["catalog"].ok,
                     runs["euler"].verdict, runs["euler"].ok, " ".join(f"{x:g}" for x in runs["catalog"].spikes)])
    for name, runs in result.naud.items():
        rows.append(["naud_2008_nest_builtin", name, " ".join(x for x in NAUD_2008[name][1] if x),
                     runs["nest"].verdict, runs["nest"].ok, "", "", " ".join(f"{x:g}" for x in runs["nest"].spikes)])
    return common.save_table(out_dir, "firing_patterns",
                             ["family", "pattern", "published", "measured", "reproduced", "reference", "reference_ok",
                              "spike_times_ms"], rows,
                             {"params": asdict(result.params), "models": result.models,
                              "failures": result.failures(), "provenance": result.provenance})


def plot(result: FiringPatternsResult, out_dir: Path | str) -> Path:
    """One figure per family, laid out as the paper's; returns the first written."""
    plt = common.pyplot()
    written = []
    if result.izhikevich:
        fig, axes = plt.subplots(5, 4, figsize=(11, 11))
        for ax, panel in zip(axes.flat, IZHIKEVICH_2004):
            runs = result.izhikevich[panel.key]
            ax.plot(runs["script"].t, runs["script"].v, color="0.7", lw=2.2, label="figure1.m (Python)")
            ax.plot(runs["nest"].t, runs["nest"].v, color="C0", lw=0.8, label="catalog neuron in NEST")
            cur = np.broadcast_to(np.asarray(panel.current(runs["script"].t), float), runs["script"].t.shape)
            span = max(np.ptp(cur), 1e-9)
            ax.plot(runs["script"].t, -95 + 12 * (cur - cur.min()) / span, color="k", lw=0.8)
            mark = "" if runs["nest"].ok else "  [not reproduced]"
            ax.set_title(f"({panel.key}) {panel.name}{mark}", fontsize=8, color="k" if runs["nest"].ok else "C3")
            ax.set_ylim(-100, 35)
            ax.tick_params(labelsize=6)
        axes[0, 0].legend(fontsize=6, frameon=False, loc="upper right")
        fig.suptitle(f"Izhikevich (2004) Fig. 1 on {result.models.get('izhikevich standard', '')} "
                     f"({result.params.solver}); V (mV) over t (ms), input current below", fontsize=9)
        fig.tight_layout()
        written.append(common.save_figure(fig, out_dir, "izhikevich_2004.png", dpi=110))
    if result.naud:
        fig, axes = plt.subplots(4, 2, figsize=(10, 9), sharex=True)
        for ax, (name, runs) in zip(axes.flat, result.naud.items()):
            ax.plot(runs["euler"].t, runs["euler"].v, color="0.7", lw=2.0, label="forward Euler (Python)")
            ax.plot(runs["nest"].t, runs["nest"].v, color="C1", lw=0.8, label="NEST aeif_cond_exp")
            ax.plot(runs["catalog"].t, runs["catalog"].v, color="C0", lw=0.8, label="catalog neuron")
            ax.set_title(f"{name}: {runs['catalog'].verdict}", fontsize=8,
                         color="k" if runs["catalog"].ok else "C3")
            ax.set_ylim(-75, 5)
            ax.tick_params(labelsize=6)
        for ax in axes[-1]:
            ax.set_xlabel("t (ms)", fontsize=7)
        fig.suptitle("Naud et al. (2008) Fig. 4 on the catalog's AdEx; V (mV)", fontsize=9)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=7, frameon=False)
        written.append(common.save_figure(fig, out_dir, "naud_2008.png", dpi=110))
    return written[0]


def summary(result: FiringPatternsResult) -> list[str]:
    """One line per family: how many panels meet their published criterion, and which do not."""
    lines = []
    if result.izhikevich:
        ok = sum(r["nest"].ok for r in result.izhikevich.values())
        same = sum(same_spikes(r["nest"], r["script"]) for r in result.izhikevich.values())
        gap = max(v_gap(r["nest"], r["script"]) for r in result.izhikevich.values())
        lines.append(f"Izhikevich (2004): {ok}/{len(result.izhikevich)} panels reproduced; spike times equal to "
                     f"his script's in {same}; largest |V - V_script| {gap:.1e} mV")
    if result.naud:
        for label in ("catalog", "nest", "euler"):
            ok = sum(r[label].ok for r in result.naud.values())
            lines.append(f"Naud et al. (2008), {label}: {ok}/{len(result.naud)} patterns classified as published")
    lines += [f"not reproduced: {f}" for f in result.failures()]
    return lines


EXPERIMENT = Experiment(FiringPatternsParams, run, save, plot, summary,
                        help="published firing patterns (Izhikevich 2004, Naud et al. 2008) on the catalog neurons")
