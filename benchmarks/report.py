"""BENCHMARKS.md from the results of benchmarks/run.py."""

from __future__ import annotations

import json
from pathlib import Path


def _s(x: float) -> str:
    return f"{x:.2f} s" if x < 10 else f"{x:.1f} s"


def _med(d: dict) -> float:
    return d["median"]


def _goal(ok: bool) -> str:
    return "met" if ok else "**not met**"


def markdown(r: dict) -> str:
    """BENCHMARKS.md from the results of :func:`benchmarks.run.main`."""
    m = r["machine"]
    out = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m benchmarks.run`) on {r['date']}, in {r['total_s'] / 60:.1f} min.",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, {m['system']}, Python {m['python']}.",
        "Contenders run side by side in the same run; min and median over the repeats (n). Nothing here",
        "is a test: a slower machine gives slower figures. Raw numbers: `results/bench/bench.json`.",
        "",
    ]
    b = r.get("build")
    if b and "ours_cold_s" not in b:
        out += ["## Build", "", f"- nothing changed (quick run, real checkout): "
                f"{_s(_med(b['ours_nochange_s']))} median of {b['ours_nochange_s']['n']}", ""]
    elif b:
        cold = b["ours_cold_s"]
        nochange = _med(b["ours_nochange_s"])
        out += ["## Build: `make module` on the whole catalog", "",
                "Scratch checkouts under `results/bench/build/`. Ours: cold = empty generated-code cache, build",
                "folder and compiler cache (ccache); an edit is compiled without the compiler cache. NESTML's flow",
                "has no cache: every call regenerates and recompiles everything, so its cold time is also its",
                "time for an unchanged or edited catalog.", "",
                "| | ours | NESTML's own flow | ours / NESTML |", "|---|---|---|---|"]
        ref = b.get("nestml_cold_s")

        def row(label: str, x: float) -> str:
            if not ref:
                return f"| {label} | {_s(x)} | not run | |"
            return f"| {label} | {_s(x)} | {_s(ref)} | {x / ref:.3f} |"

        out.append(row("cold", cold))
        out.append(row(f"nothing changed (median of {b['ours_nochange_s']['n']})", nochange))
        for label, edit in b["ours_edit_s"].items():
            out.append(row(f"one model edited: {label} (median of {edit['n']})", _med(edit)))
        calls = b.get("nestml_calls") or []
        if calls:
            out += ["", f"NESTML's flow is {len(calls)} calls, as NESTML takes some options once per call "
                    "(`benchmarks/nestml_flow.py`): "
                    + "; ".join(f"{', '.join(c['files'])}: {c['seconds']:.0f} s"
                                + ("" if c["ok"] else f", **failed** ({c['error']})") for c in calls) + "."]
        stages = b.get("ours_cold_stages")
        if stages:
            out += ["", "Where the cold build's time went (seconds of each stage, summed over the units NESTML "
                    "generates two at a time and the translation units two compile at a time):", "",
                    "| stage | seconds |", "|---|---|"]
            out += [f"| {name} | {seconds:.1f} |" for name, seconds in stages.items()]
        out += ["", "Goals (this 2-core machine):", ""]
        out.append(f"- nothing changed < 2 s: {_s(nochange)}, {_goal(nochange < 2.0)}")
        worst_edit = max(_med(s) for s in b["ours_edit_s"].values())
        out.append(f"- one model edited <= 0.3x cold: worst {worst_edit / cold:.2f}x, {_goal(worst_edit <= 0.3 * cold)}")
        if "nestml_cold_s" in b:
            ratio = cold / b["nestml_cold_s"]
            out.append(f"- cold <= 0.5x NESTML's flow: {ratio:.2f}x, {_goal(ratio <= 0.5)}")
        lv = b.get("levers")
        if lv:
            out += ["", "### Levers", "", "| lever | with | without | effect |", "|---|---|---|---|"]
            out.append(f"| NESTML generation in parallel processes (generation only) | "
                       f"{_s(lv['generation_jobs2_s'])} (2 processes) | {_s(lv['generation_jobs1_s'])} (1) | "
                       f"{lv['generation_jobs1_s'] / lv['generation_jobs2_s']:.2f}x faster |")
            if "cold_pch_on_s" in lv:
                on, off = lv["cold_pch_on_s"], lv["cold_pch_off_s"]
                cpu = [lv[f"cold_pch_{k}_stages"].get("compile (all translation units)", float("nan"))
                       for k in ("on", "off")]
                out.append(f"| precompiled NEST headers, machine-wide (cold, no compiler cache; `.gch` made in the "
                           f"run) | {_s(on)} ({cpu[0]:.0f} s of compiler time) | {_s(off)} ({cpu[1]:.0f} s) | "
                           f"{off / on:.2f}x faster cold |")
            if "cold_warm_ccache_s" in lv:
                out.append(f"| ccache and the machine-wide cache, warm (generated code and build folder deleted) | "
                           f"{_s(lv['cold_warm_ccache_s'])} | {_s(cold)} | {cold / lv['cold_warm_ccache_s']:.1f}x "
                           "faster |")
            edits = ", ".join(f"{k.split(' (')[0]}: {_s(_med(e))}" for k, e in b["ours_edit_s"].items())
            out.append(f"| content-hash cache per unit + one translation unit per model | {edits} | "
                       f"{_s(cold)} (everything) | only the edited unit is regenerated and recompiled |")
            out.append(f"| no NEST probe (nest_version passed to NESTML) and cmake only when its arguments change "
                       f"| {_s(nochange)} for nothing changed | | no process imports NEST during `make module` |")
        if b.get("notebook_loop"):
            from benchmarks.notebook_loop import markdown as notebook_markdown

            out += notebook_markdown(b["notebook_loop"])
        out.append("")
    br = r.get("brunel")
    if br:
        out += [f"## Simulation: Brunel network, scale {br['scale']:g} (NE {int(8000 * br['scale'])}, "
                f"NI {int(2000 * br['scale'])}, CE 800, CI 200), Poisson drive, {br['t_sim_ms']:g} ms, 2 threads", "",
                "`benchmarks/brunel.py`; one process per run (peak RSS is per run); same seed for all; the three",
                "contenders interleaved. *Rewritten* is the catalog as `make module` builds it (nestml_lab/codegen/edits);",
                "*NESTML as generated* is the same catalog built with `--no-rewrites` (nestml_lab/unrewritten.py).", "",
                "| case | model | Simulate() median (min) | / NEST | build | peak RSS | bytes per E->E synapse "
                "| rate E / I | agreement with NEST |",
                "|---|---|---|---|---|---|---|---|---|"]
        for case, label in (("static", "(a) static synapses"), ("stdp", "(b) E->E stdp")):
            c = br.get(case)
            if not c:
                continue
            names = (("nest", "NEST built-ins"), ("nestml", "catalog, rewritten"),
                     ("nestml_raw", "catalog, NESTML as generated"))
            for impl, name in names:
                x = c.get(impl)
                if x is None:
                    continue
                agree, ratio = "", ""
                if impl != "nest":
                    ratio = f"**{c[f'ratio_simulate_{impl}']:.2f}x**"
                    agree = f"spike count {'identical' if c[f'same_spike_count_{impl}'] else 'differs'}"
                    if case == "stdp":
                        agree += f"; sampled weights differ by at most {c[f'max_weight_diff_{impl}']:.1e}"
                size = f"{x['synapse_sizeof']} B" if "synapse_sizeof" in x else ""
                out.append(f"| {label} | {name} | {_s(_med(x['simulate_s']))} ({_s(x['simulate_s']['min'])}) | "
                           f"{ratio} | {_s(_med(x['build_s']))} | {x['peak_rss_mb']:.0f} MB | {size} | "
                           f"{x['rate_exc_hz']:.1f} / {x['rate_inh_hz']:.1f} Hz | {agree} |")
            if "rewrite_speedup" in c:
                out.append(f"| {label} | **rewrites: speed-up** | **{c['rewrite_speedup']:.2f}x** | | | "
                           f"{c['ratio_rss_nestml']:.3f}x vs {c['ratio_rss_nestml_raw']:.3f}x NEST's | | | |")
        out += [""]
    w = r.get("window")
    if w:
        out += [f"## STDP window: {w['n_dt']} dt x {w['n_pairings']} pairings", "",
                "| | median (min) | n |", "|---|---|---|",
                f"| all dt in one NEST simulation | {_s(_med(w['one_simulation_s']))} "
                f"({_s(w['one_simulation_s']['min'])}) | {w['one_simulation_s']['n']} |",
                f"| one simulation per dt (seed notebook) | {_s(_med(w['per_dt_loop_s']))} "
                f"({_s(w['per_dt_loop_s']['min'])}) | {w['per_dt_loop_s']['n']} |",
                "", f"Speed-up {w['speedup']:.1f}x; largest |dw| difference between the two: "
                    f"{w['max_abs_dw_difference']:.1e}.", ""]
    p = r.get("pd14")
    if p:
        out += [f"## PD14 microcircuit, scale {p['scale']:g}, {p['t_sim_ms']:g} ms, 2 threads", "",
                "| neuron | real-time factor (wall / model time) | Simulate() | peak RSS |", "|---|---|---|---|"]
        for impl, name in (("nest", "NEST iaf_psc_exp"), ("nestml", "catalog iaf_psc_exp_neuron (rewritten)")):
            x = p[impl]
            out.append(f"| {name} | {_med(x['rtf']):.2f} | {_s(_med(x['simulate_s']))} | {x['peak_rss_mb']:.0f} MB |")
        out += ["", f"catalog (rewritten) / NEST: {p['ratio_rtf']:.2f}x.", ""]
    q = r.get("mpi")
    if q:
        out += [f"## PD14 under MPI, scale {q['scale']:g}, {q['t_sim_ms']:g} ms, catalog iaf_psc_exp_neuron", "",
                "NEST 3.10.0 built with MPI (`make mpi-setup`), the same build for both layouts, one after the other.",
                "", "| processes x threads | real-time factor | whole command | per process: Simulate(), build, "
                "peak RSS |", "|---|---|---|---|"]
        for layout in ("1x2", "2x1"):
            x = q[layout]
            per = "; ".join(f"{_s(pp['simulate_s'])}, {_s(pp['build_s'])}, {pp['peak_rss_mb']:.0f} MB"
                            for pp in x["per_process"])
            out.append(f"| {x['processes']} x {x['threads']} | {x['rtf']:.2f} | {_s(x['command_s'])} | {per} |")
        cold = q.get("setup_cold_s")
        out += ["", f"Identical spikes in both layouts: {q['identical_spikes']}. `make mpi-setup`: "
                    f"{_s(q['setup_cached_s'])} with the built NEST cached"
                    + (f", {cold / 60:.0f} min building it" if cold else "") + ".", ""]
    if r.get("twins"):
        from benchmarks.twins import markdown as twins_markdown

        out += twins_markdown(r["twins"])
    if r.get("solvers"):
        from benchmarks.solvers import markdown as solvers_markdown

        out += solvers_markdown(r["solvers"])
    if r.get("seed004"):
        from benchmarks.seed004 import markdown as seed004_markdown

        out += seed004_markdown(r["seed004"])
    if r.get("sweeps"):
        from benchmarks.sweeps import section as sweeps_section

        out += sweeps_section(r)
    out += pd14_full_section()
    return "\n".join(out) + "\n"


def pd14_full_section(folder: Path | None = None) -> list[str]:
    """PD14 at full scale from the last ``make pd14-full`` in this checkout (results/pd14_full), if any."""
    from benchmarks.common import ROOT

    folder = folder or ROOT / "results" / "pd14_full"
    runs = {n: json.loads((folder / n / "pd14.json").read_text()) for n in ("nest", "nestml")
            if (folder / n / "pd14.json").is_file()}
    out = ["## PD14 at full scale (`make pd14-full`)", ""]
    if len(runs) < 2:
        return out + ["Not run in this checkout (about 8.5 min and 15 GB here); the last figures measured are in the",
                      "README's PD14 section.", ""]
    nest, ours = runs["nest"], runs["nestml"]
    made = nest["provenance"]["created"][:10]
    out += [f"From results/pd14_full (run {made}; {nest['provenance']['virtual_processes']} virtual processes, "
            f"{nest['params']['t_presim_ms']:g} ms discarded, {nest['params']['t_sim_ms']:g} ms analysed).", "",
            "| | NEST's iaf_psc_exp | the catalog's iaf_psc_exp_neuron |", "|---|---|---|"]
    for label, key, fmt in (("build", "build_s", "{:.0f} s"), ("simulation", "simulate_s", "{:.0f} s"),
                            ("real-time factor", "rtf", "{:.0f}"), ("peak RSS", "peak_rss_mb", "{:.0f} MB")):
        out.append(f"| {label} | {fmt.format(nest['statistics'][key])} | {fmt.format(ours['statistics'][key])} |")
    out.append(f"| memory estimate | {nest['provenance']['memory_estimate_mb']:.0f} MB | "
               f"{ours['provenance']['memory_estimate_mb']:.0f} MB |")
    s = ours["statistics"]
    out += ["", "| population | rate (Hz) | published | ISI CV | correlation |", "|---|---|---|---|---|"]
    for i, pop in enumerate(s["populations"]):
        out.append(f"| {pop} | {s['rate_hz'][i]:.2f} | {s['published_full_scale_rate_hz'][i]:.2f} | "
                   f"{s['cv_isi'][i]:.2f} | {s['correlation'][i]:.4f} |")
    return out + [""]
