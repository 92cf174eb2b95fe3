"""Run the benchmarks side by side and rewrite BENCHMARKS.md.

    python -m benchmarks.run            # everything (make bench, under 30 min on 2 cores)
    python -m benchmarks.run --quick    # a small subset for development (make bench-quick, under 3 min)

Every benchmark runs its contenders in the same run, repeats what is cheap
enough to repeat, and reports min and median and the ratio. Builds happen in
scratch checkouts under results/bench/ (the real nest_module/ is never
touched); simulations run one per process so that peak memory is per run.
Nothing here asserts a speed: a slow machine gives slower figures, not a
failure. The machine-readable results are results/bench/bench.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from benchmarks import notebook_loop, report, seed004, solvers, sweeps, twins
from benchmarks.common import PYTHON, ROOT, child_json, env_for, log, machine, scratch_checkout, summary, timed_run

OUT = ROOT / "results" / "bench"


def _module(checkout: Path, log_file: Path, **env) -> float:
    return timed_run([PYTHON, "-m", "nestml_lab", "module", str(Path(checkout) / "models")],
                     env=env_for(checkout, **env), log_file=log_file)


def _last_codegen_seconds(log_file: Path) -> float:
    import re

    found = re.findall(r"\[codegen\] done in ([0-9.]+) s", log_file.read_text())
    return float(found[-1]) if found else float("nan")


def _edit(path: Path, old: str, new: str) -> str:
    text = path.read_text()
    if old not in text:
        raise RuntimeError(f"benchmark edit: {old!r} not found in {path}")
    path.write_text(text.replace(old, new, 1))
    return text


# --------------------------------------------------------------------------- build

def bench_build(quick: bool) -> dict:
    """`make module`: cold, nothing changed, one model edited; NESTML's own flow; the levers; the notebook loop."""
    work = OUT / "build"
    work.mkdir(parents=True, exist_ok=True)
    logf = work / "build.log"
    logf.unlink(missing_ok=True)
    res: dict = {}
    if quick:   # no cold build: only "nothing changed", on the real checkout
        res["ours_nochange_s"] = summary([_module(ROOT, logf) for _ in range(3)])
        log(f"[bench/build] ours: nothing changed: median {res['ours_nochange_s']['median']:.2f} s")
        return res
    ours = scratch_checkout(work / "ours")
    ccache_dir = work / "ccache-dir"
    shutil.rmtree(ccache_dir, ignore_errors=True)
    use_ccache = bool(shutil.which("ccache"))
    cc_env = {"CCACHE_DIR": ccache_dir} if use_ccache else {"CCACHE_DISABLE": 1}
    # the machine-wide cache (precompiled NEST headers, the shapes of earlier builds) empty too: a cold machine
    user_cache = work / "user-cache"
    shutil.rmtree(user_cache, ignore_errors=True)
    cc_env["NESTML_LAB_CACHE"] = user_cache
    log("[bench/build] ours: cold make module (empty generated-code cache, build folder, compiler cache and "
        "precompiled headers)")
    res["ours_cold_s"] = _module(ours, logf, **cc_env)
    res["ours_cold_generation_s"] = _last_codegen_seconds(logf)
    log(f"[bench/build]   {res['ours_cold_s']:.1f} s (NESTML generation {res['ours_cold_generation_s']:.1f} s)")
    res["ours_cold_stages"] = _stages(ours)
    log("[bench/build]   where the time went (seconds, summed over units and translation units): "
        + ", ".join(f"{k} {v:.1f}" for k, v in res["ours_cold_stages"].items()))
    res["ours_nochange_s"] = summary([_module(ours, logf, **cc_env) for _ in range(5)])
    log(f"[bench/build] ours: nothing changed: median {res['ours_nochange_s']['median']:.2f} s")
    edits = {
        "standalone synapse (tsodyks_synapse)": ("tsodyks_synapse.nestml", "tau_psc ms = 3 ms", "tau_psc ms = 3.5 ms"),
        "paired neuron (izhikevich_neuron, 2 units)": ("izhikevich_neuron.nestml", "V_th mV = 30 mV",
                                                       "V_th mV = 31 mV"),
        "paired neuron, an equation (izhikevich_neuron, 2 units)": ("izhikevich_neuron.nestml", "5.0 * V_m",
                                                                    "5.01 * V_m"),
    }
    res["ours_edit_s"] = {}
    for label, (name, old, new) in edits.items():
        samples = []
        path = ours / "models" / name
        for _ in range(2):
            original = _edit(path, old, new)
            samples.append(_module(ours, logf, CCACHE_DISABLE=1,   # an edit is new code: no compiler cache
                                   NESTML_LAB_CACHE=user_cache))
            path.write_text(original)
            _module(ours, logf, **cc_env)   # back to the committed model (not timed)
        res["ours_edit_s"][label] = summary(samples)
        log(f"[bench/build] ours: one model edited, {label}: median {res['ours_edit_s'][label]['median']:.1f} s")

    flow = work / "nestml_flow"
    shutil.rmtree(flow, ignore_errors=True)
    log("[bench/build] NESTML's own flow (generate_nest_target + its builder), cold")
    env = env_for(ROOT, CCACHE_DISABLE=1)
    res["nestml_cold_s"] = timed_run([PYTHON, "-m", "benchmarks.nestml_flow", str(flow)], env=env, log_file=logf)
    res["nestml_calls"] = json.loads((flow / "flow.json").read_text())
    failed = [c for c in res["nestml_calls"] if not c["ok"]]
    log(f"[bench/build]   {res['nestml_cold_s']:.1f} s in {len(res['nestml_calls'])} calls"
        + "".join(f"; {', '.join(c['files'])} failed: {c['error']}" for c in failed))

    # levers, each against the default build above
    levers = {}
    log("[bench/build] lever: NESTML generation in 1 process instead of 2 (generation only)")
    gen = scratch_checkout(work / "gen1")
    code = ("from nestml_lab.codegen.generate import generate; from nestml_lab.codegen.manifest import load_manifest; "
            "from nestml_lab import paths; "
            "generate(load_manifest(paths.MODELS_DIR), paths.GENERATED_DIR, jobs=1, log=lambda *_: None)")
    fresh = work / "user-cache-gen"   # empty: the shapes of earlier builds would let units skip NESTML
    shutil.rmtree(fresh, ignore_errors=True)
    levers["generation_jobs1_s"] = timed_run([PYTHON, "-c", code], env=env_for(gen, NESTML_LAB_CACHE=fresh),
                                             log_file=logf)
    levers["generation_jobs2_s"] = res["ours_cold_generation_s"]
    log(f"[bench/build]   {levers['generation_jobs1_s']:.1f} s vs {levers['generation_jobs2_s']:.1f} s")
    log("[bench/build] lever: precompiled NEST headers off (cold, no compiler cache), and on (the same)")
    for on in (False, True):
        pch = scratch_checkout(work / "pch")
        fresh = work / "user-cache-pch"
        shutil.rmtree(fresh, ignore_errors=True)
        levers[f"cold_pch_{'on' if on else 'off'}_s"] = _module(pch, logf, CCACHE_DISABLE=1, NESTML_LAB_CACHE=fresh,
                                                               NESTML_LAB_PCH=int(on))
        levers[f"cold_pch_{'on' if on else 'off'}_stages"] = _stages(pch)
    log(f"[bench/build]   off {levers['cold_pch_off_s']:.1f} s, on {levers['cold_pch_on_s']:.1f} s")
    if use_ccache:
        log("[bench/build] lever: generated code and build folder deleted, the compiler cache and the machine-wide "
            "cache (precompiled headers, the shapes of earlier builds) warm")
        shutil.rmtree(ours / "nest_module")   # generated code and every build
        levers["cold_warm_ccache_s"] = _module(ours, logf, **cc_env)
        log(f"[bench/build]   {levers['cold_warm_ccache_s']:.1f} s")
    res["levers"] = levers
    res["notebook_loop"] = notebook_loop.bench_notebook_loop(quick)
    return res


