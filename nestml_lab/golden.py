"""Golden curves: the plasticity experiments' results kept in tests/regression/golden/ to catch drift.

Each curve is a named experiment run with fixed parameters (spike times are
deterministic; random trains use their seed). ``write()`` reruns them and
rewrites the CSV files and ``provenance.json``; the regression test reruns
them and compares with an explicit tolerance. Regenerate on purpose only:
``make golden`` (README in tests/regression/).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from nestml_lab import paths
from nestml_lab.provenance import provenance

GOLDEN_DIR = paths.REPO_ROOT / "tests" / "regression" / "golden"
# Relative to the curve's largest magnitude: the runs are deterministic, so anything above
# floating-point noise is a change of the models, the code generator, NEST or the protocol.
RTOL_OF_SCALE = 1e-9


def _window(synapse: str, **kw) -> dict[str, np.ndarray]:
    from nestml_lab.experiments import stdp_window

    r = stdp_window.run(stdp_window.StdpWindowParams(synapse=synapse, nest_twin=False, **kw))
    return {"dt_ms": r.dt_ms, "dw": r.dw}


def _pairing_frequency() -> dict[str, np.ndarray]:
    from nestml_lab.experiments import pairing_frequency

    r = pairing_frequency.run(pairing_frequency.PairingFrequencyParams())
    f, dt = np.meshgrid(r.frequency_hz, r.dt_ms, indexing="ij")
    return {"frequency_hz": f.ravel(), "dt_ms": dt.ravel(), "dw": r.dw.ravel()}


def _short_term() -> dict[str, np.ndarray]:
    from nestml_lab.experiments import short_term

    r = short_term.run(short_term.ShortTermParams())
    rows = [(i, rate, n + 1, ratio) for i, (name, rate) in enumerate(r.amplitudes)
            for n, ratio in enumerate(r.ratios()[(name, rate)])]
    a = np.array(rows, dtype=float)
    return {"set_index": a[:, 0], "rate_hz": a[:, 1], "n": a[:, 2], "ratio": a[:, 3]}


def _seed001() -> dict[str, np.ndarray]:
    from nestml_lab.experiments import seed001

    r = seed001.run(seed001.Seed001Params())
    return {"dt_ms": r.dt_ms, "dw_over_lambda": r.dw_over_lambda}


def _random_trains(synapse: str, neuron: str, w0: float, **kw) -> dict[str, np.ndarray]:
    from nestml_lab.experiments.shared import random_trains

    r = random_trains.run(random_trains.RandomTrainsParams(synapse=synapse, neuron=neuron, w0=w0, seed=2024, **kw))
    return {"pair": np.arange(len(r.w), dtype=float), "w": r.w}


# name -> (what it is, function); the function returns columns of equal length
CURVES = {
    "window_stdp": ("STDP window, stdp_synapse on iaf_psc_exp_neuron, 101 dt, 60 pairings at 1 Hz",
                    lambda: _window("stdp_synapse")),
    "window_stdp_nn_symm": ("STDP window, stdp_nn_symm_synapse, 101 dt, 60 pairings at 1 Hz",
                            lambda: _window("stdp_nn_symm_synapse")),
    "window_stdp_triplet": ("STDP window, stdp_triplet_synapse (w0 1), 101 dt, 60 pairings at 1 Hz",
                            lambda: _window("stdp_triplet_synapse", w0=1.0)),
    "pairing_frequency_triplet": ("triplet rule, 60 pairings at +-10 ms, 0.1..50 Hz", _pairing_frequency),
    "short_term_tsodyks": ("tsodyks_synapse A_n/A_1, depressing and facilitating sets, 10/20/50 Hz",
                           _short_term),
    "seed001_window": ("seed notebook 001: dw/lambda vs dt, Izhikevich + additive STDP, delay 15 ms", _seed001),
    "random_trains_stp_stdp": ("stp_stdp_synapse on aeif_cond_exp_neuron, 20 random pairs, seed 2024, "
                               "Apre0 0.002, Apost0 -0.0021, stdp_value 0.5 (no clipping)",
                               lambda: _random_trains("stp_stdp_synapse", "aeif_cond_exp_neuron", 0.8,
                                                      synapse_params={"Apre0": 0.002, "stdp_value": 0.5},
                                                      neuron_params={"Apost0__for_stp_stdp_synapse_nestml":
                                                                     -0.0021})),
}


def compute(name: str) -> dict[str, np.ndarray]:
    """Compute the golden curve ``name`` now, with the installed module."""
    return {k: np.asarray(v, dtype=float) for k, v in CURVES[name][1]().items()}


def path_of(name: str) -> Path:
    """The CSV file that holds the golden curve ``name``."""
    return GOLDEN_DIR / f"{name}.csv"


def load(name: str) -> dict[str, np.ndarray]:
    """The stored golden curve ``name``."""
    with open(path_of(name)) as f:
        rows = list(csv.reader(f))
    header, data = rows[0], np.array(rows[1:], dtype=float)
    return {h: data[:, i] for i, h in enumerate(header)}


def compare(name: str, got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> list[str]:
    """Differences beyond the tolerance, as readable lines (empty: the curve is unchanged)."""
    problems = []
    if list(got) != list(want):
        return [f"{name}: columns {list(got)} differ from the golden {list(want)}"]
    for col in want:
        if got[col].shape != want[col].shape:
            problems.append(f"{name}.{col}: {got[col].shape[0]} points, golden has {want[col].shape[0]}")
            continue
        scale = max(float(np.max(np.abs(want[col]))), 1e-300)
        diff = np.abs(got[col] - want[col])
        if np.any(diff > RTOL_OF_SCALE * scale):
            i = int(np.argmax(diff))
            problems.append(f"{name}.{col}: max difference {diff[i]:.3g} at row {i} (golden {want[col][i]:.12g}, "
                            f"now {got[col][i]:.12g}); tolerance {RTOL_OF_SCALE:g} x {scale:.3g}")
    return problems


def write(names=None, log=print) -> None:
    """Rerun the curves and rewrite their golden files and the provenance (on purpose only)."""
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    names = list(names or CURVES)
    prov_path = GOLDEN_DIR / "provenance.json"
    prov = json.loads(prov_path.read_text()) if prov_path.exists() else {"curves": {}}
    for name in names:
        cols = compute(name)
        with open(path_of(name), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(list(cols))
            for row in zip(*cols.values()):
                w.writerow([repr(float(x)) for x in row])
        prov["curves"][name] = CURVES[name][0]
        log(f"[golden] wrote {path_of(name)}")
    prov["made_by"] = "make golden (nestml-lab golden -> nestml_lab.golden.write)"
    current = provenance()
    prov["provenance"] = {k: current[k] for k in current if k not in ("time", "host", "created")}
    prov_path.write_text(json.dumps(prov, indent=1, sort_keys=True) + "\n")
