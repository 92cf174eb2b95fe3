"""Generate the module's C++ from the manifest: one cached NESTML run per unit, then the registration code.

A *unit* is what one NESTML run produces: a neuron on its own, a synapse on
its own, or a neuron co-generated with its plastic synapses. Each unit is
regenerated only when its cache key changes: the content of its sources, its
options, the NESTML, NEST and toolkit versions, or the worker's own code.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from nestml_lab.codegen import TOOLKIT_VERSION, defaults_only, edits, precheck, upgrade
from nestml_lab.codegen.errors import CodegenError, ModelError, ModelMessage
from nestml_lab.codegen.launch import run_worker
from nestml_lab.codegen.manifest import Manifest
from nestml_lab.codegen.units import (Unit, code_key, nest_version, nestml_version, plan_units,  # noqa: F401
                                     source_hash, unit_models)

_HERE = Path(__file__).resolve().parent
_TEMPLATES = _HERE / "templates"


@dataclass
class GenerateReport:
    """What :func:`generate` did."""

    generated: list[str]
    cached: list[str]
    sources_cmake: Path
    source_hash: str
    seconds: float
    versions: dict  # toolkit, NESTML and NEST versions the code was generated with
    rewrites: list = field(default_factory=list)  # edits.Outcome of every model, cached units included
    variables: dict = field(default_factory=dict)  # NEST name -> declared parameters and state (VARIABLES.json)
    stages: dict = field(default_factory=dict)  # unit -> {stage: seconds} of the units generated or edited now

    def stage_totals(self) -> dict:
        """Seconds per stage, summed over the units (which ran in parallel), in pipeline order."""
        total: dict[str, float] = {}
        for stages in self.stages.values():
            for name, seconds in stages.items():
                total[name] = total.get(name, 0.0) + seconds
        return total


#: NESTML's warnings for a unit, one per line, beside its generated code.
_WARNINGS_FILE = "NESTML_WARNINGS.txt"
#: The seconds each stage of the unit's last generation took (NESTML's stages, our edits).
_STAGES_FILE = "STAGES.json"


def _run_worker(unit: Unit, manifest: Manifest, staging: Path, log: Path,
                warnings: list | None = None, stages: dict | None = None) -> list[ModelMessage]:
    spec = {
        "files": [str(manifest.source(m)) for m in unit.models],
        "target": str(staging / "src"),
        "module": manifest.module,
        "suffix": manifest.suffix,
        "codegen_opts": unit.codegen_opts,
        "platform": unit.platform,
        "result": str(staging / "result.json"),
    }
    result, why = run_worker(spec, staging, log)
    if result is None:
        return [ModelMessage(spec["files"][0], 0, 0, f"the NESTML worker died ({why}); see {log}")]
    if warnings is not None:
        warnings.extend(ModelMessage(_display_path(w["file"]), w["line"], w["column"], w["message"])
                        for w in result.get("warnings", []))
    if stages is not None:
        stages.update(result.get("stages", {}))
    if not result["errors"]:
        (staging / "src" / _VARIABLES_FILE).write_text(json.dumps(result.get("variables", {}), indent=1))
    return [ModelMessage(_display_path(e["file"]), e["line"], e["column"], e["message"]) for e in result["errors"]]


def _display_path(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return path


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True


def generate(manifest: Manifest, out_dir: Path, jobs: int | None = None, log=print) -> GenerateReport:
    """Generate (or reuse) every unit's C++ and write the registration code.

    Parameters
    ----------
    manifest : Manifest
        The validated catalog manifest.
    out_dir : Path
        Folder of generated code (``nest_module/generated``); it is disposable.
    jobs : int, optional
        NESTML runs in parallel (default: number of CPUs).
    log : callable
        Receives one progress line at a time.

    Returns
    -------
    GenerateReport

    Raises
    ------
    SourceError
        A source that is not text, holds another model, or that NESTML 9.0.0 would accept wrongly.
    ModelError
        NESTML rejected a model: file, line, column and message. Units already
        in the cache, and any installed module, are left as they were.
    """
    t0 = time.perf_counter()
    precheck.check_sources(manifest)
    nest_ver = nest_version()
    versions = {"toolkit": TOOLKIT_VERSION, "nestml": nestml_version(), "nest": nest_ver}
    units = plan_units(manifest, nest_ver)
    units_dir = out_dir / "units"
    units_dir.mkdir(parents=True, exist_ok=True)

    keys = {u.uid: u.key(manifest, versions) for u in units}
    nestml_keys = {u.uid: u.nestml_key(manifest, versions) for u in units}
    stale = [u for u in units if not _unit_is_current(units_dir / u.uid, u, keys[u.uid])]
    fresh = [u.uid for u in units if u not in stale]
    reuse = [u for u in stale if _raw_is_current(units_dir / u.uid / _RAW, nestml_keys[u.uid])]
    run = [u for u in stale if u not in reuse]

    stages: dict[str, dict] = {}
    for unit in reuse:   # NESTML's output is cached; only the patches or rewrites changed
        raw = units_dir / unit.uid / _RAW
        t = time.perf_counter()
        _install_unit(unit, manifest, raw, units_dir / unit.uid, keys[unit.uid], nestml_keys[unit.uid])
        stages[unit.uid] = {"our edits": time.perf_counter() - t}
    if reuse:
        log(f"[rewrite] patches and rewrites applied anew to {len(reuse)} unit(s); NESTML's output was cached")

    # the shapes of the units made now (a unit in the cache was made by this code, which remembered its shape)
    shapes = {u.uid: _shape(u, manifest, versions) for u in stale}
    reprinted = []
    for unit in list(run):   # parameter defaults edited alone: NESTML's earlier output, reprinted (no NESTML)
        t = time.perf_counter()
        why = _defaults_only(unit, manifest, units_dir, keys[unit.uid], nestml_keys[unit.uid], shapes[unit.uid])
        if why is None:
            run.remove(unit)
            reprinted.append(unit)
            stages[unit.uid] = {"defaults reprinted, without NESTML": time.perf_counter() - t}
            (units_dir / unit.uid / _STAGES_FILE).write_text(json.dumps(stages[unit.uid], indent=1))
            log(f"[codegen] {unit.description}: parameter defaults edited alone, made without NESTML from an "
                f"earlier build ({time.perf_counter() - t:.2f} s)")
        elif why:
            log(f"[codegen] {unit.description}: only defaults changed, yet NESTML runs: {why}")

    failures: dict[str, tuple[list[ModelMessage], Path]] = {}
    if run:
        log(f"[codegen] NESTML {versions['nestml']} -> C++ for {len(run)} of {len(units)} units "
            f"({len(units) - len(run)} cached), {jobs or os.cpu_count()} in parallel")
        logs_dir = out_dir / "logs"
        logs_dir.mkdir(exist_ok=True)

        def work(unit: Unit) -> None:
            t = time.perf_counter()
            staging = Path(tempfile.mkdtemp(prefix=f".{unit.uid}.", dir=units_dir))
            log_path = logs_dir / f"{unit.uid}.log"
            try:
                found: list[ModelMessage] = []
                times: dict[str, float] = {}
                errors = _run_worker(unit, manifest, staging, log_path, found, times)
                if errors:
                    failures[unit.uid] = (errors, log_path)
                    log(f"[codegen]   FAILED {unit.description}")
                    return
                # the worker process's own start (the interpreter, before NESTML's imports)
                times = {"Python start-up": max(0.0, time.perf_counter() - t - sum(times.values())), **times}
                t_edits = time.perf_counter()
                _install_unit(unit, manifest, staging / "src", units_dir / unit.uid, keys[unit.uid],
                              nestml_keys[unit.uid])
                times["our edits"] = time.perf_counter() - t_edits
                stages[unit.uid] = times
                (units_dir / unit.uid / _STAGES_FILE).write_text(json.dumps(times, indent=1))
                log(f"[codegen]   {unit.description}: {time.perf_counter() - t:.1f} s")
                # NESTML's warnings, once per unit (when it is generated; also in its log and beside its code)
                (units_dir / unit.uid / _WARNINGS_FILE).write_text(
                    "".join(f"{w.file}:{w.line}:{w.column}: {w.message}\n" for w in found))
                for w in found:
                    log(f"[nestml]     warning: {w.file}:{w.line}:{w.column}: {w.message}")
            finally:
                shutil.rmtree(staging, ignore_errors=True)

        # the longest first: a compartmental model is a minute of NESTML (its parse, ODE analysis and templates each
        # about 20 s), which started third in the manifest's order kept one core busy alone for the last 27 s of a
        # cold catalog; then pairs by their synapses
        longest_first = sorted(run, key=lambda u: (not u.compartmental, -len(u.models)))
        with ThreadPoolExecutor(max_workers=jobs or os.cpu_count()) as pool:
            list(pool.map(work, longest_first))

    if failures:
        uid = next(u.uid for u in units if u.uid in failures)  # report in manifest order
        errors, log_path = failures[uid]
        unit = next(u for u in units if u.uid == uid)
        others = [u.description for u in units if u.uid in failures and u.uid != uid]
        if not errors or all(not e.message.strip() for e in errors):   # NESTML said nothing we could catch
            tail = log_path.read_text(errors="replace").strip().splitlines()[-8:] if log_path.is_file() else []
            errors = [ModelMessage(str(manifest.source(unit.models[0])), 0, 0,
                                   "NESTML gave no reason; the end of its log:\n    " + "\n    ".join(tail))]
        err = ModelError(unit.description, errors, log_path)
        hints = [h for m in unit.models for h in upgrade.hints(_display_path(str(manifest.source(m))))]
        if others or hints:
            err.args = (err.args[0] + "".join(f"\n  hint: {h}" for h in hints)
                        + ("\n  also failed: " + "; ".join(others) if others else ""),)
        raise err

    for uid, shape in shapes.items():   # the shape of each unit's code, for the next edit of its defaults
        if shape is not None:
            defaults_only.remember(units_dir / uid, *shape)

    # Units no longer in the manifest go; their code must not be compiled.
    wanted = {u.uid for u in units}
    for d in units_dir.iterdir():
        if d.is_dir() and d.name not in wanted and not d.name.startswith("."):
            shutil.rmtree(d)

    shash = source_hash(manifest)
    sources_cmake = _write_registration(manifest, units, units_dir, out_dir, versions, shash)
    outcomes = [edits.Outcome(**o) for u in units
                for o in json.loads((units_dir / u.uid / _REWRITES_FILE).read_text())]
    outcomes += [edits.Outcome(name, manifest.module, True, f"{flag} for every file")
                 for name, flag in edits.compile_flags(manifest.rewrites).items()]
    variables = {}
    for u in units:
        variables.update(json.loads((units_dir / u.uid / _VARIABLES_FILE).read_text()))
    report = GenerateReport([u.uid for u in run + reprinted], fresh + [u.uid for u in reuse], sources_cmake, shash,
                            time.perf_counter() - t0, versions, outcomes, variables, stages)
    if stages:   # the last generation's stages, for the benchmark and for people (nestml-lab module -v)
        _write_if_changed(out_dir / _STAGES_FILE, json.dumps({"units": stages, "totals": report.stage_totals()},
                                                             indent=1))
        log(f"[codegen] where the time went, summed over {len(stages)} unit(s): "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.stage_totals().items()))
    return report


#: The files NESTML's compartmental target writes beside a model's own: ``<prefix>_<model>.{h,cpp}``.
_CM_PARTS = ("cm_neuroncurrents", "cm_tree", "fastexp_v4")
_RAW = "nestml"              # NESTML's own output of a unit, kept so that rewrites can be re-applied alone
_REWRITES_FILE = "REWRITES.json"
_VARIABLES_FILE = "VARIABLES.json"  # parameters and state each model declares (codegen.worker.declared_variables)


def _shape(unit: Unit, manifest: Manifest, versions: dict) -> tuple[str, dict, dict] | None:
    """The unit's shape (codegen/defaults_only.py): its key, its models' parameter defaults, its sources' paths as
    its warnings name them. None for a compartmental unit.
    """
    if unit.compartmental:
        return None
    texts, values = {}, {}
    for m in unit.models:
        texts[m], values[m] = defaults_only.shape(manifest.source(m).read_text())
    key = defaults_only.shape_key({
        "versions": versions, "code": code_key(), "suffix": manifest.suffix,
        "opts": unit.codegen_opts, "rewrites": list(manifest.rewrites), "solver": unit.solver,
        "neurons": unit.neurons, "synapses": unit.synapses, "texts": texts})
    return key, values, {m: _display_path(str(manifest.source(m))) for m in unit.models}


def _targets(unit: Unit, manifest: Manifest) -> dict[str, defaults_only.Target]:
    """Where each model of a point-model unit is in NESTML's output (codegen/defaults_only.py)."""
    synapse_models = [m for m in unit.models if m in manifest.synapses]
    targets = {m: defaults_only.Target([s], synapse=True, weight=manifest.synapses[m].weight_variable)
               for m, s in zip(synapse_models, unit.synapses)}
    targets.update({m: defaults_only.Target(list(unit.neurons)) for m in unit.models if m not in manifest.synapses})
    return targets


