"""STDP window: final weight change versus dt = t_post - t_pre, all dt side by side in one NEST simulation."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nestml_lab import module as catalog
from nestml_lab.provenance import provenance

BUILTIN_PREFIX = "nest:"


@dataclass(frozen=True)
class StdpWindowParams:
    """Parameters of the STDP-window protocol.

    A synapse name is a catalog synapse (``stdp_synapse``) or a NEST built-in
    written ``nest:stdp_synapse``; likewise the neuron (``nest:iaf_psc_exp``).
    """

    synapse: str = "stdp_synapse"
    neuron: str = "iaf_psc_exp_neuron"
    dt_min_ms: float = -100.0          # first dt = t_post - t_pre (ms)
    dt_max_ms: float = 100.0           # last dt (ms)
    n_dt: int = 101                    # points of the sweep
    n_pairings: int = 60               # pre/post pairings per dt
    frequency_hz: float = 1.0          # pairing frequency (Hz)
    delay_ms: float = 1.0              # synaptic (dendritic) delay (ms)
    resolution_ms: float = 0.1         # simulation step (ms)
    w0: float = 50.0                   # initial weight
    drive_weight: float | None = None  # weight of the kick that makes the post neuron fire; None: smallest
                                       # power of two that gives exactly one spike
    synapse_params: dict = field(default_factory=dict)   # extra synapse parameters
    neuron_params: dict = field(default_factory=dict)    # extra neuron parameters
    one_simulation: bool = True        # False: one simulation per dt (the seed notebook's loop)

    def __post_init__(self):
        if self.n_dt < 1 or self.n_pairings < 1:
            raise ValueError("n_dt and n_pairings must be at least 1")
        if self.frequency_hz <= 0:
            raise ValueError("frequency_hz must be positive")
        period = 1000.0 / self.frequency_hz
        span = max(abs(self.dt_min_ms), abs(self.dt_max_ms))
        if 2 * span + 2 * self.delay_ms >= period:
            raise ValueError(f"|dt| up to {span} ms does not fit into the pairing period {period} ms: "
                             "pairings would overlap")

    def dts(self) -> np.ndarray:
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


def _models(p: StdpWindowParams) -> tuple[str, str]:
    syn_builtin = p.synapse.startswith(BUILTIN_PREFIX)
    neu_builtin = p.neuron.startswith(BUILTIN_PREFIX)
    if syn_builtin:
        synapse = p.synapse[len(BUILTIN_PREFIX):]
        neuron = p.neuron[len(BUILTIN_PREFIX):] if neu_builtin else catalog.neuron_model(p.neuron)
    elif neu_builtin:
        raise ValueError("a catalog plastic synapse needs a catalog neuron (they are co-generated)")
    else:
        spec = catalog.manifest().synapses.get(p.synapse)
        if spec is None:
            raise KeyError(f"unknown synapse {p.synapse!r}; catalog: {', '.join(catalog.manifest().synapses)}; "
                           f"or a NEST built-in as nest:<name>")
        if spec.needs_partner:
            neuron, synapse = catalog.pair_models(p.neuron, p.synapse)
        else:
            neuron, synapse = catalog.neuron_model(p.neuron), catalog.synapse_model(p.synapse)
    return neuron, synapse


def _check_names(nest, model: str, params: dict, kind: str) -> None:
    known = nest.GetDefaults(model)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise KeyError(f"unknown {kind} parameter(s) {unknown} of {model}; it has: {', '.join(sorted(known))}")


def _kick(nest, neuron: str, p: StdpWindowParams, weight: float) -> np.ndarray:
    catalog.reset_kernel()
    nest.resolution = p.resolution_ms
    n = nest.Create(neuron, params=p.neuron_params)
    sg = nest.Create("spike_generator", params={"spike_times": [10.0]})
    sr = nest.Create("spike_recorder")
    nest.Connect(sg, n, syn_spec={"weight": weight, "delay": p.resolution_ms})
    nest.Connect(n, sr)
    nest.Simulate(60.0)
    return sr.events["times"] - 10.0


def _calibrate_drive(nest, neuron: str, p: StdpWindowParams) -> tuple[float, float]:
    """Kick weight and the latency (ms) from the kick's emission to the post neuron's single spike."""
    weights = [p.drive_weight] if p.drive_weight is not None else [2.0 ** k for k in range(0, 21)]
    for w in weights:
        times = _kick(nest, neuron, p, w)
        if len(times) == 1:
            return w, float(times[0])
        if len(times) > 1:
            break
    raise RuntimeError(f"no kick weight in {weights[0]:g}..{w:g} makes {neuron} fire exactly one spike "
                       f"(last: {len(times)} spikes); set drive_weight")


def _simulate(nest, neuron: str, synapse: str, p: StdpWindowParams, dts: np.ndarray, drive: float,
              latency: float):
    catalog.reset_kernel()
    nest.resolution = p.resolution_ms
    period = 1000.0 / p.frequency_hz
    t0 = max(abs(p.dt_min_ms), abs(p.dt_max_ms)) + latency + 10.0
    n = len(dts)
    pre = nest.Create("parrot_neuron", n)
    post = nest.Create(neuron, n, params=p.neuron_params)
    pre_times, post_times = [], []
    for k, dt in enumerate(dts):
        base = t0 + np.arange(p.n_pairings) * period
        pre_t = np.round(base / p.resolution_ms) * p.resolution_ms
        post_t = np.round((base + dt) / p.resolution_ms) * p.resolution_ms
        pre_times.append(pre_t)
        post_times.append(post_t)
    sg_pre = nest.Create("spike_generator", n, params=[{"spike_times": t - p.resolution_ms} for t in pre_times])
    kick = [np.round((t - latency) / p.resolution_ms) * p.resolution_ms for t in post_times]
    sg_post = nest.Create("spike_generator", n, params=[{"spike_times": t} for t in kick])
    nest.Connect(sg_pre, pre, "one_to_one", syn_spec={"delay": p.resolution_ms})
    nest.Connect(sg_post, post, "one_to_one", syn_spec={"weight": drive, "delay": p.resolution_ms})
    syn_spec = {"synapse_model": synapse, "weight": p.w0, "delay": p.delay_ms, **p.synapse_params}
    nest.Connect(pre, post, "one_to_one", syn_spec=syn_spec)
    sr_pre, sr_post = nest.Create("spike_recorder"), nest.Create("spike_recorder")
    nest.Connect(pre, sr_pre)
    nest.Connect(post, sr_post)
    t_end = t0 + (p.n_pairings - 1) * period + max(abs(p.dt_min_ms), abs(p.dt_max_ms)) + p.delay_ms + 10.0
    nest.Simulate(t_end)
    conns = nest.GetConnections(source=pre, synapse_model=synapse)
    src = np.atleast_1d(conns.get("source"))
    w = np.atleast_1d(np.asarray(conns.get("weight"), dtype=float))
    order = np.argsort(src)
    w = w[order]

    ev_post = sr_post.events
    ev_pre = sr_pre.events
    measured = []
    for k in range(n):
        got_post = np.sort(ev_post["times"][ev_post["senders"] == post[k].global_id])
        got_pre = np.sort(ev_pre["times"][ev_pre["senders"] == pre[k].global_id])
        if len(got_post) != p.n_pairings or not np.allclose(got_post, post_times[k], atol=p.resolution_ms / 2):
            raise RuntimeError(f"post neuron {k} (dt = {dts[k]} ms) fired {len(got_post)} spikes, not the "
                               f"{p.n_pairings} intended at the intended times: the drive or a plastic input "
                               "disturbed it")
        if len(got_pre) != p.n_pairings:
            raise RuntimeError(f"pre neuron {k} fired {len(got_pre)} spikes, expected {p.n_pairings}")
        measured.append(float(got_post[0] - got_pre[0]))
    return np.asarray(measured), w


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

    nest.verbosity = nest.VerbosityLevel.ERROR
    catalog.install_module()
    neuron, synapse = _models(p)
    _check_names(nest, synapse, p.synapse_params, "synapse")
    _check_names(nest, neuron, p.neuron_params, "neuron")
    drive, latency = _calibrate_drive(nest, neuron, p)
    dts = p.dts()
    if p.one_simulation:
        dt_ms, w = _simulate(nest, neuron, synapse, p, dts, drive, latency)
    else:
        parts = []
        for i, dt in enumerate(dts):
            parts.append(_simulate(nest, neuron, synapse, p, np.array([dt]), drive, latency))
            if progress:
                progress(f"[stdp-window] dt {i + 1}/{len(dts)}")
        dt_ms = np.concatenate([a for a, _ in parts])
        w = np.concatenate([b for _, b in parts])
    return StdpWindowResult(p, dt_ms, w - p.w0, p.w0, {"neuron": neuron, "synapse": synapse}, provenance())


def save(result: StdpWindowResult, out_dir: Path | str) -> dict[str, Path]:
    """Write ``window.csv`` (dt_ms, dw) and ``window.json`` (parameters + provenance) into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = out / "window.csv", out / "window.json"
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["dt_ms", "dw"])
        writer.writerows(zip(result.dt_ms.tolist(), result.dw.tolist()))
    json_path.write_text(json.dumps({"params": asdict(result.params), "models": result.models,
                                     "w0": result.w0, "provenance": result.provenance}, indent=1))
    return {"csv": csv_path, "json": json_path}


def plot(result: StdpWindowResult, out_dir: Path | str) -> Path:
    """Figure of dw versus dt, written as ``window.png`` into ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = result.params
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.8)
    ax.plot(result.dt_ms, result.dw, "o-", ms=3, lw=1)
    ax.set_xlabel(r"$\Delta t = t_\mathrm{post} - t_\mathrm{pre}$ (ms)")
    ax.set_ylabel(r"$\Delta w$")
    ax.set_title(f"{p.synapse} on {p.neuron}: {p.n_pairings} pairings at {p.frequency_hz:g} Hz, "
                 f"delay {p.delay_ms:g} ms", fontsize=9)
    fig.tight_layout()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "window.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
