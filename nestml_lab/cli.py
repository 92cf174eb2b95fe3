"""The ``nestml-lab`` command: one entry point, a subcommand per job (Makefile targets wrap these)."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

from nestml_lab import paths
from nestml_lab.build import BuildError
from nestml_lab.codegen.errors import CodegenError


def _progress(line: str) -> None:
    print(line, flush=True)


def _project_arg(value: str | None):
    """The project a command works on: the one named, else this folder's, else the repository's catalog."""
    from nestml_lab.codegen.manifest import MANIFEST_NAME

    if value:
        return Path(value)
    if (Path.cwd() / MANIFEST_NAME).is_file():
        return Path.cwd()
    if (paths.MODELS_DIR / MANIFEST_NAME).is_file():
        return paths.MODELS_DIR
    raise ValueError(f"no {MANIFEST_NAME} in {Path.cwd()}: give a project folder, or start one with `nestml-lab init`")


def _version() -> str:
    import importlib.metadata

    def v(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    from nestml_lab.provenance import git_revision

    rev = git_revision(paths.REPO_ROOT)
    return (f"nestml-lab {v('nestml-lab')}" + (f" (git {rev})" if rev else "")
            + f", NESTML {v('nestml')}, NEST {v('nest-simulator')}")


def _check_writable(out: Path) -> None:
    """Refuse an output folder that cannot be written before minutes of simulation, not after."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise OSError(f"--out {out}: cannot write there ({existing} is not a writable folder)")


def cmd_module(args: argparse.Namespace) -> int:
    """Generate (cached), compile and install a project's module."""
    from nestml_lab.project import make_module

    made = make_module(_project_arg(args.project or args.models), jobs=args.jobs, nest_config=args.nest_config,
                       rewrites=() if args.no_rewrites else None, log=_progress)
    _report_rewrites(made.module.manifest.rewrites, made.report.rewrites)
    print(f"[module] {made.module.name}: {len(made.module.stamp['models'])} models, "
          f"{len(made.report.generated)} units generated, {len(made.report.cached)} cached; "
          f"installed {made.module.so_path} in {made.seconds:.1f} s", flush=True)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    """Start a project folder: a manifest, and an example neuron with an STDP synapse."""
    from nestml_lab.project import new_project

    manifest = new_project(args.folder, module=args.module, example=not args.empty)
    print(f"[init] {manifest} written" + ("" if args.empty else " with an example neuron and STDP synapse"))
    print(f"[init] next: nestml-lab module {args.folder}   (then in Python: nestml_lab.load({str(args.folder)!r}))")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    """List a built module's models, their parameters and the synapse variables moved into neurons."""
    import os

    os.environ.setdefault("PYNEST_QUIET", "1")   # no banner before the listing
    import nest

    from nestml_lab.module import load

    nest.verbosity = nest.VerbosityLevel.WARNING
    print(load(_project_arg(args.project), check_sources=not args.no_check).describe())
    return 0


def _report_rewrites(enabled: tuple, outcomes: list) -> None:
    """One line for what was rewritten, one per rewrite that was skipped or applied only in part."""
    if not enabled:
        print("[rewrite] none: NESTML's generated code is built as it is (--no-rewrites or `rewrites: none`)",
              flush=True)
        return
    applied = [o for o in outcomes if o.applied]
    print(f"[rewrite] {len(applied)} of {len(outcomes)} rewrites applied ({', '.join(enabled)}); "
          "details in each generated file's header", flush=True)
    for o in outcomes:
        if not o.applied or "propagators only" in o.detail or "flags kept" in o.detail:
            print(f"[rewrite]   {o.line()}", flush=True)