def _defaults_only(unit: Unit, manifest: Manifest, units_dir: Path, key: str, nestml_key: str,
                   shape: tuple | None) -> str | None:
    """Make the unit from an earlier build of the same shape, its parameter defaults reprinted; None when done,
    else why not ('' when there is no earlier build to say anything about).
    """
    if shape is None or not defaults_only.wanted():
        return ""
    shape_key, values, sources = shape
    why = ""
    for donor, record in defaults_only.find(shape_key, units_dir / unit.uid):   # the first that can be reprinted
        staging = Path(tempfile.mkdtemp(prefix=f".{unit.uid}.", dir=units_dir))
        try:
            change = defaults_only.edit(record["values"], values)
            defaults_only.make(donor, staging / "src", _targets(unit, manifest), change)
            warnings = defaults_only.warnings(donor, record, sources)
            _install_unit(unit, manifest, staging / "src", units_dir / unit.uid, key, nestml_key)
        except (defaults_only.NotApplicable, OSError, KeyError, ValueError) as exc:
            why = why or str(exc) or type(exc).__name__
            continue
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        (units_dir / unit.uid / _WARNINGS_FILE).write_text(warnings)
        return None
    return why


def _unit_is_current(folder: Path, unit: Unit, key: str) -> bool:
    """The unit's folder holds code for this key and every file the unit registers."""
    key_file = folder / "KEY"
    if not key_file.exists() or key_file.read_text() != key or not (folder / _REWRITES_FILE).exists() \
            or not (folder / _VARIABLES_FILE).exists():
        return False
    return all((folder / f"{name}.h").exists() for name in unit.neurons + unit.synapses)