def _stages(checkout: Path) -> dict:
    """The last build's stages in ``checkout``: NESTML's (from generated/STAGES.json), our edits, the compilation
    of each translation unit and the link (from the build's compile-times.txt), in seconds.
    """
    from nestml_lab.cmake import compile_times

    out = dict(json.loads((checkout / "nest_module" / "generated" / "STAGES.json").read_text())["totals"])
    for times in sorted((checkout / "nest_module").glob("nest-*/cmake/compile-times.txt")):
        t = compile_times(times)
        out["compile (all translation units)"] = sum(t.units.values())
        out["slowest translation unit"] = max(t.units.values(), default=0.0)
        out["link"] = t.link
    return out


# --------------------------------------------------------------------------- simulation

def _brunel(params: dict) -> dict:
    return child_json([PYTHON, "-m", "benchmarks.brunel", json.dumps(params)], env=env_for(ROOT))


IMPLEMENTATIONS = ("nest", "nestml", "nestml_raw")   # NEST's built-ins, the rewritten catalog, NESTML's code as is


def bench_brunel(quick: bool) -> dict:
    """Brunel network, static then E->E stdp: NEST's built-ins, the rewritten catalog and NESTML's unrewritten code."""
    from nestml_lab import unrewritten

    unrewritten.build(log=log)
    scale = 0.1 if quick else 1.0
    t_sim = 200.0 if quick else 1000.0
    repeats = 1 if quick else 2
    res = {"scale": scale, "t_sim_ms": t_sim}
    for case, plastic in (("static", False), ("stdp", True)):
        runs = {impl: [] for impl in IMPLEMENTATIONS}
        for _ in range(repeats):
            for impl in IMPLEMENTATIONS:     # interleaved, so drift of the machine hits all alike
                runs[impl].append(_brunel({"neuron": impl, "plastic": plastic, "scale": scale, "t_sim_ms": t_sim}))
        out = {}
        for impl, rs in runs.items():
            out[impl] = {
                "simulate_s": summary([r["simulate_s"] for r in rs]),
                "build_s": summary([r["build_s"] for r in rs]),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in rs),
                "rate_exc_hz": rs[0]["rate_exc_hz"], "rate_inh_hz": rs[0]["rate_inh_hz"],
                "n_spikes": rs[0]["n_spikes"], "n_connections": rs[0]["n_connections"],
                **({"weight_mean": rs[0]["weight_mean"], "weight_std": rs[0]["weight_std"],
                    "weight_n": rs[0]["weight_n"], "synapse_sizeof": rs[0]["synapse_sizeof"]} if plastic else {}),
            }
            if plastic:
                out[impl]["_w"] = rs[0]["weight_sample"]
        nest_s = out["nest"]["simulate_s"]["median"]
        for impl in ("nestml", "nestml_raw"):
            out[f"ratio_simulate_{impl}"] = out[impl]["simulate_s"]["median"] / nest_s
            out[f"ratio_rss_{impl}"] = out[impl]["peak_rss_mb"] / out["nest"]["peak_rss_mb"]
            out[f"same_spike_count_{impl}"] = out[impl]["n_spikes"] == out["nest"]["n_spikes"]
            if plastic:
                out[f"max_weight_diff_{impl}"] = max(abs(a - b) for a, b in zip(out[impl]["_w"], out["nest"]["_w"]))
        for impl in IMPLEMENTATIONS:
            out[impl].pop("_w", None)
        out["rewrite_speedup"] = out["nestml_raw"]["simulate_s"]["median"] / out["nestml"]["simulate_s"]["median"]
        res[case] = out
        log(f"[bench/brunel] {case}: Simulate() / NEST's: rewritten {out['ratio_simulate_nestml']:.2f}x, "
            f"NESTML as generated {out['ratio_simulate_nestml_raw']:.2f}x "
            f"({out['nestml']['simulate_s']['median']:.1f} s, {out['nestml_raw']['simulate_s']['median']:.1f} s, "
            f"NEST {nest_s:.1f} s); peak RSS {out['ratio_rss_nestml']:.2f}x / {out['ratio_rss_nestml_raw']:.2f}x; "
            f"same spike count: {out['same_spike_count_nestml']} / {out['same_spike_count_nestml_raw']}")
    return res


