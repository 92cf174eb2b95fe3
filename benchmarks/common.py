"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def log(line: str) -> None:
    """Print one progress line at once (the benchmarks run for minutes)."""
    print(line, flush=True)


def summary(samples: list[float]) -> dict:
    """Count, minimum, median and the samples themselves of repeated timings."""
    return {"n": len(samples), "min": min(samples), "median": statistics.median(samples), "samples": samples}


def timed_run(cmd: list[str], env: dict | None = None, cwd: Path | None = None, log_file: Path | None = None) -> float:
    """Wall time (s) of a command; raises with the tail of its output when it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "a") as f:
            f.write(f"$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}\n")
    _raise_if_failed(proc, cmd)
    return dt


def child_json(cmd: list[str], env: dict | None = None) -> dict:
    """Run a child that prints one JSON object on its last stdout line; return it."""
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    _raise_if_failed(proc, cmd)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_json_pair(cmds: tuple[list[str], list[str]], swap: bool, env: dict | None = None) -> tuple[dict, dict]:
    """Run two children side by side, one core each (cores swapped when ``swap``), so that both meet the same
    machine load; each prints one JSON object on its last stdout line. On one core, or without ``taskset``, one
    after the other.
    """
    if (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        return child_json(cmds[0], env), child_json(cmds[1], env)
    procs = [subprocess.Popen(["taskset", "-c", str((i + swap) % 2), *cmd], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i, cmd in enumerate(cmds)]
    done = [subprocess.CompletedProcess(cmd, 0, *proc.communicate()) for proc, cmd in zip(procs, cmds)]
    for proc, result in zip(procs, done):   # both have ended before either failure is raised
        result.returncode = proc.returncode
        _raise_if_failed(result, result.args)
    return tuple(json.loads(r.stdout.strip().splitlines()[-1]) for r in done)


def ab_pairs(a: list[str], b: list[str], pairs: int, env: dict | None = None) -> list[tuple[dict, dict]]:
    """``pairs`` runs of the children ``a`` and ``b`` side by side (:func:`child_json_pair`), the cores swapped
    every pair, so that a core slower than the other weighs on both sides alike: [(a's result, b's), ...].
    """
    return [child_json_pair((a, b), k % 2 == 1, env=env) for k in range(pairs)]


def _raise_if_failed(proc: subprocess.CompletedProcess, cmd: list[str]) -> None:
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n"
                           f"{proc.stderr[-3000:]}")


def scratch_checkout(dest: Path) -> Path:
    """A copy of the catalog project to build in without touching the real one (its build folder: dest/nest_module)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copytree(ROOT / "models", dest / "models")
    return dest


def env_for(checkout: Path, **extra) -> dict:
    """Environment for a child working in ``checkout`` (the real one: its own installed module)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    if Path(checkout).resolve() != ROOT:
        env.update(NESTML_LAB_ROOT=str(checkout))   # its models/ is the catalog ``nestml-lab module`` builds
    env.update({k: str(v) for k, v in extra.items()})
    return env


def machine() -> dict:
    """What the figures were measured on: CPU, cores, memory, Python, compiler."""
    import platform

    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_gb, 1), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


#: The end of every model-timing child (benchmarks/twins.py, solvers.py): record ``pop``, simulate 10 ms, then
#: ``t_sim`` ms timed in CPU seconds; print one JSON line with the time, the spike trains and ``extra()``.
TIMED_RUN = """
rec = nest.Create("spike_recorder")
nest.Connect(pop, rec)
nest.Simulate(10.0)
t0 = time.process_time()
nest.Simulate(t_sim)
cpu = time.process_time() - t0
ev = rec.events
order = np.lexsort((ev["times"], ev["senders"]))
print(json.dumps({"cpu_s": cpu, "spikes": int(len(order)), **extra(),
                  "trains": [ev["senders"][order].tolist(), ev["times"][order].tolist()]}))
"""