def _raw_is_current(raw: Path, nestml_key: str) -> bool:
    key_file = raw / "KEY"
    return key_file.exists() and key_file.read_text() == nestml_key


def _install_unit(unit: Unit, manifest: Manifest, src: Path, dest: Path, key: str, nestml_key: str) -> None:
    """Keep what the unit registers (a pair also emits the plain neuron, which has its own unit), patch and rewrite it.

    NESTML's output is kept unchanged in ``dest/nestml``; the patched and rewritten files sit in ``dest``.
    """
    wanted = set(unit.neurons) | set(unit.synapses)
    files = [f for f in src.iterdir() if f.suffix in (".h", ".cpp") and f.stem in wanted]
    if unit.compartmental:   # a model's tree, currents and fast exp come in files of their own
        files += [f for f in src.iterdir() if f.suffix in (".h", ".cpp") and f.stem not in wanted
                  and any(f.stem == f"{prefix}_{n}" for n in wanted for prefix in _CM_PARTS)]
    missing = wanted - {f.stem for f in files}
    if missing:
        raise CodegenError(f"[codegen] NESTML did not emit {sorted(missing)} for {unit.description}; "
                           f"it emitted {sorted(f.name for f in src.iterdir())}. Are the names in "
                           f"codegen/names.py still NESTML's?")
    tmp = dest.with_name(dest.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / _RAW).mkdir(parents=True)
    for f in files:
        shutil.copy2(f, tmp / _RAW / f.name)
    declared = json.loads((src / _VARIABLES_FILE).read_text())
    (tmp / _RAW / _VARIABLES_FILE).write_text(json.dumps(declared, indent=1))
    (tmp / _VARIABLES_FILE).write_text(json.dumps({n: declared[n] for n in sorted(wanted) if n in declared}, indent=1))
    (tmp / _RAW / "KEY").write_text(nestml_key)
    texts = {f.name: f.read_text() for f in files}
    outcomes: dict[str, list[edits.Outcome]] = {name: [] for name in texts}
    if unit.compartmental:   # NESTML's code as it is: the patches and rewrites know point models only
        return _finish_unit(tmp, dest, texts, outcomes, manifest, key, solver=None)
    models = unit_models(unit, manifest, texts)
    try:
        by_model = edits.edit_unit(models)
    except CodegenError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for m in models:   # a model's files, and those a pass added for it, carry its outcomes in their banner
        for name in [f"{m.name}.h", *([f"{m.name}.cpp"] if m.kind == "neuron" else []), *m.added]:
            outcomes[name] = by_model[m.name]
    _finish_unit(tmp, dest, texts, outcomes, manifest, key,
                 solver=unit.solver if unit.solver != "rk45" else "rk45 (NESTML's default)")


