"""Sweeps of an experiment over a grid of its parameters, on Dask: one process per point, resumable.

::

    nestml-lab sweep stdp-window --grid frequency_hz=1,5,10 synapse_params.lambda=0.005,0.01 --workers 2
    nestml_lab.sweep("stdp-window", {"frequency_hz": [1, 5, 10]}, client=None)   # a LocalCluster

The module the experiment needs is built once, before anything is submitted (content-addressed, as
always); each point checks it by its stamp. Each point runs the experiment in a process of its own, in a
Dask worker (a local cluster of processes by default, one point at a time per worker; or the cluster of a
scheduler address, dask-jobqueue's for SLURM), and writes its run folder whole (``points/<key>/``, with
the experiment's files, its figure and ``point.json``). A point whose folder is whole is not run again; a
worker lost mid-point has its point run again elsewhere (Dask reschedules it); a point that fails for its
own reasons is reported with its error and the others go on. At the end: one table, every point's grid
values, status, the experiment's summary numbers and its folder (``sweep.csv``, ``sweep.parquet``), and
one figure per summary number over the grid (a line over one parameter, a heatmap over two).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from nestml_lab.sweeps.grid import Axis, GridError, Point, apply, grid_from_dict, parse_assignments, points

__all__ = ["sweep", "SweepResult", "GridError", "Axis", "Point", "parse_assignments"]


@dataclass
class SweepResult:
    """What a sweep did: the table (a pandas DataFrame), its files, and what ran, was found done, or failed."""

    folder: Path
    table: object                  # pandas.DataFrame, one row per point
    files: dict = field(default_factory=dict)
    ran: int = 0
    skipped: int = 0
    failed: list = field(default_factory=list)   # (point label, error)
    seconds: float = 0.0

    def __repr__(self) -> str:
        return (f"SweepResult({len(self.table)} points in {self.folder}: {self.ran} run, {self.skipped} found done, "
                f"{len(self.failed)} failed, {self.seconds:.1f} s)")


def _experiment(experiment):
    from nestml_lab.experiments.shared.contract import Experiment, registry

    if isinstance(experiment, Experiment) and experiment.name:
        return experiment
    name = str(experiment).replace("_", "-")
    found = registry()
    if name not in found:
        raise GridError(f"no experiment {experiment!r}; there are: {', '.join(found)}")
    return found[name]


def _module_stamp(exp, fixed: dict, log) -> dict | None:
    """Build (or find) the module the experiment's models come from, once; its stamp's path and hash."""
    from nestml_lab import paths
    from nestml_lab.project import make_module

    project = fixed.get("project")
    where = Path(project) if project else paths.MODELS_DIR
    if not (where / "module.yaml").is_file() and not str(where).endswith((".yaml", ".yml")):
        return None
    made = make_module(where, log=lambda line: log(line) if line.startswith(("[module]", "error")) else None)
    from nestml_lab.sweeps.point import file_sha256

    return {"path": str(made.module.stamp_path), "sha256": file_sha256(made.module.stamp_path)}


def _client(client, workers: int | None, scheduler: str | None):
    """The Dask client to submit to, and what this sweep opened (to close at its end): None for a given client."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ImportError("sweeps run on Dask: pip install 'dask[distributed]' pandas pyarrow "
                          "(or the toolkit's [sweep] extra)") from None
    if client is not None:
        return client, None
    if scheduler:
        opened = Client(scheduler)
        return opened, [opened]
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    opened = Client(cluster)
    return opened, [opened, cluster]


