"""Seed notebook 004's AdEx network: NEST (catalog AdEx with RKF45, and with exponential Euler) against Brian2's
numpy, cython and cpp_standalone targets with the same method, condition by condition.

    python -m benchmarks.seed004            # or: python -m benchmarks.run --only seed004

Each contender runs all four conditions in one child process (`nestml-lab adex-network`; Brian2 through the
experiment's own cross-check in .venv-brian2), 2 NEST threads against 2 OpenMP threads for cpp_standalone
(numpy and cython are single-threaded). Times: NEST's network build + simulation; Brian2's network set-up +
run, with cpp_standalone's code generation and compile reported apart. Nothing is asserted.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks.common import ROOT, log

CONTENDERS = (("NEST rk45", "rk45", None), ("NEST exponential Euler", "exponential-Euler", None),
              ("Brian2 numpy", "exponential-Euler", "numpy"), ("Brian2 cython", "exponential-Euler", "cython"),
              ("Brian2 cpp_standalone", "exponential-Euler", "cpp_standalone"))


def bench_seed004(quick: bool) -> dict | None:
    """Rates, CV and times per condition and contender; None without the Brian2 environment."""
    from nestml_lab.experiments import adex_network as adex

    if adex.brian2_python() is None:
        log("[bench/seed004] skipped: no Brian2 environment (make brian2-setup)")
        return None
    t_sim = 2000.0 if quick else 10000.0
    res: dict = {"t_sim_ms": t_sim, "threads": 2, "contenders": {}}
    for label, solver, target in CONTENDERS:
        p = adex.AdexNetworkParams(solver=solver, t_sim_ms=t_sim, threads=2,
                                   brian2_target=target or "numpy")
        if target is None:
            r = adex.run(p)
            rates, cv = r.rates(), r.cv_isi()
            rows = {c: {"rate_exc_hz": rates[c][0], "rate_inh_hz": rates[c][1], "cv_exc": cv[c],
                        "setup_s": r.provenance["conditions"][c]["build_s"],
                        "run_s": r.provenance["conditions"][c]["simulate_s"], "compile_s": None}
                    for c in p.conditions}
        else:
            with tempfile.TemporaryDirectory() as scratch:
                theirs = adex.brian2_crosscheck(p, Path(scratch))
            rows = {c: {"rate_exc_hz": b["rate_exc_hz"], "rate_inh_hz": b["rate_inh_hz"], "cv_exc": b["cv_exc"],
                        "setup_s": b["build_s"], "run_s": b["simulate_s"], "compile_s": b.get("compile_s")}
                    for c, b in theirs.items()}
        res["contenders"][label] = rows
        log(f"[bench/seed004] {label}: " + ", ".join(f"{c} {v['setup_s'] + v['run_s']:.1f} s"
                                                     for c, v in rows.items()))
    return res


def markdown(r: dict) -> list[str]:
    """The BENCHMARKS.md section of :func:`bench_seed004`."""
    conds = list(next(iter(r["contenders"].values())))
    out = ["## Seed 004's AdEx network against Brian2", "",
           f"2500 AdEx cells with STP+STDP synapses, {r['t_sim_ms'] / 1000:g} s per condition (`benchmarks/seed004.py`). "
           "Wall time of set-up + run in seconds (cpp_standalone: + code generation and compile); "
           "NEST 2 threads, cpp_standalone 2 OpenMP threads, numpy and cython 1 thread. Brian2 integrates "
           "with exponential_euler, as the seed does.", "",
           "| contender | " + " | ".join(conds) + " |", "|---|" + "---|" * len(conds)]
    for label, rows in r["contenders"].items():
        cells = []
        for c in conds:
            v = rows[c]
            cell = f"{v['setup_s'] + v['run_s']:.1f}"
            if v.get("compile_s"):
                cell += f" (+{v['compile_s']:.1f})"
            cells.append(cell)
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out += ["", "Rates (E / I, Hz) and ISI CV of the E cells:", "",
            "| contender | " + " | ".join(conds) + " |", "|---|" + "---|" * len(conds)]
    for label, rows in r["contenders"].items():
        out.append(f"| {label} | " + " | ".join(f"{rows[c]['rate_exc_hz']:.2f} / {rows[c]['rate_inh_hz']:.2f}, "
                                                f"CV {rows[c]['cv_exc']:.2f}" for c in conds) + " |")
    return out + [""]


if __name__ == "__main__":
    result = bench_seed004(quick=False)
    if result:
        print("\n".join(markdown(result)))
        (ROOT / "results" / "bench").mkdir(parents=True, exist_ok=True)
        (ROOT / "results" / "bench" / "seed004.json").write_text(json.dumps(result, indent=1))