def _finish_unit(tmp: Path, dest: Path, texts: dict[str, str], outcomes: dict, manifest: Manifest, key: str,
                 solver: str | None) -> None:
    """Write a unit's files with their banners and report into ``tmp``, then put ``tmp`` in ``dest``'s place."""
    for name, text in texts.items():
        head = edits.banner(outcomes[name], manifest.rewrites)
        if solver and "_dynamics" in text:   # the models that integrate ODEs numerically say with what
            head += f"// nestml-lab: numeric ODE solver: {solver} (module.yaml `solvers:`)\n"
        (tmp / name).write_text(head + text)
    report = {(o.model, o.rewrite): o.to_json() for outs in outcomes.values() for o in outs}  # .cpp and .h share
    (tmp / _REWRITES_FILE).write_text(json.dumps(list(report.values()), indent=1))
    (tmp / "KEY").write_text(key)
    # a file whose content did not change keeps its old modification time: make skips it
    for f in tmp.iterdir():
        old = dest / f.name
        if f.is_file() and f.name != "KEY" and old.is_file() and old.read_bytes() == f.read_bytes():
            shutil.copy2(old, f)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)


#: The module's registration code: the same file name and text for every module of the same models (its name is
#: given to NEST by the link), so that the compiler cache has it for a module built under a new name
_REGISTRATION = "registration.cpp"


