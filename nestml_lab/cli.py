"""The ``nestml-lab`` command: one entry point, a subcommand per job (Makefile targets wrap these)."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

from nestml_lab import paths
from nestml_lab.cmake import BuildError
from nestml_lab.codegen.errors import CodegenError


def _progress(line: str) -> None:
    print(line, flush=True)


def _project_arg(value: str | None):
    """The project a command works on: the one named, else this folder's; nothing else (never the catalog
    by surprise: `nestml-lab module models` builds it by name).
    """
    from nestml_lab.codegen.manifest import MANIFEST_NAME

    if value:
        return Path(value)
    if (Path.cwd() / MANIFEST_NAME).is_file():
        return Path.cwd()
    raise ValueError(f"no {MANIFEST_NAME} in {Path.cwd()}: name a project folder (`nestml-lab module my_models`), "
                     "start one with `nestml-lab init my_models`, or build the toolkit's catalog with "
                     f"`nestml-lab module {paths.MODELS_DIR}`")


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
    from nestml_lab import paths
    from nestml_lab.progress import StageLines, report_rewrites
    from nestml_lab.project import make_module

    project = _project_arg(args.project or args.models)
    folder = project if project.is_dir() else project.parent
    lines = _progress if args.verbose else StageLines(catalog=folder.resolve() == paths.MODELS_DIR.resolve())
    made = make_module(project, jobs=args.jobs, nest_config=args.nest_config,
                       rewrites=() if args.no_rewrites else None, log=lines)
    report_rewrites(made.module.manifest.rewrites, made.report.rewrites, args.verbose)
    print(f"[module] {made.module.name}: {len(made.module.stamp['models'])} models, "
          f"{len(made.report.generated)} units generated, {len(made.report.cached)} cached; "
          f"installed {made.module.so_path} in {made.seconds:.1f} s", flush=True)
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    """Start a project folder: a manifest, and an example neuron with an STDP synapse."""
    from nestml_lab.project import new_project

    manifest = new_project(args.folder, module=args.module, example=not args.empty, suffix=args.suffix)
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


def _assignments(items: list[str], flag: str, text: bool = False) -> dict:
    """``["lambda=0.02", "Wmax=90"]`` -> ``{"lambda": 0.02, "Wmax": 90.0}``; with ``text``, a value that is
    not a number is kept as text (an expression such as ``A_plus/Wmax``).
    """
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"{flag} {item!r}: expected NAME=VALUE")
        try:
            out[name] = float(value)
        except ValueError:
            if text and value.strip():
                out[name] = value.strip()
                continue
            raise ValueError(f"{flag} {item!r}: {value!r} is not a number") from None
        if not math.isfinite(out[name]):
            raise ValueError(f"{flag} {item!r}: {value} is not a finite number")
        if name in ("Wmax", "tau_tr_pre", "tau_tr_post", "tau_plus", "tau_minus", "tau_x", "tau_y") \
                and out[name] <= 0:
            raise ValueError(f"{flag} {item!r}: {name} must be positive")
    return out


#: Exit status of `nestml-lab upgrade` when something was left alone for the author (2 is argparse's usage error).
UPGRADE_LEFT_ALONE = 3


def cmd_upgrade(args: argparse.Namespace) -> int:
    """Rewrite older NESTML sources (1-8; or a manifest's delay_variable) to NESTML 9."""
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
        try:
            result = check_file(path)
        except Exception as exc:   # never a traceback: say what failed, for which file
            print(f"{path}: the check itself failed ({type(exc).__name__}: {exc})")
            failed += 1
            continue
        for line in result.report():
            print(line)
        failed += not result.ok
    return 1 if failed else 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run an experiment over a grid of its parameters on Dask; write the table and its figures."""
    from nestml_lab.sweeps import GridError, sweep

    if args.workers and args.scheduler:
        raise SystemExit("error: --workers starts a local cluster, --scheduler uses one: give one of them")
    fixed = list(args.set or [])
    if args.threads is not None:
        fixed.append(f"threads={args.threads}")
    try:
        result = sweep(args.experiment_name, args.grid, fixed=fixed, seeds=args.seeds, out=args.out,
                       workers=args.workers, scheduler=args.scheduler, log=_progress)
    except GridError as exc:
        raise SystemExit(f"error: [sweep] {exc}") from None
    return 1 if result.failed else 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Run a project's neurons (or NESTML's library) against the NEST twins its manifest names; write the
    conformance table.
    """
    from nestml_lab import conformance

    if args.nestml_library == (args.project is not None):
        raise SystemExit("error: [validate] give a project folder, or --nestml-library (not both)")
    # as every experiment: below the current folder
    out = Path(args.out) if args.out else Path("results") / ("validate_library" if args.nestml_library else "validate")
    if args.nestml_library:
        from nestml_lab.conformance import library

        results, files = library.run(args.work, out, args.models, log=_progress)
    else:
        results = conformance.validate(args.project, t_ms=args.t_ms, tolerance_ms=args.tolerance_ms)
        files = conformance.save(results, out)
        print(conformance.markdown(results), end="")
    bad = [r.model for r in results if r.verdict.startswith(("differs", "failed"))]
    print(f"[validate] {len(results) - len(bad)}/{len(results)} match their twin"
          + (f"; differ or failed: {', '.join(bad)}" if bad else "") + f": {files['markdown']}", flush=True)
    if args.nestml_library:   # NESTML's library is measured, not gated: some of its models differ from NEST's
        return 0 if results else 1
    return 1 if bad or not results else 0


def cmd_run_tree(args: argparse.Namespace) -> int:
    """Run an experiment tree (YAML): network + sessions; write the run folder."""
    from nestml_lab import networks

    tree = networks.read(args.tree) if not args.rerun else networks.rerun_tree(args.tree)
    t0 = time.perf_counter()
    out = networks.run(tree, args.out, progress=_progress)
    print(f"[tree] done in {time.perf_counter() - t0:.1f} s: {out}", flush=True)
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    """Build the documentation site with a project's model pages (default: the catalog's)."""
    from nestml_lab import docs

    project = Path(args.project) if args.project else None
    if project is not None:
        from nestml_lab.codegen.manifest import load_manifest

        load_manifest(project)   # a clear error for a folder that is no project
    out = Path(args.out) if args.out else (project / "site" if project else paths.REPO_ROOT / "site")
    docs.build(out, log=_progress, project=project)
    return 0


def cmd_golden(args: argparse.Namespace) -> int:
    """Rewrite the golden curves of tests/regression (on purpose only; see its README)."""
    from nestml_lab import golden

    golden.write(args.curves or None, log=_progress)
    return 0


def _experiment_values(exp, args: argparse.Namespace) -> dict:
    """The parameters given on the command line, converted; the rest keep the parameter class's defaults."""
    from nestml_lab.experiments.shared.contract import parameters

    values = {}
    for par in parameters(exp.params):
        if not hasattr(args, par.name):
            continue
        given = getattr(args, par.name)
        if par.kind == "dict":   # NAME=VALUE pairs update the default set
            given = {**par.default, **_assignments(given, par.option(), par.text)}
        elif par.kind == "tuple":
            given = tuple(given)
        values[par.name] = given
    return values


def cmd_experiment(args: argparse.Namespace) -> int:
    """Run one registered experiment: run, save, plot, summary (nestml_lab.experiments.shared.contract)."""
    exp = args.experiment
    params = exp.params(**_experiment_values(exp, args))
    exp.execute(params, args.out, progress=_progress)
    return 0


def _add_experiment(sub, exp) -> None:
    """A subcommand for a registered experiment, its options made from the parameter class."""
    from nestml_lab.experiments.shared.contract import parameters

    p = sub.add_parser(exp.name, help=exp.help, description=f"{exp.help}. Parameters: {exp.params.__module__}."
                       f"{exp.params.__name__}; every option shows its default and unit.")
    for par in parameters(exp.params):
        if not par.cli:
            continue
        kw = {"dest": par.name, "default": argparse.SUPPRESS,
              "help": f"{par.help} (default: {par.shown_default()})".replace("%", "%%")}
        if par.kind == "bool":
            p.add_argument(par.option(), action=argparse.BooleanOptionalAction, **kw)
        elif par.kind == "dict":
            p.add_argument(par.option(), action="extend", nargs="+", metavar="NAME=VALUE", **kw)
        elif par.kind == "tuple":
            element = type(par.default[0]) if par.default else float
            p.add_argument(par.option(), nargs="+", type=element, metavar="VALUE", **kw)
        else:
            convert = {"int": int, "float": float, "str": str}[par.kind]
            metavar = par.unit.upper().replace(" ", "_") if par.unit and not par.choices else None
            p.add_argument(par.option(), type=convert, choices=par.choices, metavar=metavar, **kw)
    p.add_argument("--out", default=f"results/{exp.folder}", help="output folder (default: %(default)s)")
    p.set_defaults(func=cmd_experiment, experiment=exp)


def main(argv: list[str] | None = None) -> int:
    """The ``nestml-lab`` command: parse ``argv``, run the subcommand, return the exit status."""
    # NEST's start-up banner says nothing a user of this command needs (set PYNEST_QUIET= to see it again)
    os.environ.setdefault("PYNEST_QUIET", "1")
    parser = argparse.ArgumentParser(prog="nestml-lab", description=__doc__)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("module", help="generate, compile and install a project's NEST module")
    p.add_argument("project", nargs="?", default=None,
                   help="project folder or its module.yaml (default: this folder, if it has a module.yaml)")
    p.add_argument("--models", default=None, help=argparse.SUPPRESS)  # the old name of the argument
    p.add_argument("--jobs", "-j", type=int, default=None, help="parallel NESTML runs and compile jobs")
    p.add_argument("--verbose", "-v", action="store_true", help="every unit's line, every rewrite's outcome and "
                   "reason, each NESTML warning where it was raised (without: a line per stage, each warning once "
                   "per model; the build log keeps everything)")
    p.add_argument("--nest-config", default=None, help="nest-config of a NEST built from source (default: "
                   "NEST_CONFIG, else the nest package of this Python)")
    p.add_argument("--no-rewrites", action="store_true",
                   help="build NESTML's generated code as it is, without the speed rewrites (codegen/edits); "
                        "for comparison, or as an escape hatch")
    p.set_defaults(func=cmd_module)

    p = sub.add_parser("init", help="start a project folder: module.yaml and an example neuron + STDP synapse")
    p.add_argument("folder", help="folder to create (or an empty one)")
    p.add_argument("--module", default=None, help="module name (default: <folder>_module)")
    p.add_argument("--suffix", default=None, help="appended to every model's NEST name (default: _<folder>; "
                   "the catalog's is _nestml): projects loaded side by side need different ones")
    p.add_argument("--empty", action="store_true", help="only the manifest, no example models")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("models", help="list a built module's models, parameters and moved synapse variables")
    p.add_argument("project", nargs="?", default=None, help="project folder, module.yaml or stamp (.json)")
    p.add_argument("--no-check", action="store_true", help="list even if the sources changed since the build")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("validate", help="run a project's neurons against the NEST twins module.yaml names "
                       "(twins:); a conformance table. Exit status 1 when a model differs from its twin or fails "
                       "(or no twin is named), 0 when all match: a check for a CI")
    p.add_argument("project", nargs="?", help="project folder or module.yaml (built: nestml-lab module)")
    p.add_argument("--nestml-library", action="store_true",
                   help="instead of a project: NESTML's shipped neurons that have a NEST built-in, built in --work "
                   "(4-5 min), each against it (exit status 0 whatever they show: NESTML's models are measured)")
    p.add_argument("--work", default="build/nestml_library", help="with --nestml-library: the scratch project "
                   "folder (default: build/nestml_library)")
    p.add_argument("--models", nargs="+", help="with --nestml-library: only these library neurons")
    p.add_argument("--t-ms", type=float, default=1500.0, help="simulated time per model (default: 1500 ms)")
    p.add_argument("--tolerance-ms", type=float, default=0.2,
                   help="spikes this close count as the same (default: 0.2 ms)")
    p.add_argument("--out", default=None, help="output folder (default: results/validate below the current folder, "
                   "as every experiment's results/<experiment>)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("sweep", help="run an experiment over a grid of its parameters on Dask (local processes or a "
                       "cluster): one run folder per point, one table and its figures; resumable",
                       description="Each point runs in a process of its own; a point whose folder is whole is not "
                       "run again, a point that fails is reported and the rest go on. Exit status 1 when a point "
                       "failed. docs/sweeps.md")
    p.add_argument("experiment_name", metavar="EXPERIMENT", help="a registered experiment (stdp-window, ...)")
    p.add_argument("--grid", nargs="+", required=True, metavar="NAME=V1,V2",
                   help="a parameter and its values (repeatable); a dict parameter's entry as NAME.KEY=V1,V2 "
                   "(synapse_params.lambda=0.005,0.01); a number may carry the parameter's unit (20ms)")
    p.add_argument("--set", nargs="+", metavar="NAME=VALUE", help="other parameters, the same for every point")
    p.add_argument("--seeds", type=int, default=None, help="every point with seeds 1..N (the experiment's seed)")
    p.add_argument("--workers", type=int, default=None, help="local worker processes (default: the CPUs)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="a Dask scheduler (tcp://host:8786), instead of a local cluster")
    p.add_argument("--threads", type=int, default=None, help="NEST threads per point (the experiment's threads)")
    p.add_argument("--out", default=None, help="the sweep's folder (default: results/sweeps/<experiment>)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("run-tree", help="run an experiment tree (YAML): network, sessions -> run folder")
    p.add_argument("tree", help="YAML tree, or with --rerun the run folder of an earlier run")
    p.add_argument("--rerun", action="store_true", help="run again the resolved tree saved in a run folder")
    p.add_argument("--out", required=True, help="run folder to write")
    p.set_defaults(func=cmd_run_tree)

    from nestml_lab.experiments.shared.contract import registry

    for exp in registry().values():
        _add_experiment(sub, exp)

    p = sub.add_parser("docs", help="build the documentation site (MkDocs) with a project's model pages")
    p.add_argument("project", nargs="?", default=None, help="project folder (default: the toolkit's catalog)")
    p.add_argument("--out", default=None, help="output folder (default: <project>/site, or site/ for the catalog)")
    p.set_defaults(func=cmd_docs)

    p = sub.add_parser("golden", help="rewrite the golden curves of tests/regression (on purpose only)")
    p.add_argument("curves", nargs="*", help="some curves (default: all)")
    p.set_defaults(func=cmd_golden)


    p = sub.add_parser("upgrade", help="rewrite older NESTML models (NESTML 1-8) and manifests to NESTML 9 syntax",
                       epilog="exit status: 0 done, 1 error, 2 wrong arguments, 3 something was left alone "
                              "(reported with its line)")
    p.add_argument("files", nargs="+", help=".nestml files, or a manifest (.yaml) / options file (.json)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--in-place", action="store_true", help="rewrite the files, keeping FILE.bak")
    mode.add_argument("--out", default=None, help="write upgraded copies into this folder")
    p.add_argument("--diff", action="store_true", help="print a unified diff instead of the line report")
    p.set_defaults(func=cmd_upgrade)

    p = sub.add_parser("check", help="check models (or a project, as the build does) with NESTML 9: file:line:col "
                       "errors, hints for older syntax")
    p.add_argument("files", nargs="+", help=".nestml files, or project folders / module.yaml (the same checks as "
                   "`nestml-lab module`, before any code is generated)")
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
