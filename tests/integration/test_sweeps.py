"""Sweeps on real Dask components on loopback: a ``dask scheduler`` and two ``dask worker`` processes started
here. The STDP window over a 3 x 2 grid equals the six runs done one by one, weights bit for bit; a worker
killed (SIGKILL) in the middle of a point loses nothing; a second run of the sweep runs nothing."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = [pytest.mark.nest, pytest.mark.slow]

GRID = {"frequency_hz": [1.0, 5.0, 10.0], "w0": [20.0, 50.0]}
FIXED = {"n_dt": 11, "n_pairings": 40, "dt_min_ms": -50.0, "dt_max_ms": 50.0}
DASK = shutil.which("dask", path=os.path.dirname(sys.executable))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two single-threaded workers (no nanny: a SIGKILL takes the worker itself)."""
    if DASK is None:
        pytest.skip("no dask command (pip install 'dask[distributed]')")
    address = f"tcp://127.0.0.1:{_free_port()}"
    logs = tmp_path / "dask-logs"
    logs.mkdir()
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--no-dashboard"], stdout=open(logs / "scheduler.log", "w"), stderr=subprocess.STDOUT)]
    time.sleep(1.0)
    for i in (1, 2):
        procs.append(subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--name", f"w{i}",
                                       "--no-dashboard"], stdout=open(logs / f"worker{i}.log", "w"),
                                      stderr=subprocess.STDOUT))
    from distributed import Client

    client = Client(address, timeout=60)
    client.wait_for_workers(2, timeout=60)
    yield client, procs[1:]
    client.close()
    for p in reversed(procs):
        p.kill()
        p.wait()


def _one_by_one(tmp_path: Path) -> dict:
    """The six windows run one after another in this process, as `nestml-lab stdp-window` would."""
    from nestml_lab.experiments import stdp_window

    out = {}
    for f in GRID["frequency_hz"]:
        for w0 in GRID["w0"]:
            r = stdp_window.run(stdp_window.StdpWindowParams(frequency_hz=f, w0=w0, **FIXED))
            stdp_window.save(r, tmp_path / "alone" / f"{f:g}-{w0:g}")
            out[(f, w0)] = np.loadtxt(tmp_path / "alone" / f"{f:g}-{w0:g}" / "window.csv", delimiter=",",
                                      skiprows=1)
    return out


def test_a_sweep_on_dask_equals_the_runs_one_by_one_survives_a_killed_worker_and_resumes(cluster, tmp_path,
                                                                                         built_module):
    from nestml_lab.sweeps import sweep

    client, workers = cluster
    out = tmp_path / "sweep"
    lines: list[str] = []
    done: dict = {}

    def go():
        done["result"] = sweep("stdp-window", GRID, fixed=FIXED, out=out, client=client, log=lines.append)

    runner = threading.Thread(target=go)
    runner.start()
    # kill the second worker while it is in the middle of a point: both workers busy, no point finished yet
    deadline = time.time() + 120
    while time.time() < deadline:
        busy = {p.name.rsplit("-", 1)[-1] for p in (out / "points").glob(".*.partial-*")}
        if len(busy) >= 2:
            break
        time.sleep(0.05)
    assert len(busy) >= 2, f"the two workers never ran two points at once: {lines}"
    workers[1].send_signal(signal.SIGKILL)
    workers[1].wait()
    runner.join(timeout=600)
    result = done["result"]

    table = result.table
    assert len(table) == 6 and (table["status"] == "ok").all(), table[["status", "error"]]
    assert result.failed == [] and result.ran == 6
    alone = _one_by_one(tmp_path)
    for _, row in table.iterrows():
        swept = np.loadtxt(Path(row["folder"]) / "window.csv", delimiter=",", skiprows=1)
        np.testing.assert_array_equal(swept, alone[(row["frequency_hz"], row["w0"])])   # bit for bit
        assert row["dw_max"] == alone[(row["frequency_hz"], row["w0"])][:, 1].max()
    # nothing half-written is read: the killed point's partial folder is not a point, the table is whole
    assert sorted(p.name for p in (out / "points").iterdir() if not p.name.startswith(".")) == \
        sorted(Path(f).name for f in table["folder"])
    import pandas as pd

    pd.testing.assert_frame_equal(pd.read_parquet(out / "sweep.parquet"), table)
    assert list(pd.read_csv(out / "sweep.csv")["dw_max"]) == list(table["dw_max"])
    assert (out / "figures" / "dw_max.png").is_file()

    again = sweep("stdp-window", GRID, fixed=FIXED, out=out, client=client, log=lines.append)
    assert again.ran == 0 and again.skipped == 6 and again.table[["frequency_hz", "w0", "dw_max"]].equals(
        table[["frequency_hz", "w0", "dw_max"]])


def test_a_point_that_fails_is_reported_and_the_others_go_on_but_a_fault_of_every_point_stops_early(tmp_path,
                                                                                                 built_module):
    """On a local cluster of one worker: w0 = 5000 pA makes the postsynaptic neuron fire on its own (the
    experiment refuses that point); the points before and after it finish. Then a parameter no point's synapse has:
    the first two points fail alike and the rest are not started."""
    from nestml_lab.sweeps import sweep

    lines: list[str] = []
    r = sweep("stdp-window", {"w0": [20.0, 5000.0, 30.0]}, fixed=FIXED, out=tmp_path / "one", workers=1,
              log=lines.append)
    assert list(r.table["status"]) == ["ok", "failed", "ok"], r.table[["w0", "status", "error"]]
    assert "w0 = 5000" in r.table["error"][1] and r.failed == [("w0=5000", r.table["error"][1])]
    assert Path(r.table["folder"][1]).name.endswith(".failed.log")   # the point's output, kept
    r = sweep("stdp-window", {"synapse_params.no_such": [1.0, 2.0, 3.0, 4.0]}, fixed=FIXED, out=tmp_path / "two",
              workers=1, log=lines.append)
    assert list(r.table["status"]) == ["failed", "failed", "not run", "not run"]
    assert "unknown synapse parameter(s) ['no_such']" in r.table["error"][0]
    assert any("the first two points failed alike; 2 other point(s) not started" in line for line in lines)
