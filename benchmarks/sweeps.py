"""Sweep benchmark: the same STDP-window sweep on a local Dask cluster of 1 and of 2 worker processes.

    python -m benchmarks.sweeps            # or: python -m benchmarks.run --only sweeps

Each run starts from an empty folder (nothing found done); the module is built before, so both time the
points and Dask, not the build. On 2 cores, close to 2x is the goal.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from benchmarks.common import log, summary


def bench_sweeps(quick: bool) -> dict:
    """Wall time of an 8-point STDP-window sweep on 1 and 2 workers, alternated, twice each (once in quick)."""
    from nestml_lab import paths
    from nestml_lab.project import make_module
    from nestml_lab.sweeps import sweep

    make_module(paths.MODELS_DIR, log=lambda line: None)
    grid = {"frequency_hz": [1.0, 2.0, 5.0, 10.0], "w0": [20.0, 50.0]}
    fixed = {"n_dt": 21 if quick else 51, "n_pairings": 20 if quick else 60, "dt_min_ms": -50.0, "dt_max_ms": 50.0}
    times: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(1 if quick else 2):
        for workers in (1, 2):
            folder = Path(tempfile.mkdtemp(prefix=f"bench-sweep-{workers}-"))
            t = time.perf_counter()
            r = sweep("stdp-window", grid, fixed=fixed, out=folder, workers=workers, log=lambda line: None)
            times[workers].append(time.perf_counter() - t)
            assert r.ran == 8 and not r.failed, r
            shutil.rmtree(folder, ignore_errors=True)
    res = {"points": 8, "n_dt": fixed["n_dt"], "n_pairings": fixed["n_pairings"],
           "one_worker_s": summary(times[1]), "two_workers_s": summary(times[2])}
    res["speedup"] = res["one_worker_s"]["median"] / res["two_workers_s"]["median"]
    log(f"[bench/sweeps] 8 STDP windows: 1 worker {res['one_worker_s']['median']:.1f} s, 2 workers "
        f"{res['two_workers_s']['median']:.1f} s ({res['speedup']:.2f}x)")
    return res


def section(r: dict) -> list[str]:
    """The benchmark's part of BENCHMARKS.md."""
    s = r.get("sweeps")
    if not s:
        return []
    return [f"## Sweeps on Dask: {s['points']} STDP windows ({s['n_dt']} dt x {s['n_pairings']} pairings)", "",
            "| local cluster | wall time, median (min) | n |", "|---|---|---|",
            f"| 1 worker process | {s['one_worker_s']['median']:.1f} s ({s['one_worker_s']['min']:.1f} s) | "
            f"{s['one_worker_s']['n']} |",
            f"| 2 worker processes | {s['two_workers_s']['median']:.1f} s ({s['two_workers_s']['min']:.1f} s) | "
            f"{s['two_workers_s']['n']} |", "",
            f"Speed-up {s['speedup']:.2f}x on 2 cores (goal: close to 2x); every point in a process of its own "
            "(NEST imported per point).", ""]


if __name__ == "__main__":
    bench_sweeps(quick=False)
