"""Running a tree: its network built (:mod:`~nestml_lab.networks.build`), then its sessions in order, each
in pieces with progress, and what each recorded gathered (merged over MPI processes:
:mod:`nestml_lab.parallel`).
"""

from __future__ import annotations

import time

import numpy as np

from nestml_lab.networks.build import NestStep, build, value
from nestml_lab.networks.storage import RunData
from nestml_lab.networks.tree import Tree
from nestml_lab.provenance import peak_rss_mb, provenance

#: Sessions run in pieces of this much model time (ms), so that long ones can report progress; NEST's
#: Run() in pieces gives the same network state and spikes as one Simulate() (tested).
CHUNK_MS = 200.0
#: Seconds of wall time between two progress lines of one session (none for sessions shorter than this).
PROGRESS_EVERY_S = 10.0


def _on_terminal() -> bool:
    import sys

    return sys.stderr.isatty()


def simulate_in_chunks(nest, duration_ms: float, resolution_ms: float, say, label: str,
                       bar: bool | None = None) -> None:
    """``nest.Simulate(duration_ms)`` as Prepare, Run in pieces, Cleanup.

    A session that takes longer than :data:`PROGRESS_EVERY_S` shows its progress: on a terminal
    (``bar``; default: when stderr is one) a tqdm bar on stderr with the time left, otherwise a line
    through ``say`` every :data:`PROGRESS_EVERY_S` (done, elapsed, an estimate of what is left), so
    that logs of batch jobs stay readable.
    """
    steps = int(round(duration_ms / resolution_ms))
    per_chunk = max(1, int(round(CHUNK_MS / resolution_ms)))
    if steps <= per_chunk:
        nest.Simulate(duration_ms)
        return
    progress_bar = None
    if bar if bar is not None else _on_terminal():
        from tqdm import tqdm

        progress_bar = tqdm(total=round(duration_ms), unit="ms", desc=label, delay=PROGRESS_EVERY_S, leave=False,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} ms model time "
                                       "[{elapsed}<{remaining}]")
    t0 = last = time.perf_counter()
    nest.Prepare()
    try:
        done = 0
        while done < steps:
            n = min(per_chunk, steps - done)
            nest.Run(n * resolution_ms)
            done += n
            now = time.perf_counter()
            if progress_bar is not None:
                progress_bar.update(round(done * resolution_ms) - progress_bar.n)
            elif now - last >= PROGRESS_EVERY_S and done < steps:
                last = now
                left = (now - t0) * (steps - done) / done
                say(f"{label}: {100 * done / steps:3.0f} % of {duration_ms:g} ms, {now - t0:.0f} s so far, "
                    f"about {left:.0f} s left")
    finally:
        nest.Cleanup()
        if progress_bar is not None:
            progress_bar.close()


def simulate(tree: Tree, progress=None) -> RunData:
    """Build the network, run the sessions in order, and return what was recorded (nothing is written).

    Parameters
    ----------
    tree : Tree
        From :func:`~nestml_lab.networks.parse` or :func:`~nestml_lab.networks.read`.
    progress : callable, optional
        Takes progress lines (rank 0 only); on a terminal, long sessions also show a bar.

    Returns
    -------
    RunData
        Spike times in ms, weights in the synapse's unit, the resolved tree, versions and session times; under
        MPI every process holds the whole run.

    Raises
    ------
    TreeError
        A model not found in the tree's modules or the catalog, too few virtual processes, or NEST refusing a
        step (the message names the path in the tree).
    """
    import nest

    from nestml_lab import parallel

    say = progress if progress and parallel.is_root() else (lambda line: None)
    net = build(nest, tree, say)
    step = NestStep(nest, tree.source)
    recorder_ids = net.recorder_ids()
    times, spikes, weights, analog = {}, {}, {}, {}
    t_model = 0.0
    for name, s in tree.sessions.items():
        for j, change in enumerate(s["unit_changes"]):
            with step(f"sessions.{name}.unit_changes[{j}]"):
                target = net.devices.get(change["population"], net.pops[change["population"]])   # parrots: devices
                target.set({k: value(nest, v) for k, v in change["nest_params"].items()})
        for sr in [*net.spike_recorders.values(), *(mm for mm, _ in net.multimeters.values())]:
            sr.n_events = 0   # each session's data is its own
        t0 = time.perf_counter()
        with step(f"sessions.{name}"):
            simulate_in_chunks(nest, float(s["simulation_time_ms"]), tree.kernel["resolution_ms"], say,
                               f"[tree] session {name}", bar=None if progress and parallel.is_root() else False)
        wall = time.perf_counter() - t0
        times[name] = {"start_ms": t_model, "end_ms": t_model + float(s["simulation_time_ms"]), "wall_s": wall}
        t_model += float(s["simulation_time_ms"])
        if s["record"]:
            spikes[name] = {r: _spikes(parallel.events(sr)) for r, sr in net.spike_recorders.items()}
            analog[name] = {r: parallel.events(mm, ("senders", "times", *variables))
                            for r, (mm, variables) in net.multimeters.items()}
            weights[name] = {r: _weights(nest, sources, models, recorder_ids)
                             for r, (sources, models) in net.weight_samples.items()}
        say(f"[tree] session {name}: {s['simulation_time_ms']:g} ms in {wall:.1f} s")
    per_process = parallel.allgather({"build_s": net.build_s, "peak_rss_mb": peak_rss_mb(),
                                      "simulate_s": sum(t["wall_s"] for t in times.values())})
    info = {"tree": tree.source, "first_ids": {name: int(p[0].global_id) for name, p in net.pops.items()},
            "sizes": {n: len(p) for n, p in net.pops.items()}, **parallel.layout(),
            "build_s": max(p["build_s"] for p in per_process),
            "peak_rss_mb": max(p["peak_rss_mb"] for p in per_process), "per_process": per_process,
            "modules": {m.name: {"project": str(m.project), "source_hash": m.stamp["source_hash"],
                                 "so_sha256": m.stamp["so_sha256"]} for m in net.modules},
            "memory_estimate_mb": net.memory_estimate / 1e6}
    return RunData(tree.resolved(), {**provenance(), **info}, times, spikes, weights, analog, net.positions)


def _spikes(events: dict) -> tuple:
    return events["senders"], events["times"]


def _weights(nest, sources, models: list, recorder_ids: np.ndarray) -> tuple:
    """(sources, targets, weights) of the sampled sources' connections of ``models`` (the synapse model and its
    copies), gathered from every process; not the links to recorders.
    """
    from nestml_lab import parallel

    got = [parallel.connections(nest.GetConnections(source=sources, synapse_model=m)) for m in models]
    keys = ("source", "target", "weight")
    merged = {k: np.concatenate([g[k] for g in got]).astype(int if k != "weight" else float) for k in keys}
    keep = ~np.isin(merged["target"], recorder_ids)
    return tuple(merged[k][keep] for k in keys)
