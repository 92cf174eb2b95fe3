"""A project: a folder of ``.nestml`` files and a manifest; :func:`make_module` turns it into a NEST module.

The pipeline has one owner. :func:`make_module` generates the C++ (cached per
NESTML run), compiles it for one NEST installation, installs the ``.so`` with
its stamp, and returns the :class:`~nestml_lab.module.Module` it made; the
command line, the tests and the benchmarks all call it.

Everything it writes goes into the project's build folder (``build:`` in the
manifest, default ``build/`` beside it), never into the toolkit::

    <build>/generated/            C++ of every unit, shared by all NEST installations
    <build>/nest-3.10.0-1a2b3c4d/ one folder per NEST installation (NestTarget.key):
        <module>.so, <module>.json   the installed module and its stamp
        cmake/                       the CMake build tree
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

from nestml_lab.codegen import names
from nestml_lab.codegen.edits import compile_flags
from nestml_lab.codegen.generate import GenerateReport, generate, source_hash
from nestml_lab.codegen.manifest import MANIFEST_NAME, Manifest
from nestml_lab.layout import Project
from nestml_lab.module import Module

#: Written into a new build folder, so that git ignores it wherever it sits.
_GITIGNORE = "# made by nestml-lab module: generated code, builds, installed modules\n*\n"


@dataclass
class Made:
    """What :func:`make_module` made: the module, and how (units generated or cached, rewrites, time)."""

    module: "Module"  # noqa: F821  (nestml_lab.module.Module)
    report: GenerateReport
    seconds: float


def make_module(project: Project | Path | str | None = None, *, jobs: int | None = None,
                nest_config: str | None = None, rewrites: tuple[str, ...] | None = None, log=print) -> Made:
    """Generate (cached), compile and install a project's module for one NEST; return what was made.

    Parameters
    ----------
    project : Project or path, optional
        The project, or its folder or manifest (default: the current folder).
    jobs : int, optional
        Parallel NESTML runs and compile jobs (default: number of CPUs).
    nest_config : str, optional
        Build for the NEST of this nest-config (a NEST built from source);
        default: ``NEST_CONFIG``, else the ``nest`` package of this Python.
    rewrites : tuple of str, optional
        Override the manifest's ``rewrites`` (``()``: NESTML's code as it is).
    log : callable
        Receives one progress line at a time.

    Raises
    ------
    nestml_lab.codegen.errors.CodegenError
        A malformed manifest or a model NESTML rejects (file, line, column).
    nestml_lab.cmake.BuildError
        A missing tool, or C++ that does not compile (stage, model, log).
        In both cases the last installed module is left as it was.
    """
    from nestml_lab import cmake

    t0 = time.perf_counter()
    if not isinstance(project, Project):
        project = Project.open(project)
    if rewrites is not None:
        project = Project(dataclasses.replace(project.manifest, rewrites=tuple(rewrites)))
    manifest = project.manifest
    target = cmake.find_nest(nest_config)
    _make_build_folder(project.build_folder)
    load_check = cmake.LoadCheck()
    with _build_lock(project.build_folder, log):
        # NEST's precompiled headers for this build's flags, if the machine has none yet, made while NESTML runs
        cmake.prepare_pch(target, list(compile_flags(manifest.rewrites).values()))
        report = generate(manifest, project.generated_dir, jobs=jobs, log=log)
        log(f"[codegen] done in {report.seconds:.1f} s")
        installed = cmake.read_json(project.stamp_path(target)) or {}
        loadable = target.key == _running_key()
        if loadable and (report.generated or installed.get("source_hash") != report.source_hash):
            load_check.start()   # the child that loads the new library imports NEST while it compiles
        try:
            so = cmake.compile_module(manifest.module, project.generated_dir, project.target_dir(target) / "cmake",
                                      target, jobs=jobs, log=log)
            so_hash = cmake.sha256_file(so)
            if installed.get("so_sha256") != so_hash and loadable:
                load_check.check(so, manifest.module)   # in a child: a bad library must not kill this process
        finally:
            load_check.close()
        if source_hash(manifest) != report.source_hash:
            raise cmake.BuildError("install", f"the sources in {manifest.models_dir} changed while the module was "
                                              "being built; nothing was installed: run the build again")
        stamp = {
            "module": manifest.module,
            "source_hash": report.source_hash,
            **report.versions,
            "nest_target": target.to_json(),
            "manifest": str(manifest.path),
            "models": model_table(manifest, report.variables),
            "rewrites": list(manifest.rewrites),
            "so_sha256": so_hash,
        }
        cmake.install(so, stamp, project.target_dir(target))
    return Made(Module(project.stamp_path(target), manifest=manifest), report, time.perf_counter() - t0)


def _running_key() -> str | None:
    """Key of the NEST this Python imports (None if it has none): only that one can load a module in a child."""
    from nestml_lab import cmake

    try:
        return cmake.running_nest().key
    except cmake.BuildError:
        return None


class _build_lock:
    """One build of a project at a time: a second ``make_module`` on the same build folder waits for the first."""

    def __init__(self, folder: Path, log):
        self.path, self.log, self.file = folder / ".lock", log, None

    def __enter__(self):
        import fcntl
        import os

        self.file = open(self.path, "a+")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            holder = self.file.read().strip() or "another process"
            self.log(f"[module] {self.path.parent} is being built by {holder}: waiting for it to finish")
            fcntl.flock(self.file, fcntl.LOCK_EX)
        self.file.seek(0)
        self.file.truncate()
        self.file.write(f"process {os.getpid()}")
        self.file.flush()
        return self

    def __exit__(self, *exc):
        self.file.close()   # closing releases the lock
        return False


def _make_build_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text(_GITIGNORE)


def model_table(manifest: Manifest, variables: dict) -> dict:
    """Every NEST model the module registers, for its stamp.

    ``{nest_name: {"kind", "model", "pair", "same_as", "parameters", "state", "moved"}}``:
    ``model`` is the NESTML model (the neuron's for a co-generated neuron),
    ``pair`` ``[neuron, synapse]`` for co-generated models, ``same_as`` NESTML's
    name when this is a short name, ``moved`` (co-generated neurons) the
    variables moved in from a synapse: ``{name in the neuron: [synapse, name in the synapse]}``.
    """
    table = {}
    for r in manifest.registrations():
        declared = variables.get(r.nestml_name, {"parameters": {}, "state": {}})
        moved = {}
        for s in r.carries:
            tag = names.MOVED_VARIABLE + names.plain(s, manifest.suffix)
            for var in list(declared["parameters"]) + list(declared["state"]):
                if var.endswith(tag):
                    moved[var] = [s, var[: -len(tag)]]
        table[r.name] = {"kind": r.kind, "model": r.model, "pair": list(r.pair) if r.pair else None,
                         "same_as": r.same_as, "parameters": declared["parameters"], "state": declared["state"],
                         "moved": moved}
    return table


def new_project(folder: Path | str, module: str | None = None, example: bool = True,
                suffix: str | None = None) -> Path:
    """Start a project folder: a manifest and, with ``example``, a neuron and an STDP synapse paired with it.

    ``module`` defaults to ``<folder>_module`` and ``suffix`` (appended to every NEST name) to
    ``_<folder>``, so that the project's models load beside the catalog's (``_nestml``) and other
    projects'. Refuses a folder that already has a manifest.

    Parameters
    ----------
    folder : str or Path
        The project folder (created).
    module : str, optional
        The module's name.
    example : bool
        Write the example neuron and synapse.
    suffix : str, optional
        Appended to every NEST name of the project's models.

    Returns
    -------
    Path
        The manifest, ``folder/module.yaml``.
    """
    import re
    from importlib.resources import files

    folder = Path(folder)
    manifest = folder / MANIFEST_NAME
    if manifest.exists():
        raise FileExistsError(f"{manifest} exists already: this folder is a project")
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_]", "_", folder.resolve().name).strip("_") or "my"
    stem = stem if stem[0].isalpha() else "m_" + stem
    if module is None:
        module = stem + "_module"
    if suffix is None:
        suffix = "_" + stem
    if not re.fullmatch(r"[A-Za-z0-9_]+", suffix):
        raise ValueError(f"suffix {suffix!r}: letters, digits and underscores only, e.g. _{stem}")
    template = files("nestml_lab") / "project_template"
    text = (template / "module.yaml").read_text().replace("MODULE_NAME", module).replace("SUFFIX", suffix)
    if not example:
        text = text.split("# --- example")[0] + "neurons: []\n"
    for item in template.iterdir():
        if example and item.name.endswith(".nestml"):
            (folder / item.name).write_text(item.read_text())
    manifest.write_text(text)
    return manifest