def _assignments(items: list[str], flag: str) -> dict:
    """``["lambda=0.02", "Wmax=90"]`` -> ``{"lambda": 0.02, "Wmax": 90.0}``."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"{flag} {item!r}: expected NAME=VALUE")
        try:
            out[name] = float(value)
        except ValueError:
            raise ValueError(f"{flag} {item!r}: {value!r} is not a number") from None
        if not math.isfinite(out[name]):
            raise ValueError(f"{flag} {item!r}: {value} is not a finite number")
        if name in ("Wmax", "tau_tr_pre", "tau_tr_post", "tau_plus", "tau_minus", "tau_x", "tau_y") \
                and out[name] <= 0:
            raise ValueError(f"{flag} {item!r}: {name} must be positive")
    return out


def cmd_stdp_window(args: argparse.Namespace) -> int:
    """Run the STDP-window experiment; write CSV, JSON and a figure (with NEST's built-in twin, if one exists)."""
    import numpy as np

    from nestml_lab.experiments import stdp_window

    params = stdp_window.StdpWindowParams(
        synapse=args.synapse, neuron=args.neuron, n_pairings=args.pairings, frequency_hz=args.freq,
        delay_ms=args.delay, resolution_ms=args.resolution, n_dt=args.n_dt, dt_min_ms=args.dt_min,
        dt_max_ms=args.dt_max, w0=args.w0, one_simulation=not args.per_dt_loop,
        synapse_params=_assignments(args.syn_param, "--syn-param"),
        neuron_params=_assignments(args.neuron_param, "--neuron-param"))
    t0 = time.perf_counter()
    print(f"[stdp-window] {params.synapse} on {params.neuron}: {params.n_dt} dt x {params.n_pairings} pairings",
          flush=True)
    result = stdp_window.run(params, progress=_progress)
    files = stdp_window.save(result, args.out)
    twin_params = stdp_window.nest_twin(params)
    twin = stdp_window.run(twin_params) if twin_params is not None else None
    if twin is not None:
        gap = float(np.max(np.abs(twin.dw - result.dw)))
        print(f"[stdp-window] NEST's built-in {twin_params.synapse[5:]} with the same parameters: largest "
              f"|dw difference| {gap:.1e}", flush=True)
    fig = stdp_window.plot(result, args.out, twin=twin)
    print(f"[stdp-window] done in {time.perf_counter() - t0:.1f} s: {files['csv']}, {files['json']}, {fig}",
          flush=True)
    return 0


#: Exit status of `nestml-lab upgrade` when something was left alone for the author (2 is argparse's usage error).
UPGRADE_LEFT_ALONE = 3


def cmd_upgrade(args: argparse.Namespace) -> int:
    """Rewrite NESTML 7/8 sources (or a manifest's delay_variable) to NESTML 9."""
    from nestml_lab.codegen import upgrade

    status = 0
    for path in args.files:
        result = upgrade.upgrade_file(path)
        if args.diff:
            sys.stdout.write(result.diff())
        else:
            for line in result.report():
                print(line)
        if not result.changed:
            print(f"{path}: nothing to upgrade" + (" (see the findings above)" if result.findings else ""))
        elif args.in_place:
            backup = upgrade.write(result, in_place=True)
            print(f"{path}: upgraded in place ({len(result.changes)} line(s)); the original is in {backup}")
        elif args.out:
            dest = upgrade.write(result, out_dir=args.out)
            print(f"{path}: upgraded copy written to {dest}")
        elif not args.diff:
            print(f"{path}: {len(result.changes)} line(s) would change; nothing written "
                  "(--in-place to rewrite the file, --out DIR for a copy, --diff for a diff)")
        if result.findings:
            status = UPGRADE_LEFT_ALONE
    return status


def cmd_check(args: argparse.Namespace) -> int:
    """Parse and check models with NESTML 9; explain older syntax."""
    from nestml_lab.codegen.check import check_file

    failed = 0
    for path in args.files:
        result = check_file(path)
        for line in result.report():
            print(line)
        failed += not result.ok
    return 1 if failed else 0


def cmd_pairing_frequency(args: argparse.Namespace) -> int:
    """Triplet-rule pairing-frequency protocol against Sjöström 2001."""
    from nestml_lab.experiments import pairing_frequency

    params = pairing_frequency.PairingFrequencyParams(synapse=args.synapse, n_pairings=args.pairings)
    t0 = time.perf_counter()
    result = pairing_frequency.run(params, progress=_progress)
    files = pairing_frequency.save(result, args.out)
    fig = pairing_frequency.plot(result, args.out)
    print(f"[pairing-frequency] done in {time.perf_counter() - t0:.1f} s: {files['csv']}, {fig}", flush=True)
    return 0


def cmd_short_term(args: argparse.Namespace) -> int:
    """Tsodyks-Markram amplitude ratios for regular trains."""
    from nestml_lab.experiments import short_term

    params = short_term.ShortTermParams(synapse=args.synapse, n_spikes=args.spikes)
    t0 = time.perf_counter()
    result = short_term.run(params)
    files = short_term.save(result, args.out)
    fig = short_term.plot(result, args.out)
    for (name, rate), r in result.ratios().items():
        print(f"[short-term] {name:12s} {rate:5.1f} Hz: A2/A1 = {r[1]:.3f}, A{len(r)}/A1 = {r[-1]:.3f}")
    print(f"[short-term] done in {time.perf_counter() - t0:.1f} s: {files['csv']}, {fig}", flush=True)
    return 0


def cmd_seed001(args: argparse.Namespace) -> int:
    """Seed notebook 001's STDP window with its upgraded models."""
    from nestml_lab.experiments import seed001

    t0 = time.perf_counter()
    result = seed001.run(seed001.Seed001Params())
    files = seed001.save(result, args.out)
    fig = seed001.plot(result, args.out)
    print(f"[seed001] {len(result.dt_ms)} post times in one simulation, {time.perf_counter() - t0:.1f} s: "
          f"{files['csv']}, {fig}", flush=True)
    return 0


def cmd_pd14(args: argparse.Namespace) -> int:
    """PD14 microcircuit with NEST's and/or the catalog's iaf_psc_exp."""
    import numpy as np

    from nestml_lab.experiments import pd14
    from nestml_lab.experiments.pd14_params import FULL_MEAN_RATES_HZ, POPULATIONS

    impls = ["nest", "nestml"] if args.neuron == "both" else [args.neuron]
    results = {}
    for impl in impls:
        params = pd14.Pd14Params(neuron=impl, scale=args.scale, t_sim_ms=args.t_sim, seed=args.seed,
                                 threads=args.threads)
        r = pd14.run(params, progress=_progress)
        results[impl] = r
        pd14.save(r, f"{args.out}/{impl}")
        t = r.timing()
        print(f"[pd14] {impl}: real-time factor {t['rtf']:.2f}, peak RSS {t['peak_rss_mb']:.0f} MB")
        print("[pd14]   pop     rate (Hz)  published  ISI CV  corr")
        for pop, rate, pub, cv, c in zip(POPULATIONS, r.rates(), FULL_MEAN_RATES_HZ, r.cv_isi(), r.correlation()):
            print(f"[pd14]   {pop:6s} {rate:9.2f} {pub:10.2f} {cv:7.2f} {c:6.3f}")
    if len(results) == 2:
        a, b = results["nest"], results["nestml"]
        same = all(np.array_equal(np.sort(a.spikes[p][1]), np.sort(b.spikes[p][1])) for p in POPULATIONS)
        print(f"[pd14] NESTML vs NEST spike trains identical: {same}; KS distance of per-neuron rates: "
              + ", ".join(f"{p} {pd14.ks_distance(a.per_neuron_rates(p), b.per_neuron_rates(p)):.3f}"
                          for p in POPULATIONS))
    fig = pd14.plot(results[impls[0]], args.out, other=results.get("nestml") if len(impls) == 2 else None)
    print(f"[pd14] figure: {fig}")
    return 0


def cmd_run_tree(args: argparse.Namespace) -> int:
    """Run an experiment tree (YAML): network + sessions; write the run folder."""
    from nestml_lab import trees

    tree = trees.read(args.tree) if not args.rerun else trees.rerun_tree(args.tree)
    t0 = time.perf_counter()
    out = trees.run(tree, args.out, progress=_progress)
    print(f"[tree] done in {time.perf_counter() - t0:.1f} s: {out}", flush=True)
    return 0


def cmd_song2000(args: argparse.Namespace) -> int:
    """Song, Miller & Abbott 2000: weight distribution becomes bimodal."""
    from nestml_lab.experiments import song2000

    p = song2000.Song2000Params(t_sim_s=args.t_sim, n_inputs=args.inputs, seed=args.seed, a_plus_rel=args.a_plus,
                                threads=args.threads)
    t0 = time.perf_counter()
    r = song2000.run(p, out_dir=f"{args.out}/run", progress=_progress)
    song2000.save(r, args.out)
    fig = song2000.plot(r, args.out)
    b = r.bimodality()
    print(f"[song2000] {b['low']:.0%} of the weights < 0.1 g_max, {b['high']:.0%} > 0.9 g_max; "
          f"{time.perf_counter() - t0:.1f} s; figure {fig}", flush=True)
    return 0


def cmd_adex_network(args: argparse.Namespace) -> int:
    """Seed 004's AdEx E/I network with STP+STDP: the four conditions."""
    from nestml_lab import parallel
    from nestml_lab.experiments import adex_network

    p = adex_network.AdexNetworkParams(n_inh=args.n_inh, t_sim_ms=args.t_sim, seed=args.seed,
                                       threads=args.threads)
    r = adex_network.run(p, out_dir=f"{args.out}/runs", progress=_progress)
    adex_network.save(r, args.out)
    fig = adex_network.plot(r, args.out)
    for cond, (e, i) in r.rates().items():
        c = r.provenance["conditions"][cond]
        print(f"[adex] {cond:22s} E {e:6.2f} Hz  I {i:6.2f} Hz  CV(E) {r.cv_isi()[cond]:.2f}  "
              f"wall {c['build_s'] + c['simulate_s']:.1f} s  peak RSS {c['peak_rss_mb']:.0f} MB")
    print(f"[adex] figure {fig}", flush=True)
    if args.brian2 and parallel.is_root():
        print("[adex] the same network in Brian2 (its own environment) ...", flush=True)
        theirs = adex_network.brian2_crosscheck(p, f"{args.out}/brian2")
        print(f"[adex] {'condition':22s} {'rate E (Hz)':>18s} {'rate I (Hz)':>18s} {'CV(E)':>12s} "
              f"{'wall (s)':>14s} {'peak RSS (MB)':>14s}")
        print(f"[adex] {'':22s} {'NEST  Brian2':>18s} {'NEST  Brian2':>18s} {'NEST Brian2':>12s} "
              f"{'NEST Brian2':>14s} {'NEST Brian2':>14s}")
        for cond, (e, i) in r.rates().items():
            c, b = r.provenance["conditions"][cond], theirs[cond]
            print(f"[adex] {cond:22s} {e:8.2f} {b['rate_exc_hz']:8.2f}  {i:8.2f} {b['rate_inh_hz']:8.2f}  "
                  f"{r.cv_isi()[cond]:5.2f} {b['cv_exc']:5.2f}  {c['build_s'] + c['simulate_s']:6.1f} "
                  f"{b['wall_s']:6.1f}  {c['peak_rss_mb']:6.0f} {b['peak_rss_mb']:6.0f}")
        print(f"[adex] Brian2 results: {args.out}/brian2/brian2_result.json "
              "(its peak RSS is the process's peak so far: the conditions run one after another)", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    # NEST's start-up banner says nothing a user of this command needs (set PYNEST_QUIET= to see it again)
    os.environ.setdefault("PYNEST_QUIET", "1")
    parser = argparse.ArgumentParser(prog="nestml-lab", description=__doc__)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("module", help="generate, compile and install a project's NEST module")
    p.add_argument("project", nargs="?", default=None,
                   help="project folder or its module.yaml (default: this folder, else the repository's models/)")
    p.add_argument("--models", default=None, help=argparse.SUPPRESS)  # the old name of the argument
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel NESTML runs and compile jobs")
    p.add_argument("--nest-config", default=None, help="nest-config of a NEST built from source (default: "
                   "NEST_CONFIG, else the nest package of this Python)")
    p.add_argument("--no-rewrites", action="store_true",
                   help="build NESTML's generated code as it is, without the speed rewrites (codegen/rewrites.py); "
                        "for comparison, or as an escape hatch")
    p.set_defaults(func=cmd_module)

    p = sub.add_parser("init", help="start a project folder: module.yaml and an example neuron + STDP synapse")
    p.add_argument("folder", help="folder to create (or an empty one)")
    p.add_argument("--module", default=None, help="module name (default: <folder>_module)")
    p.add_argument("--empty", action="store_true", help="only the manifest, no example models")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("models", help="list a built module's models, parameters and moved synapse variables")
    p.add_argument("project", nargs="?", default=None, help="project folder, module.yaml or stamp (.json)")
    p.add_argument("--no-check", action="store_true", help="list even if the sources changed since the build")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("stdp-window", help="weight change versus t_post - t_pre, all dt in one simulation")
    p.add_argument("--synapse", default="stdp_synapse", help="catalog synapse, or nest:<built-in>")
    p.add_argument("--neuron", default="iaf_psc_exp_neuron", help="catalog neuron, or nest:<built-in>")
    p.add_argument("--pairings", type=int, default=60)
    p.add_argument("--freq", type=float, default=1.0, help="pairing frequency (Hz)")
    p.add_argument("--delay", type=float, default=1.0, help="synaptic delay (ms)")
    p.add_argument("--resolution", type=float, default=0.1, help="simulation step (ms)")
    p.add_argument("--n-dt", type=int, default=101, help="points of the sweep")
    p.add_argument("--dt-min", type=float, default=-100.0, help="first dt = t_post - t_pre (ms)")
    p.add_argument("--dt-max", type=float, default=100.0, help="last dt (ms)")
    p.add_argument("--w0", type=float, default=50.0, help="initial weight")
    p.add_argument("--syn-param", action="append", metavar="NAME=VALUE", help="synapse parameter (repeatable)")
    p.add_argument("--neuron-param", action="append", metavar="NAME=VALUE",
                   help="neuron parameter, e.g. tau_tr_post__for_stdp_synapse_nestml=30 (repeatable)")
    p.add_argument("--per-dt-loop", action="store_true", help="one simulation per dt (slow, as in the seed notebook)")
    p.add_argument("--out", default="results/stdp_window", help="output folder")
    p.set_defaults(func=cmd_stdp_window)

    p = sub.add_parser("pairing-frequency", help="triplet rule: 60 pairings at +-10 ms vs frequency (Sjöström 2001)")
    p.add_argument("--synapse", default="stdp_triplet_synapse")
    p.add_argument("--pairings", type=int, default=60)
    p.add_argument("--out", default="results/pairing_frequency", help="output folder")
    p.set_defaults(func=cmd_pairing_frequency)

    p = sub.add_parser("short-term", help="Tsodyks-Markram PSC ratios A_n/A_1 for regular trains")
    p.add_argument("--synapse", default="tsodyks_synapse", help="catalog synapse or nest:tsodyks_synapse")
    p.add_argument("--spikes", type=int, default=10, help="spikes per train")
    p.add_argument("--out", default="results/short_term", help="output folder")
    p.set_defaults(func=cmd_short_term)

    p = sub.add_parser("seed001", help="seed notebook 001's STDP window (Izhikevich, additive STDP, delay 15 ms)")
    p.add_argument("--out", default="results/seed001", help="output folder")
    p.set_defaults(func=cmd_seed001)

    p = sub.add_parser("pd14", help="Potjans & Diesmann 2014 microcircuit: rates, CV, correlation, figures")
    p.add_argument("--neuron", choices=["nest", "nestml", "both"], default="both")
    p.add_argument("--scale", type=float, default=0.1)
    p.add_argument("--t-sim", type=float, default=1000.0, help="analysed time after a 500 ms presimulation (ms)")
    p.add_argument("--seed", type=int, default=55)
    p.add_argument("--threads", type=int, default=2, help="threads per process (default 2); under "
                   "`mpirun -np N` every process runs this many: use 1 per core")
    p.add_argument("--out", default="results/pd14", help="output folder")
    p.set_defaults(func=cmd_pd14)

    p = sub.add_parser("run-tree", help="run an experiment tree (YAML): network, sessions -> run folder")
    p.add_argument("tree", help="YAML tree, or with --rerun the run folder of an earlier run")
    p.add_argument("--rerun", action="store_true", help="run again the resolved tree saved in a run folder")
    p.add_argument("--out", required=True, help="run folder to write")
    p.set_defaults(func=cmd_run_tree)

    p = sub.add_parser("song2000", help="Song, Miller & Abbott 2000: STDP makes the weights bimodal")
    p.add_argument("--t-sim", type=float, default=3000.0,
                   help="simulated time (s); about 0.06 s wall per s; settled after about 1500 s at the default A+")
    p.add_argument("--a-plus", type=float, default=0.005,
                   help="A+ / g_max (the paper's 0.005; larger is faster but blurs the modes, see the README)")
    p.add_argument("--inputs", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2, help="threads per process (default 2); under "
                   "`mpirun -np N` every process runs this many: use 1 per core")
    p.add_argument("--out", default="results/song2000")
    p.set_defaults(func=cmd_song2000)

    p = sub.add_parser("adex-network", help="seed 004's AdEx E/I network with STP+STDP, four conditions")
    p.add_argument("--n-inh", type=int, default=500, help="interneurons (excitatory: 4x)")
    p.add_argument("--t-sim", type=float, default=10000.0, help="simulated time per condition (ms)")
    p.add_argument("--seed", type=int, default=4022)
    p.add_argument("--threads", type=int, default=2, help="threads per process (default 2); under "
                   "`mpirun -np N` every process runs this many: use 1 per core")
    p.add_argument("--brian2", action="store_true",
                   help="also run the network in Brian2 and compare (needs `make brian2-setup`)")
    p.add_argument("--out", default="results/adex_network")
    p.set_defaults(func=cmd_adex_network)

    p = sub.add_parser("upgrade", help="rewrite NESTML 7/8 models (and manifests) to NESTML 9 syntax",
                       epilog="exit status: 0 done, 1 error, 2 wrong arguments, 3 something was left alone "
                              "(reported with its line)")
    p.add_argument("files", nargs="+", help=".nestml files, or a manifest (.yaml) / options file (.json)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--in-place", action="store_true", help="rewrite the files, keeping FILE.bak")
    mode.add_argument("--out", default=None, help="write upgraded copies into this folder")
    p.add_argument("--diff", action="store_true", help="print a unified diff instead of the line report")
    p.set_defaults(func=cmd_upgrade)

    p = sub.add_parser("check", help="check models with NESTML 9: file:line:col errors, hints for older syntax")
    p.add_argument("files", nargs="+")
    p.set_defaults(func=cmd_check)

    args = parser.parse_args(argv)
    from nestml_lab import parallel

    rank, processes = parallel.launcher_rank(), parallel.launcher_size()
    if rank > 0:   # under mpirun: every process runs this command; rank 0 alone prints progress and results
        sys.stdout = open(os.devnull, "w")
    try:
        if getattr(args, "out", None):
            _check_writable(Path(args.out))
        return args.func(args)
    except (CodegenError, BuildError, KeyError, ValueError, RuntimeError, OSError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error{f' (MPI rank {rank} of {processes})' if processes > 1 else ''}: {message}", file=sys.stderr)
        if args.command == "module":
            print("The previously installed module, if any, was left as it was.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
