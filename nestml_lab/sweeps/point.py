"""One point of a sweep: the experiment in a process of its own, its results in a folder that appears whole.

:func:`run_point` runs in a Dask worker. It starts ``python -m nestml_lab.sweeps.point`` (one NEST kernel
per point; the child dies with the worker, so a killed worker leaves no orphan writing), which checks the
module by its stamp, runs the experiment, saves its files and figure, and writes ``point.json`` (the
values, the summary numbers and lines, the time) last, inside a folder that is renamed into place only
once it is whole. A folder with ``point.json`` is a finished point; anything else is not a result.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

#: The file that makes a point's folder a result.
DONE = "point.json"


def finished(folder: Path | str) -> dict | None:
    """The record of a finished point in ``folder`` (None if it is not one)."""
    path = Path(folder) / DONE
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if record.get("status") == "ok" else None


def file_sha256(path: Path | str) -> str:
    """SHA-256 of a file (a module's stamp)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _die_with_parent() -> None:   # in the child, before exec: SIGKILL when the worker that started it dies
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_point(spec: dict) -> dict:
    """Run one point (in a Dask worker): its record, ``status`` ``ok`` or ``failed`` with the ``error``.

    ``spec``: ``experiment``, ``values`` (the point's grid values), ``fixed`` (the sweep's other values),
    ``folder``, ``stamp`` (``{"path", "sha256"}`` of the module built before the sweep, or None).
    """
    folder = Path(spec["folder"])
    done = finished(folder)
    if done is not None:
        return {**done, "skipped": True}
    t0 = time.perf_counter()
    env = dict(os.environ, PYNEST_QUIET="1", PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "-m", "nestml_lab.sweeps.point"], input=json.dumps(spec), text=True,
                          capture_output=True, env=env, preexec_fn=_die_with_parent)
    done = finished(folder) if proc.returncode == 0 else None
    if done is not None:
        folder.with_name(f"{folder.name}.failed.log").unlink(missing_ok=True)   # an earlier attempt's
        return {**done, "skipped": False}
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    error = next((line for line in reversed(lines) if not line.startswith(" ")), None) or \
        f"the point's process ended with status {proc.returncode}" + (
            f" (signal {-proc.returncode})" if proc.returncode < 0 else "")
    log = folder.with_name(f"{folder.name}.failed.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + "\n" + proc.stderr)
    return {"status": "failed", "values": spec["values"], "error": error, "log": str(log),
            "seconds": time.perf_counter() - t0, "skipped": False, "host": os.uname().nodename}


def _record_numbers(numbers: dict) -> dict:
    return {k: (float(v) if v is not None else None) for k, v in numbers.items()}


def main() -> int:
    """The point's process: the spec on standard input; exit 0 once the folder is whole."""
    from nestml_lab import atomic
    from nestml_lab.experiments.shared.contract import registry
    from nestml_lab.sweeps import grid

    spec = json.loads(sys.stdin.read())
    stamp = spec.get("stamp")
    if stamp and (not Path(stamp["path"]).is_file() or file_sha256(stamp["path"]) != stamp["sha256"]):
        raise SystemExit(f"the module {stamp['path']} is not the one the sweep started with (rebuilt or removed "
                         "since): run the sweep again, it builds the module once and finishes the points left")
    exp = registry()[spec["experiment"]]
    params = exp.params(**grid.apply(exp, spec["fixed"], spec["values"]))
    t0 = time.perf_counter()

    def fill(tmp: Path) -> None:
        result = exp.run(params, progress=lambda line: print(line, flush=True))
        files = dict(exp.save(result, tmp))
        files["figure"] = exp.plot(result, tmp)
        record = {"status": "ok", "experiment": exp.name, "values": spec["values"], "fixed": spec["fixed"],
                  "numbers": _record_numbers(exp.numbers(result)) if exp.numbers else {},
                  "summary": list(exp.summary(result)), "files": sorted(Path(f).name for f in files.values()),
                  "seconds": time.perf_counter() - t0, "host": os.uname().nodename, "pid": os.getpid()}
        (tmp / DONE).write_text(json.dumps(record, indent=1, default=str))

    atomic.write_folder(spec["folder"], fill)
    return 0


if __name__ == "__main__":
    sys.exit(main())