def _write_registration(manifest: Manifest, units: list[Unit], units_dir: Path, out_dir: Path,
                        versions: dict, shash: str) -> Path:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    reg_dir = out_dir / "module"
    reg_dir.mkdir(exist_ok=True)
    neurons = [n for u in units for n in u.neurons if not u.compartmental]
    cm_neurons = [n for u in units for n in u.neurons if u.compartmental]
    synapses = [s for u in units for s in u.synapses]
    common = {"toolkit_version": versions["toolkit"], "nestml_version": versions["nestml"],
              "source_hash": shash, "module": manifest.module, "manifest": str(manifest.path)}
    aliases = manifest.aliases()
    neuron_aliases = [(short, long) for short, long in aliases.items() if long in neurons]
    synapse_aliases = [(short, long) for short, long in aliases.items() if long in synapses]
    _write_if_changed(reg_dir / _REGISTRATION,
                      env.get_template("registration.cpp.jinja2").render(
                          neurons=neurons, cm_neurons=cm_neurons, synapses=synapses, neuron_aliases=neuron_aliases,
                          synapse_aliases=synapse_aliases, **common))
    # In the order make starts them, the longest first (on 2 cores a 9 s synapse started last was the build's
    # tail): the synapses' units (NEST's connection templates), the models', the registration, the small files
    # a pass added (R11's tables of defaults)
    synapse_tus, model_tus, small_tus = [], [], []
    for u in units:
        # every .cpp of the unit: its neurons', a compartmental model's parts, the files a pass added (R11)
        for f in sorted((units_dir / u.uid).glob("*.cpp")):
            (small_tus if f.stem.endswith("_defaults") else model_tus).append(str(f))
        for s in u.synapses:
            tu = reg_dir / f"{s}.cpp"
            partner = u.neurons[0] if u.uid.startswith("pair-") else None
            _write_if_changed(tu, env.get_template("synapse.cpp.jinja2").render(synapse=s, neuron=partner, **common))
            synapse_tus.append(str(tu))
    sources = synapse_tus + model_tus + [str(reg_dir / _REGISTRATION)] + small_tus
    for f in reg_dir.iterdir():  # translation units of synapses that left the manifest
        if f.suffix == ".cpp" and str(f) not in sources:
            f.unlink()
    include_dirs = [str(units_dir / u.uid) for u in units]
    options = list(edits.compile_flags(manifest.rewrites).values())
    text = env.get_template("sources.cmake.jinja2").render(sources=sources, include_dirs=include_dirs,
                                                           compile_options=options, **common)
    path = out_dir / "sources.cmake"
    _write_if_changed(path, text)
    return path
