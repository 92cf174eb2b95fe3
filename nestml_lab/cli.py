"""The ``nestml-lab`` command: one entry point, a subcommand per job (Makefile targets wrap these)."""

from __future__ import annotations

import argparse
import sys
import time

from codegen import TOOLKIT_VERSION
from codegen.errors import CodegenError
from nestml_lab import paths
from nestml_lab.build import BuildError


def _progress(line: str) -> None:
    print(line, flush=True)


def cmd_module(args: argparse.Namespace) -> int:
    """Generate (cached), compile and install the catalog module."""
    from codegen.generate import generate, nest_version, nestml_version
    from codegen.manifest import load_manifest
    from nestml_lab import build

    t0 = time.perf_counter()
    manifest = load_manifest(args.models)
    report = generate(manifest, paths.GENERATED_DIR, jobs=args.jobs, log=_progress)
    so = build.compile_module(manifest.module, jobs=args.jobs, nest_config=args.nest_config, log=_progress)
    stamp = {
        "module": manifest.module,
        "source_hash": report.source_hash,
        "toolkit": TOOLKIT_VERSION,
        "nestml": nestml_version(),
        "nest": nest_version(),
        "models": manifest.nest_names(),
    }
    dest = build.install(so, stamp)
    n_models = len(stamp["models"])
    print(f"[module] {manifest.module}: {n_models} models, {len(report.generated)} units generated, "
          f"{len(report.cached)} cached; installed {dest} in {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nestml-lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("module", help="generate, compile and install the catalog's NEST module")
    p.add_argument("--models", default=str(paths.MODELS_DIR), help="catalog folder or manifest (default: models/)")
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel NESTML runs and compile jobs")
    p.add_argument("--nest-config", default=None, help="nest-config of a NEST built from source")
    p.set_defaults(func=cmd_module)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CodegenError, BuildError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("The previously installed module, if any, was left as it was.", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