def bench_window(quick: bool) -> dict:
    """STDP window: all dt in one simulation vs the seed notebook's one simulation per dt."""
    n_dt, pairings = (21, 10) if quick else (101, 60)
    code = ("import json, sys, time; from nestml_lab.experiments import stdp_window as s; "
            "p = s.StdpWindowParams(n_dt=%d, n_pairings=%d, one_simulation=%s, nest_twin=False); "
            "t = time.perf_counter(); "
            "r = s.run(p); print(json.dumps({'s': time.perf_counter() - t, 'dw': r.dw.tolist()}))")
    one = [child_json([PYTHON, "-c", code % (n_dt, pairings, True)], env=env_for(ROOT)) for _ in range(2)]
    loop = [child_json([PYTHON, "-c", code % (n_dt, pairings, False)], env=env_for(ROOT))
            for _ in range(1 if not quick else 2)]
    same = max(abs(a - b) for a, b in zip(one[0]["dw"], loop[0]["dw"]))
    res = {"n_dt": n_dt, "n_pairings": pairings, "one_simulation_s": summary([r["s"] for r in one]),
           "per_dt_loop_s": summary([r["s"] for r in loop]), "max_abs_dw_difference": same}
    res["speedup"] = res["per_dt_loop_s"]["median"] / res["one_simulation_s"]["median"]
    log(f"[bench/window] {n_dt} dt x {pairings} pairings: one simulation {res['one_simulation_s']['median']:.1f} s, "
        f"per-dt loop {res['per_dt_loop_s']['median']:.1f} s ({res['speedup']:.1f}x); max |dw difference| {same:.1e}")
    return res


