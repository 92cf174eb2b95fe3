"""What the plasticity experiments share: model names, parameter checks, and a post neuron made to fire on time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nestml_lab import atomic, parallel
from nestml_lab import catalog, paths
from nestml_lab.module import Module, load as load_module, reset_kernel

BUILTIN_PREFIX = "nest:"
#: Colours of excitatory and inhibitory cells in every figure.
EXC_COLOR, INH_COLOR = "C0", "C3"


def project_value(project) -> str | None:
    """An experiment's ``project`` as it is stored in its parameters: a folder (text), or None (the catalog).

    Python callers may pass a folder, a manifest path or a loaded :class:`~nestml_lab.module.Module`.
    """
    if project is None:
        return None
    if isinstance(project, Module):
        return str(project.project)
    return str(Path(project))


def project_module(project) -> Module:
    """The module whose models an experiment's names refer to, checked and installed into NEST.

    ``project``: a project folder or manifest (or a loaded Module); None is the catalog (``models/``).
    Other modules installed before stay installed (:func:`nestml_lab.module.reset_kernel`).
    """
    if isinstance(project, Module):
        return project.check().install()
    if project is None:
        return catalog.module()
    return load_module(project)


def resolve_models(synapse: str, neuron: str, mod: Module | None = None) -> tuple[str, str]:
    """NEST names ``(neuron, synapse)`` for a synapse on a neuron of a module (default: the catalog), or NEST
    built-ins.

    A NEST built-in is written ``nest:<name>`` (``nest:stdp_synapse``,
    ``nest:iaf_psc_exp``). A plastic synapse that reads the postsynaptic neuron
    exists only co-generated with a neuron of its module, so it cannot be put on a built-in neuron.
    """
    mod = mod if mod is not None else catalog.stamp()
    where = "the catalog" if mod.project == paths.MODELS_DIR else f"{mod.name} ({mod.project})"
    syn_builtin = synapse.startswith(BUILTIN_PREFIX)
    neu_builtin = neuron.startswith(BUILTIN_PREFIX)
    if syn_builtin:
        nest_synapse = synapse[len(BUILTIN_PREFIX):]
        nest_neuron = neuron[len(BUILTIN_PREFIX):] if neu_builtin else mod.neuron(neuron)
        check_builtin(nest_synapse, "synapse")
        if neu_builtin:
            check_builtin(nest_neuron, "neuron")
        return nest_neuron, nest_synapse
    m = mod.manifest
    spec = m.synapses.get(synapse)
    if spec is None:
        raise KeyError(f"unknown synapse {synapse!r}; {where} has: {', '.join(m.synapses) or 'none'}; "
                       f"name a NEST built-in as {BUILTIN_PREFIX}<name>, or another project with --project DIR")
    if neu_builtin:
        if spec.needs_partner:
            raise ValueError(f"{synapse} of {where} is co-generated with its module's neurons and cannot be "
                             f"used on the NEST built-in {neuron}")
        check_builtin(neuron[len(BUILTIN_PREFIX):], "neuron")
        return neuron[len(BUILTIN_PREFIX):], mod.synapse(synapse)
    if neuron not in m.neurons and neuron not in {p.neuron for p in m.pairs}:
        raise KeyError(f"unknown neuron {neuron!r}; {where} has: "
                       f"{', '.join(sorted(set(m.neurons) | {p.neuron for p in m.pairs})) or 'none'}")
    if spec.needs_partner:
        return mod.pair(neuron, synapse)
    return mod.neuron(neuron), mod.synapse(synapse)


def check_builtin(name: str, kind: str) -> None:
    """Raise ``KeyError`` if NEST has no built-in ``kind`` ("neuron" or "synapse") model ``name``, naming the
    closest ones ("did you mean iaf_psc_delta?").
    """
    import nest

    known = nest.synapse_models if kind == "synapse" else nest.node_models
    if name not in known:
        import difflib

        builtin = sorted(m for m in known if "_nestml" not in m and not m.endswith(("_hpc", "_lbl"))
                         and ("stdp" in m or "tsodyks" in m or kind == "neuron"))
        close = difflib.get_close_matches(name, builtin, n=3)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise KeyError(f"NEST has no {kind} model {name!r}; {hint}e.g. {', '.join(builtin[:40])}")


_NEST_KEYS = {"element_type", "has_delay", "num_connections", "receptor_type", "requires_symmetric", "sizeof",
              "synapse_model", "synapse_modelid", "weight_recorder", "model", "model_id", "global_id", "local_id",
              "node_uses_wfr", "thread", "thread_local_id", "vp", "frozen", "recordables", "post_trace"}


def check_names(model: str, params: dict, kind: str, neuron: str | None = None) -> None:
    """Raise ``KeyError`` listing the model's parameters if ``params`` names one it does not have.

    With ``neuron`` (the co-generated partner of a synapse), a name NESTML
    moved into the neuron gets a hint naming the neuron's parameter.
    """
    import nest

    known = nest.GetDefaults(model)
    unknown = sorted(set(params) - set(known))
    if not unknown:
        return
    hints = []
    if neuron is not None:
        neuron_keys = nest.GetDefaults(neuron)
        from nestml_lab.codegen import names

        for name in unknown:
            moved = f"{name}{names.MOVED_VARIABLE}{names.own_name(model)}"
            if moved in neuron_keys:
                hints.append(f"{name} is a parameter of the postsynaptic neuron after co-generation: "
                             f"set {moved} on the neuron (--neuron-param / neuron_params)")
    have = ", ".join(sorted(k for k in known if k not in _NEST_KEYS))
    raise KeyError(f"unknown {kind} parameter(s) {unknown}; it has: {have}" + ("; " + "; ".join(hints) if hints
                                                                                 else ""))


def _kick(neuron: str, resolution_ms: float, neuron_params: dict, weight: float) -> np.ndarray:
    import nest

    reset_kernel()
    nest.resolution = resolution_ms
    n = nest.Create(neuron, params=neuron_params)
    sg = nest.Create("spike_generator", params={"spike_times": [10.0]})
    sr = nest.Create("spike_recorder")
    nest.Connect(sg, n, syn_spec={"weight": weight, "delay": resolution_ms})
    nest.Connect(n, sr)
    nest.Simulate(60.0)
    return parallel.events(sr)["times"] - 10.0


def calibrate_drive(neuron: str, resolution_ms: float, neuron_params: dict,
                    drive_weight: float | None = None) -> tuple[float, float]:
    """Weight of a kick that makes ``neuron`` fire exactly once, and the latency (ms) from kick to spike.

    Without ``drive_weight`` the smallest power of two (1 .. 2^20) that works
    is used, so that the kick disturbs the neuron as little as possible; if one
    power of two gives no spike and the next a burst, the weight in between is
    found by bisection.
    """
    if drive_weight is not None:
        times = _kick(neuron, resolution_ms, neuron_params, drive_weight)
        if len(times) != 1:
            raise RuntimeError(f"a kick of weight {drive_weight:g} makes {neuron} fire {len(times)} spikes, not 1")
        return drive_weight, float(times[0])
    low = 0.0
    for w in (2.0 ** k for k in range(0, 21)):
        times = _kick(neuron, resolution_ms, neuron_params, w)
        if len(times) == 1:
            # a margin: a stronger kick makes the latency insensitive to what is left of earlier spikes
            for stronger in (4.0 * w, 2.0 * w):
                t_strong = _kick(neuron, resolution_ms, neuron_params, stronger)
                if len(t_strong) == 1:
                    return stronger, float(t_strong[0])
            return w, float(times[0])
        if len(times) == 0:
            low = w
            continue
        high = w
        for _ in range(30):
            mid = 0.5 * (low + high)
            times = _kick(neuron, resolution_ms, neuron_params, mid)
            if len(times) == 1:
                return mid, float(times[0])
            low, high = (mid, high) if len(times) == 0 else (low, mid)
        break
    raise RuntimeError(f"no kick weight up to 2^20 makes {neuron} fire exactly one spike; set drive_weight")


def prepare(p) -> tuple[str, str, float, float]:
    """Load the module, resolve ``p.synapse`` / ``p.neuron``, check their parameters and calibrate the kick.

    ``p`` has project, synapse, neuron, synapse_params, neuron_params, resolution_ms and
    drive_weight. Returns the NEST names (neuron, synapse), the kick weight and
    the latency from kick to postsynaptic spike (ms).
    """
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    mod = project_module(p.project)
    neuron, synapse = resolve_models(p.synapse, p.neuron, mod)
    check_names(synapse, p.synapse_params, "synapse", neuron)
    check_names(neuron, p.neuron_params, "neuron")
    drive, latency = calibrate_drive(neuron, p.resolution_ms, p.neuron_params, p.drive_weight)
    return neuron, synapse, drive, latency


def on_grid(t, resolution_ms: float) -> np.ndarray:
    """Times rounded to the simulation grid."""
    return np.round(np.asarray(t, dtype=float) / resolution_ms) * resolution_ms


def final_weights(synapse: str, pre) -> np.ndarray:
    """Weights of the ``synapse`` connections leaving each node of ``pre``, in the order of ``pre``."""
    import nest

    got = parallel.connections(nest.GetConnections(source=pre, synapse_model=synapse), ("source", "weight"))
    if len(got["source"]) != len(pre):
        raise RuntimeError(f"expected one {synapse} connection per source, found {len(got['source'])} for {len(pre)}")
    return got["weight"].astype(float)   # sorted by source: the order of pre


def spikes_by_sender(recorder, nodes) -> list[np.ndarray]:
    """Sorted spike times of each node, from a spike recorder connected to all of them (from every MPI process)."""
    ev = parallel.events(recorder)
    return [np.sort(ev["times"][ev["senders"] == gid]) for gid in nodes.tolist()]


def mean_cv_isi(senders, times) -> float:
    """Mean coefficient of variation of the inter-spike intervals over the senders with >= 3 spikes (nan if none)."""
    senders, times = np.asarray(senders), np.asarray(times)
    order = np.lexsort((times, senders))
    s, t = senders[order], times[order]
    cvs = []
    for train in np.split(t, np.flatnonzero(s[1:] != s[:-1]) + 1):
        isi = np.diff(train)
        if len(isi) >= 2 and isi.mean() > 0:
            cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else float("nan")


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (experiments write figures; they never open windows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_table(out_dir, stem: str, header: list[str], rows, meta: dict) -> dict[str, Path]:
    """Write ``out_dir/stem.csv`` (``header``, then ``rows``) and ``out_dir/stem.json`` (``meta``).

    Returns ``{"csv": path, "json": path}``; the folder is created. Under MPI only rank 0 writes.
    """
    import csv
    import json

    out = Path(out_dir)

    def table(tmp: Path) -> None:
        with open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)

    return {"csv": atomic.write_file(out / f"{stem}.csv", table),
            "json": atomic.write_text(out / f"{stem}.json", json.dumps(meta, indent=1))}


def save_arrays(out_dir, json_name: str, meta: dict, npz_name: str, arrays: dict) -> tuple[Path, Path]:
    """Write ``meta`` as ``out_dir/json_name`` and ``arrays`` compressed as ``out_dir/npz_name``; return both paths.

    Under MPI only rank 0 writes.
    """
    import json

    out = Path(out_dir)

    def npz(tmp: Path) -> None:
        with open(tmp, "wb") as f:   # a file object: savez would add .npz to the temporary name
            np.savez_compressed(f, **arrays)

    npz_path = atomic.write_file(out / npz_name, npz)
    return atomic.write_text(out / json_name, json.dumps(meta, indent=1)), npz_path


def save_figure(fig, out_dir, name: str, dpi: int = 120) -> Path:
    """Write ``fig`` as ``out_dir/name`` (the folder is created; under MPI by rank 0), close it, return the path."""
    path = Path(out_dir) / name
    atomic.write_file(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".") or "png"))
    pyplot().close(fig)
    return path
