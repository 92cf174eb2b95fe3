"""The ``nestml-lab`` command: one entry point, a subcommand per job (Makefile targets wrap these)."""

from __future__ import annotations

import argparse
import sys
import time

from codegen.errors import CodegenError
from nestml_lab import paths
from nestml_lab.build import BuildError


def _progress(line: str) -> None:
    print(line, flush=True)


def cmd_module(args: argparse.Namespace) -> int:
    """Generate (cached), compile and install the catalog module."""
    from codegen.generate import generate
    from codegen.manifest import load_manifest
    from nestml_lab import build

    t0 = time.perf_counter()
    manifest = load_manifest(args.models)
    report = generate(manifest, paths.GENERATED_DIR, jobs=args.jobs, log=_progress)
    so = build.compile_module(manifest.module, jobs=args.jobs, nest_config=args.nest_config, log=_progress)
    stamp = {
        "module": manifest.module,
        "source_hash": report.source_hash,
        **report.versions,
        "models": manifest.nest_names(),
    }
    dest = build.install(so, stamp)
    n_models = len(stamp["models"])
    print(f"[module] {manifest.module}: {n_models} models, {len(report.generated)} units generated, "
          f"{len(report.cached)} cached; installed {dest} in {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


def cmd_stdp_window(args: argparse.Namespace) -> int:
    """Run the STDP-window experiment; write CSV, JSON and a figure."""
    from nestml_lab.experiments import stdp_window

    params = stdp_window.StdpWindowParams(
        synapse=args.synapse, neuron=args.neuron, n_pairings=args.pairings, frequency_hz=args.freq,
        delay_ms=args.delay, resolution_ms=args.resolution, n_dt=args.n_dt,
        one_simulation=not args.per_dt_loop)
    t0 = time.perf_counter()
    print(f"[stdp-window] {params.synapse} on {params.neuron}: {params.n_dt} dt x {params.n_pairings} pairings",
          flush=True)
    result = stdp_window.run(params, progress=_progress)
    files = stdp_window.save(result, args.out)
    fig = stdp_window.plot(result, args.out)
    print(f"[stdp-window] done in {time.perf_counter() - t0:.1f} s: {files['csv']}, {files['json']}, {fig}",
          flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nestml-lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("module", help="generate, compile and install the catalog's NEST module")
    p.add_argument("--models", default=str(paths.MODELS_DIR), help="catalog folder or manifest (default: models/)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel NESTML runs and compile jobs")
    p.add_argument("--nest-config", default=None, help="nest-config of a NEST built from source")
    p.set_defaults(func=cmd_module)

    p = sub.add_parser("stdp-window", help="weight change versus t_post - t_pre, all dt in one simulation")
    p.add_argument("--synapse", default="stdp_synapse", help="catalog synapse, or nest:<built-in>")
    p.add_argument("--neuron", default="iaf_psc_exp_neuron", help="catalog neuron, or nest:<built-in>")
    p.add_argument("--pairings", type=int, default=60)
    p.add_argument("--freq", type=float, default=1.0, help="pairing frequency (Hz)")
    p.add_argument("--delay", type=float, default=1.0, help="synaptic delay (ms)")
    p.add_argument("--resolution", type=float, default=0.1, help="simulation step (ms)")
    p.add_argument("--n-dt", type=int, default=101, help="points from -100 to +100 ms")
    p.add_argument("--per-dt-loop", action="store_true", help="one simulation per dt (slow, as in the seed notebook)")
    p.add_argument("--out", default="results/stdp_window", help="output folder")
    p.set_defaults(func=cmd_stdp_window)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CodegenError, BuildError, KeyError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("The previously installed module, if any, was left as it was.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