def bench_pd14(quick: bool) -> dict | None:
    """PD14 microcircuit at 0.1 scale: real-time factor with NEST's and the catalog's iaf_psc_exp."""
    try:
        from nestml_lab.experiments import pd14  # noqa: F401
    except ImportError:
        return None
    t_sim = 200.0 if quick else 1000.0
    code = ("import json; from nestml_lab.experiments import pd14; "
            "r = pd14.run(pd14.Pd14Params(neuron=%r, scale=0.1, t_sim_ms=%r, threads=2)); "
            "print(json.dumps(r.timing()))")
    res = {"scale": 0.1, "t_sim_ms": t_sim}
    for impl in ("nest", "nestml"):
        runs = [child_json([PYTHON, "-c", code % (impl, t_sim)], env=env_for(ROOT))]
        res[impl] = {"rtf": summary([r["rtf"] for r in runs]), "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                     "simulate_s": summary([r["simulate_s"] for r in runs])}
    res["ratio_rtf"] = res["nestml"]["rtf"]["median"] / res["nest"]["rtf"]["median"]
    log(f"[bench/pd14] real-time factor NEST {res['nest']['rtf']['median']:.2f}, NESTML "
        f"{res['nestml']['rtf']['median']:.2f} ({res['ratio_rtf']:.2f}x)")
    return res


def bench_mpi(quick: bool) -> dict | None:
    """PD14 at 0.1 scale on the MPI NEST: 2 processes x 1 thread vs 1 process x 2 threads; the set-up time.

    Needs `make mpi-setup` (skipped otherwise). Both layouts run the same MPI
    NEST build and the catalog module built for it, one after the other.
    """
    import os
    import tempfile

    import numpy as np

    lab = ROOT / ".venv-mpi" / "bin" / "nestml-lab"
    mpirun = shutil.which("mpirun")
    if not lab.is_file() or mpirun is None:
        log("[bench/mpi] skipped: no MPI NEST (make mpi-setup)")
        return None
    env = dict(os.environ)
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    res = {"scale": 0.1, "t_sim_ms": 200.0 if quick else 1000.0}
    res["setup_cached_s"] = timed_run(["bash", str(ROOT / "scripts" / "mpi_setup.sh")], env=env, cwd=ROOT)
    cache = Path(os.environ.get("NESTML_LAB_CACHE", Path.home() / ".cache" / "nestml-lab"))
    record = cache / "nest-3.10.0-mpi" / "build_seconds"
    res["setup_cold_s"] = float(record.read_text()) if record.is_file() else None
    timed_run([str(lab), "module", str(ROOT / "models")], env=env, cwd=ROOT)   # the catalog for the MPI NEST
    args = ["pd14", "--neuron", "nestml", "--scale", "0.1", "--t-sim", str(res["t_sim_ms"])]
    spikes = {}
    with tempfile.TemporaryDirectory(prefix="bench-mpi-") as tmp:
        for layout, (processes, threads) in (("1x2", (1, 2)), ("2x1", (2, 1))):
            out = Path(tmp) / layout
            cmd = [str(lab), *args, "--threads", str(threads), "--out", str(out)]
            if processes > 1:
                cmd = [mpirun, "-np", str(processes), "--bind-to", "none", *cmd]
            wall = timed_run(cmd, env=env, cwd=ROOT)
            meta = json.loads((out / "nestml" / "pd14.json").read_text())
            prov = meta["provenance"]
            res[layout] = {"processes": processes, "threads": threads, "command_s": wall,
                           "rtf": meta["statistics"]["rtf"],
                           "per_process": [{"simulate_s": q["simulate_s"], "build_s": q["build_s"],
                                            "peak_rss_mb": q["peak_rss_mb"]} for q in prov["per_process"]]}
            with np.load(out / "nestml" / "pd14_spikes.npz") as d:
                spikes[layout] = {k: d[k] for k in d.files}
    res["identical_spikes"] = all(np.array_equal(spikes["1x2"][k], spikes["2x1"][k]) for k in spikes["1x2"])
    log(f"[bench/mpi] PD14 0.1: 1x2 rtf {res['1x2']['rtf']:.2f}, 2x1 rtf {res['2x1']['rtf']:.2f}; "
        f"identical spikes {res['identical_spikes']}; set-up {res['setup_cached_s']:.0f} s cached")
    return res


def _benchmarks() -> dict:
    """Every benchmark by name, in the order they run."""
    return {"build": bench_build, "brunel": bench_brunel, "window": bench_window, "pd14": bench_pd14,
            "mpi": bench_mpi, "twins": twins.bench_twins, "solvers": solvers.bench_solvers,
            "seed004": seed004.bench_seed004, "sweeps": sweeps.bench_sweeps}


def main(argv=None) -> int:
    """Run the benchmarks (``--quick``, ``--only``) and write BENCHMARKS.md and the JSON results; return the exit
    status.
    """
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the small development subset")
    benchmarks = _benchmarks()
    parser.add_argument("--only", nargs="*", choices=list(benchmarks), help="some benchmarks")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = {"machine": machine(), "quick": args.quick, "date": time.strftime("%Y-%m-%d %H:%M")}
    wanted = args.only or list(benchmarks)
    for name, fn in benchmarks.items():
        if name in wanted:
            r = fn(args.quick)
            if r is not None:
                results[name] = r
    results["total_s"] = time.perf_counter() - t0
    path = OUT / ("bench_quick.json" if args.quick else "bench.json")
    path.write_text(json.dumps(results, indent=1))
    log(f"[bench] results in {path} ({results['total_s'] / 60:.1f} min)")
    if not args.quick and not args.only:
        (ROOT / "BENCHMARKS.md").write_text(report.markdown(results))
        log(f"[bench] rewrote {ROOT / 'BENCHMARKS.md'}")
    else:
        print(report.markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
