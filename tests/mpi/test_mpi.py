"""Under mpirun, with the MPI NEST of `make mpi-setup`: the same results whatever the processes x threads.

NEST gives identical spikes for the same number of virtual processes however
they are split into MPI processes and threads; these tests check that the
toolkit keeps that promise end to end (each process records its own neurons,
one merged result is written once), and that a module built for the wheel's
NEST is refused by the MPI NEST. They run `nestml-lab` from the MPI
environment in subprocesses; run them with `make test-mpi`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

from nestml_lab import paths

MPI_VENV = Path(os.environ.get("NESTML_LAB_MPI_VENV", paths.REPO_ROOT / ".venv-mpi"))
LAB = MPI_VENV / "bin" / "nestml-lab"
MPIRUN = shutil.which("mpirun")

pytestmark = [
    pytest.mark.mpi,
    pytest.mark.skipif(not LAB.is_file() or MPIRUN is None,
                       reason=f"no MPI NEST at {MPI_VENV} (or no mpirun): run `make mpi-setup`"),
]


def _env() -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("NEST_CONFIG", None)
    if os.geteuid() == 0:   # OpenMPI refuses root unless told (CI machines run as root)
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def lab(processes: int, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """``nestml-lab args`` from the MPI environment, under ``mpirun -np processes`` when > 1."""
    cmd = [str(LAB), *map(str, args)]
    if processes > 1:
        cmd = [MPIRUN, "-np", str(processes), "--oversubscribe", "--bind-to", "none", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=paths.REPO_ROOT, timeout=timeout)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
                             f"{done.stderr[-3000:]}")
    return done


@pytest.fixture(scope="module")
def mpi_catalog():
    """The catalog built for the MPI NEST (cached beside the wheel's build)."""
    lab(1, "module", paths.MODELS_DIR, timeout=1800)


def _npz(path: Path) -> dict:
    with np.load(path) as d:
        return {k: d[k] for k in d.files}


def _assert_same_arrays(a: dict, b: dict, what: str) -> None:
    assert sorted(a) == sorted(b), f"{what}: different recorders {sorted(a)} vs {sorted(b)}"
    for k in a:
        assert np.array_equal(a[k], b[k]), f"{what}: {k} differs ({len(a[k])} vs {len(b[k])} values)"


def test_pd14_same_spikes_for_two_processes_and_two_threads(mpi_catalog, tmp_path):
    args = ["pd14", "--neuron", "nestml", "--scale", "0.05", "--t-sim", "300"]
    lab(1, *args, "--threads", "2", "--out", tmp_path / "threads")
    out = lab(2, *args, "--threads", "1", "--out", tmp_path / "processes").stdout
    assert out.count("[pd14] done in") == 1, "progress and results are printed by rank 0 only"
    threads = _npz(tmp_path / "threads" / "nestml" / "pd14_spikes.npz")
    processes = _npz(tmp_path / "processes" / "nestml" / "pd14_spikes.npz")
    assert sum(len(v) for k, v in threads.items() if k.endswith(".times")) > 1000, "PD14 fell silent"
    _assert_same_arrays(threads, processes, "PD14 spikes")
    meta = json.loads((tmp_path / "processes" / "nestml" / "pd14.json").read_text())["provenance"]
    assert (meta["mpi_processes"], meta["threads_per_process"], meta["virtual_processes"]) == (2, 1, 2)
    assert len(meta["per_process"]) == 2 and all(p["peak_rss_mb"] > 0 for p in meta["per_process"])


PLASTIC_TREE = {
    "kernel": {"resolution_ms": 0.1, "seed": 7, "total_num_virtual_procs": 2},
    "network": {
        "neuron_models": {"params": {"catalog": "iaf_psc_exp_neuron", "partner": "stdp_synapse"},
                          "exc": {"nest_params": {"I_e": 200.0}}},
        "synapse_models": {"ee": {"params": {"catalog": "stdp_synapse", "partner": "iaf_psc_exp_neuron"},
                                  "nest_params": {"weight": {"uniform": {"min": 20.0, "max": 60.0}},
                                                  "delay": 1.5, "lambda": 0.05, "Wmax": 100.0}},
                           "input": {"params": {"nest_model": "static_synapse"},
                                     "nest_params": {"weight": 30.0, "delay": 1.0}}},
        "populations": {"E": {"model": "exc", "n": 200}, "noise": {"model": "nest:poisson_generator", "n": 1,
                                                                  "nest_params": {"rate": 9000.0}}},
        "connections": [
            {"source": "noise", "target": "E", "synapse": "input"},
            {"source": "E", "target": "E", "synapse": "ee", "rule": {"rule": "fixed_indegree", "indegree": 20}},
        ],
        "recorders": [{"name": "spikes", "populations": ["E"]},
                      {"name": "w", "weights": {"source": "E", "synapse": "ee", "max_sources": 50}},
                      {"name": "vm", "multimeter": {"populations": ["E"], "record_from": ["V_m"],
                                                    "interval_ms": 5.0, "max_nodes": 8}}],
    },
    "sessions": {"learn": {"simulation_time_ms": 500.0}, "more": {"simulation_time_ms": 300.0}},
}


def test_plastic_network_same_spikes_weights_and_v_m_for_two_processes_and_two_threads(mpi_catalog, tmp_path):
    tree = tmp_path / "plastic.yml"
    tree.write_text(yaml.safe_dump(PLASTIC_TREE))
    lab(1, "run-tree", tree, "--out", tmp_path / "threads")
    out = lab(2, "run-tree", tree, "--out", tmp_path / "processes").stdout
    assert out.count("[tree] done") == 1, "rank 0 alone prints"
    for session in ("learn", "more"):
        threads = _npz(tmp_path / "threads" / "data" / f"{session}.npz")
        processes = _npz(tmp_path / "processes" / "data" / f"{session}.npz")
        assert len(threads["spikes.times"]) > 500, "the network barely fired"
        assert 800 < len(threads["w.weight"]) < 1200, "about 20 connections from each of the 50 sampled sources"
        assert np.all((threads["w.weight"] >= 0) & (threads["w.weight"] <= 100.0))
        assert len(np.unique(threads["vm.senders"])) == 8, "V_m of 8 neurons, from both processes"
        _assert_same_arrays(threads, processes, f"session {session}")
    first = json.loads((tmp_path / "threads" / "versions.json").read_text())
    second = json.loads((tmp_path / "processes" / "versions.json").read_text())
    assert (first["mpi_processes"], first["threads_per_process"]) == (1, 2)
    assert (second["mpi_processes"], second["threads_per_process"]) == (2, 1)
    # only the finished folder exists: nothing half-written beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plastic.yml", "processes", "threads"]


def test_stdp_window_under_mpirun_equals_one_process(mpi_catalog, tmp_path):
    args = ["stdp-window", "--n-dt", "21", "--pairings", "20"]
    lab(1, *args, "--out", tmp_path / "one")
    lab(2, *args, "--out", tmp_path / "two")
    one = np.loadtxt(tmp_path / "one" / "window.csv", delimiter=",", skiprows=1)
    two = np.loadtxt(tmp_path / "two" / "window.csv", delimiter=",", skiprows=1)
    assert one.shape == (21, 4) and np.ptp(one[:, 1]) > 0   # dt, dw, the reference, NEST's built-in twin
    np.testing.assert_array_equal(one[:, 3], one[:, 1])      # the twin, run by the same command, agrees
    assert np.array_equal(one, two)


def test_gap_junctions_same_for_two_processes_and_two_threads(mpi_catalog, tmp_path):
    """NEST's gap_junction synapse and waveform relaxation across processes: the catalog's HH twin on NEST's
    two-neuron example and the synchrony sweep give the same traces, spikes and table as one process with two
    threads (and the twin still matches)."""
    args = ["gap-junctions", "--couplings-ns", "0", "1", "4", "--t-sim-ms", "800"]
    lab(1, *args, "--threads", "2", "--out", tmp_path / "threads")
    lab(2, *args, "--threads", "1", "--out", tmp_path / "processes")
    threads = np.loadtxt(tmp_path / "threads" / "gap_junctions.csv", delimiter=",", skiprows=1)
    processes = np.loadtxt(tmp_path / "processes" / "gap_junctions.csv", delimiter=",", skiprows=1)
    assert threads.shape == (3, 4) and threads[-1, 3] > 0.95    # locked at 4 nS
    assert np.array_equal(threads, processes)
    _assert_same_arrays(_npz(tmp_path / "threads" / "gap_junctions_example.npz"),
                        _npz(tmp_path / "processes" / "gap_junctions_example.npz"), "the example's traces")
    example = json.loads((tmp_path / "processes" / "gap_junctions.json").read_text())["example"]
    assert example["same_spikes"] and example["max_abs_dv_mV"] < 0.01


def test_module_built_for_the_wheel_is_refused_by_the_mpi_nest(built_module):
    from nestml_lab.cmake import running_nest
    from nestml_lab.project import Project

    wheel_stamp = Project.open(paths.MODELS_DIR).stamp_path(running_nest())
    assert wheel_stamp.is_file()
    code = f"import nestml_lab; nestml_lab.load({str(wheel_stamp)!r})"
    done = subprocess.run([str(MPI_VENV / "bin" / "python"), "-c", code], capture_output=True, text=True,
                          env=_env(), timeout=300)
    assert done.returncode != 0
    assert "ModuleNotBuiltError" in done.stderr
    assert "(C++ ABI 0), but this Python runs NEST 3.10.0 with MPI" in done.stderr, done.stderr[-2000:]
    assert f"{MPI_VENV}/bin/nestml-lab module" in done.stderr, "the message names the command to run"


def test_edge_cases_of_every_plastic_synapse_under_two_processes(mpi_catalog, tmp_path):
    """NEST's edge cases (tests/integration/edge_cases.py) with 2 MPI processes x 1 thread: the weights of
    1 process x 2 threads exactly, and the reference's within 1e-12."""
    script = Path(__file__).with_name("edge_cases_mpi.py")
    python = MPI_VENV / "bin" / "python"
    runs = {}
    for processes, threads in ((1, 2), (2, 1)):
        out = tmp_path / f"{processes}x{threads}.json"
        cmd = [str(python), str(script), str(out), str(threads)]
        if processes > 1:
            cmd = [MPIRUN, "-np", str(processes), "--oversubscribe", "--bind-to", "none", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=paths.REPO_ROOT, timeout=900)
        assert done.returncode == 0, f"{' '.join(cmd)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        runs[processes] = json.loads(out.read_text())
    assert runs[2]["processes"] == 2
    checked = 0
    for synapse, by_case in runs[2]["results"].items():
        for case, r in by_case.items():
            assert r["w"] == runs[1]["results"][synapse][case]["w"], (synapse, case)
            np.testing.assert_allclose(r["w"], r["expected"], rtol=0, atol=1e-12, err_msg=f"{synapse} {case}")
            checked += len(r["w"])
    assert checked > 50