def sweep(experiment, grid, fixed: dict | None = None, seeds: int | None = None, out: str | Path | None = None,
          client=None, workers: int | None = None, scheduler: str | None = None, log=print) -> SweepResult:
    """Run ``experiment`` at every point of ``grid`` on Dask; return the table (see the module docstring).

    Parameters
    ----------
    experiment : str or Experiment
        A registered experiment (``"stdp-window"``).
    grid : dict or list
        ``{"frequency_hz": [1, 5, 10], "synapse_params.lambda": [0.005, 0.01]}``, or the command line's
        ``["frequency_hz=1,5,10", ...]``.
    fixed : dict, optional
        Other parameters, the same for every point (``{"n_pairings": 30}``; ``threads`` for NEST's threads).
    seeds : int, optional
        Each point with seeds 1..N (the experiment's ``seed`` parameter).
    out : path, optional
        The sweep's folder (default ``results/sweeps/<experiment>``); points in ``out/points/``.
    client : distributed.Client, optional
        Submit to this client; else ``scheduler`` (an address), else a local cluster of ``workers`` processes.
    log : callable
        Receives a line per finished point (done, failed and left) and the summary.
    """
    t0 = time.perf_counter()
    exp = _experiment(experiment)
    axes = grid_from_dict(exp, grid) if isinstance(grid, dict) else parse_assignments(exp, grid, many=True)
    if not axes:
        raise GridError("an empty grid: give at least one NAME=V1,V2")
    fixed_axes = parse_assignments(exp, [f"{k}={v}" for k, v in (fixed or {}).items()], many=False) \
        if isinstance(fixed, dict) else parse_assignments(exp, fixed or [], many=False)
    fixed_values = {a.name: a.values[0] for a in fixed_axes}
    clash = set(fixed_values) & {a.name for a in axes}
    if clash:
        raise GridError(f"{', '.join(sorted(clash))}: both swept and fixed")
    if seeds:
        from nestml_lab.experiments.shared.contract import parameters

        if "seed" not in {p.name for p in parameters(exp.params)}:
            raise GridError(f"{exp.name} has no seed parameter: it is deterministic, --seeds does not apply")
        axes.append(Axis("seed", tuple(range(1, int(seeds) + 1))))
    todo = points(axes)
    for p in todo:   # every point's parameters are valid before anything runs
        try:
            exp.params(**apply(exp, fixed_values, p.values))
        except (TypeError, ValueError) as exc:
            raise GridError(f"{p.label()}: {exc}") from None
    folder = Path(out) if out else Path("results") / "sweeps" / exp.folder
    (folder / "points").mkdir(parents=True, exist_ok=True)
    from nestml_lab.sweeps import point as point_mod
    from nestml_lab.sweeps import report

    records: dict[str, dict] = {}
    left = []
    for p in todo:
        done = point_mod.finished(folder / "points" / p.key)
        if done is not None:
            records[p.key] = {**done, "skipped": True}
        else:
            left.append(p)
    log(f"[sweep] {exp.name}: {len(todo)} points ({' x '.join(f'{len(a.values)} {a.name}' for a in axes)}), "
        f"{len(todo) - len(left)} done before, {len(left)} to run")
    failed = []
    if left:
        stamp = _module_stamp(exp, fixed_values, log)
        dask_client, opened = _client(client, workers, scheduler)
        try:
            failed = _run(dask_client, exp, left, fixed_values, folder, stamp, records, len(todo), log)
        finally:
            for thing in opened or ():
                thing.close()
    table = report.table(axes, todo, records, folder)
    files = report.write(table, axes, folder, exp.name)
    ran = sum(1 for r in records.values() if not r.get("skipped") and r.get("status") == "ok")
    result = SweepResult(folder, table, files, ran, len(todo) - len(left), failed, time.perf_counter() - t0)
    log(f"[sweep] {exp.name}: {result.ran} run, {result.skipped} found done, {len(failed)} failed in "
        f"{result.seconds:.1f} s: {', '.join(str(f) for f in files.values())}")
    return result


def _run(client, exp, left: list, fixed: dict, folder: Path, stamp, records: dict, total: int, log) -> list:
    from distributed import as_completed

    from nestml_lab.sweeps.point import run_point

    def submit(p: Point):
        spec = {"experiment": exp.name, "values": p.values, "fixed": fixed,
                "folder": str((folder / "points" / p.key).resolve()), "stamp": stamp}
        return client.submit(run_point, spec, key=f"{exp.name}-{p.key}-{time.time_ns()}", pure=False)

    # the first points alone when nothing has finished yet: what is wrong with every point (a parameter the
    # model does not have, a missing reference) shows once, before the rest are started; a first point that
    # fails for its own reasons (its values) does not stop the others
    failed = []
    errors = []
    while len(left) > 1 and len(errors) < 2 and not any(r.get("status") == "ok" for r in records.values()):
        first, left = left[0], left[1:]
        records[first.key] = _record(submit(first), first)
        _say(records[first.key], first, records, failed, total, log)
        if records[first.key].get("status") == "ok":
            break
        errors.append(re.sub(r"[-+.\deE]+", "#", str(records[first.key].get("error"))))
        if len(errors) == 2 and errors[0] == errors[1]:
            log(f"[sweep] the first two points failed alike; {len(left)} other point(s) not started (run the "
                "sweep again once it is fixed)")
            return failed
    futures = {submit(p): p for p in left}
    if _in_notebook():   # Dask's bar (it needs ipywidgets); the lines below say the same without one
        try:
            from distributed import progress

            progress(list(futures), notebook=True)
        except Exception:
            pass
    for fut in as_completed(list(futures)):
        p = futures[fut]
        records[p.key] = _record(fut, p)
        _say(records[p.key], p, records, failed, total, log)
    return failed


def _record(fut, p: Point) -> dict:
    try:
        return fut.result()
    except Exception as exc:   # the task itself failed (a worker lost too often, a cluster gone)
        return {"status": "failed", "values": p.values, "error": f"{type(exc).__name__}: {exc}"}


def _say(record: dict, p: Point, records: dict, failed: list, total: int, log) -> None:
    done = sum(1 for r in records.values() if r.get("status") == "ok")
    if record.get("status") != "ok":
        failed.append((p.label(), record.get("error")))
    what = f"{record.get('seconds', 0):.1f} s" if record.get("status") == "ok" else f"FAILED: {record['error']}"
    log(f"[sweep] {done}/{total} done, {len(failed)} failed, {total - done - len(failed)} left: {p.label()} ({what})")


def _in_notebook() -> bool:
    from nestml_lab.progress import in_notebook as inside

    return inside()
