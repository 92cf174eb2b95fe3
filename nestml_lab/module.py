"""Load a built module into NEST and name its models: the third step of the pipeline.

The installed module's stamp (``<module>.json`` beside the ``.so``) is the one
source of truth at load time: it names the module, its models and the
variables they declare, the sources it was built from and the NEST it was
built for. :func:`load` returns a :class:`Module` that refuses a stamp which
does not match the project's sources or the running NEST, saying what to run.

The catalog in this repository (``models/``) is one such project;
:mod:`nestml_lab.catalog` names its models for the experiments.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from nestml_lab.codegen.errors import CodegenError
from nestml_lab.codegen.generate import source_hash
from nestml_lab.codegen.manifest import Manifest, load_manifest
from nestml_lab.layout import Project
from nestml_lab.nest_loading import file_hash, install_from, mapped_libraries


class ModuleNotBuiltError(RuntimeError):
    """The module is missing, or its stamp does not match the sources or the running NEST."""


class ModuleClashError(ModuleNotBuiltError):
    """Two modules register models of the same name: they cannot be in one kernel."""


class StaleModuleError(ModuleNotBuiltError):
    """The kernel still holds the models of an earlier build of a module that was rebuilt since."""


#: Modules installed into NEST by this process, by module name, in the order they were first installed:
#: :func:`reset_kernel` installs every one of them again (``nest.ResetKernel()`` unloads modules).
_INSTALLED: dict[str, "Module"] = {}
#: The library file each module was last installed from in this process, by module name.
_LOADED_FROM: dict[str, Path] = {}


@dataclass(frozen=True)
class ModelInfo:
    """One model a module registers with NEST (from the stamp)."""

    name: str                   # NEST name
    kind: str                   # "neuron" or "synapse"
    model: str                  # NESTML model it was generated from
    pair: tuple | None          # (neuron, synapse) of a co-generated model
    same_as: str | None         # NESTML's (long) name, when this is a short name for it
    parameters: dict            # declared parameters: name -> default (NESTML source text)
    state: dict                 # declared state variables: name -> initial value
    moved: dict                 # co-generated neuron: name here -> (synapse, name in the synapse)


class Module:
    """A built NEST extension module: install it, name its models, list their parameters.

    Get one from :func:`load` (checked against the sources and the running
    NEST) or from :func:`nestml_lab.make_module`.
    """

    def __init__(self, stamp_path: Path | str, manifest: Manifest | None = None):
        self.stamp_path = Path(stamp_path)
        if not self.stamp_path.is_file():
            raise ModuleNotBuiltError(f"no module stamp at {self.stamp_path}: run `nestml-lab module`")
        self.stamp = json.loads(self.stamp_path.read_text())
        self.name: str = self.stamp["module"]
        self._manifest = manifest

    def __repr__(self) -> str:
        return f"<Module {self.name}: {len(self.stamp['models'])} models, {self.so_path}>"

    @property
    def so_path(self) -> Path:
        """The module's library, beside its stamp."""
        return self.stamp_path.with_suffix(".so")

    @property
    def manifest(self) -> Manifest:
        """The manifest the module was built from (read once)."""
        if self._manifest is None:
            self._manifest = load_manifest(self.stamp["manifest"])
        return self._manifest

    # --- checks -------------------------------------------------------------------
    def check(self, sources: bool = True) -> "Module":
        """Refuse a module that does not match its sources or the running NEST (raises ModuleNotBuiltError)."""
        from nestml_lab.cmake import running_nest

        project = Path(self.stamp["manifest"]).parent
        redo = f"run `nestml-lab module {project}`"
        if not self.so_path.is_file():
            raise ModuleNotBuiltError(f"{self.so_path} is missing beside its stamp: {redo}")
        built_for = self.stamp.get("nest_target")
        if built_for is None or "so_sha256" not in self.stamp:
            raise ModuleNotBuiltError(f"{self.stamp_path} was written by an older nestml-lab: {redo}")
        if file_hash(self.so_path) != self.stamp["so_sha256"]:
            from nestml_lab.cmake import check_elf

            why = check_elf(self.so_path) or "its content differs from what was built"
            raise ModuleNotBuiltError(f"{self.so_path} is not the library its stamp records ({why}); loading it "
                                      f"could kill this process, so it was not loaded: {redo}")
        running = running_nest()
        if any(built_for.get(field, False) != getattr(running, field) for field in ("version", "abi", "mpi", "key")):
            was = (f"NEST {built_for['version']}{' with MPI' if built_for.get('mpi') else ''} from "
                   f"{built_for['nest_config'] or built_for['python_package']} (C++ ABI {built_for['abi']})")
            raise ModuleNotBuiltError(
                f"{self.name} ({self.so_path}) was built for {was}, but this Python runs {running.describe()}: "
                f"run `{running.module_command(project)}` to build it for this NEST")
        if sources:
            try:
                manifest = load_manifest(self.stamp["manifest"])
            except Exception as exc:   # a manifest that is gone or broken cannot vouch for the module
                raise ModuleNotBuiltError(f"cannot check {self.name} against its sources: {exc}") from exc
            current = source_hash(manifest)
            if current != self.stamp["source_hash"]:
                raise ModuleNotBuiltError(
                    f"the installed {self.name} ({self.so_path}) was built from other sources (hash "
                    f"{self.stamp['source_hash']}) than the current {manifest.path.parent} (hash {current}): {redo}")
            self._manifest = manifest
        return self

    # --- NEST ---------------------------------------------------------------------
    def install(self) -> "Module":
        """Load the module into the running NEST, unless it is loaded already (so: again after ResetKernel).

        No environment variable is needed: the module's folder is put on the
        library search path libltdl reads. Several modules may be installed side
        by side; :func:`reset_kernel` installs all of them again.

        Raises
        ------
        ModuleClashError
            Another module in the kernel registers a model of the same name.
        StaleModuleError
            The kernel still holds the models of an earlier build of this module.
        """
        import nest

        library = self.library()
        if self.name in nest.GetKernelStatus("modules"):
            if _LOADED_FROM.get(self.name, library) != library:
                raise StaleModuleError(
                    f"the kernel still holds the models of an earlier build of {self.name}; {self.so_path} was "
                    "rebuilt since, and NEST cannot replace a loaded module's models: call nest.ResetKernel() "
                    "(or reset_kernel() of nestml_lab, which installs every module again), then load it again")
        else:
            self._refuse_clashes(nest)
            try:
                install_from(library.parent, self.name)
            except Exception as exc:   # NEST's own errors: NamingConflict, a library libltdl cannot open, ...
                if type(exc).__module__.split(".")[0] not in ("NESTErrors", "nest"):
                    raise
                raise ModuleNotBuiltError(f"NEST could not load {library}: {exc}") from None
            _LOADED_FROM[self.name] = library
            known = set(nest.node_models) | set(nest.synapse_models)
            missing = sorted(set(self.stamp["models"]) - known)
            if missing:
                raise ModuleNotBuiltError(f"{self.name} loaded, but NEST lacks {len(missing)} of its models "
                                          f"({', '.join(missing[:3])}...)")
        _INSTALLED[self.name] = self
        return self

    def library(self) -> Path:
        """The library file NEST loads this module from in this process.

        The installed ``.so``, unless this process has already mapped another
        library file of that name (an earlier build: NEST keeps a library mapped
        after ``ResetKernel``, and opening the same file again would run the old
        code). Then a copy of the current library in ``loaded/<sha12>/`` beside it,
        so that an edit, a rebuild and a load in one process run the new code.
        """
        current = os.stat(self.so_path).st_ino
        mapped = [(path, inode) for path, inode in mapped_libraries() if Path(path).name == self.so_path.name]
        if not mapped or (str(self.so_path), current) in mapped:
            return self.so_path
        return self._fresh_copy()

    def _fresh_copy(self) -> Path:
        """A copy of the library as ``<target>/loaded/<sha12>/<module>.so`` (older copies removed)."""
        import shutil

        loaded = self.so_path.parent / "loaded"
        folder = loaded / self.stamp["so_sha256"][:12]
        copy = folder / self.so_path.name
        if not copy.is_file() or file_hash(copy) != self.stamp["so_sha256"]:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{copy.name}.partial-{os.getpid()}"
            shutil.copyfile(self.so_path, tmp)
            os.replace(tmp, copy)
        for old in loaded.iterdir():
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)   # a library mapped by a process stays mapped after unlink
        return copy

    def _refuse_clashes(self, nest) -> None:
        """Raise ModuleClashError when a model of this module is in NEST already (another module's)."""
        known = set(nest.node_models) | set(nest.synapse_models)
        clash = sorted(set(self.stamp["models"]) & known)
        if not clash:
            return
        owners = [m for m in _INSTALLED.values() if m.name != self.name and set(m.stamp["models"]) & set(clash)]
        by = (f"{owners[0].name} (from {owners[0].stamp['manifest']})" if owners
              else "another module loaded into NEST, or NEST's own models")
        shown = ", ".join(clash[:4]) + (f" and {len(clash) - 4} more" if len(clash) > 4 else "")
        raise ModuleClashError(
            f"cannot install {self.name} (from {self.stamp['manifest']}) beside {by}: both register {shown}. "
            f"Give one project another `suffix:` in its module.yaml (now {self.manifest.suffix!r}) and build it "
            "again, so that the NEST names differ")

    def reset_kernel(self) -> None:
        """``nest.ResetKernel()``, then install this module and every other one installed before."""
        reset_kernel(also=self)

    # --- names ----------------------------------------------------------------------
    def models(self, kind: str | None = None) -> dict[str, ModelInfo]:
        """Every model the module registers (``kind``: "neuron" or "synapse" only), by NEST name."""
        out = {}
        for name, m in self.stamp["models"].items():
            if kind is None or m["kind"] == kind:
                out[name] = ModelInfo(name, m["kind"], m["model"], tuple(m["pair"]) if m["pair"] else None,
                                      m["same_as"], m["parameters"], m["state"],
                                      {k: tuple(v) for k, v in m["moved"].items()})
        return out

    def neuron(self, neuron: str) -> str:
        """NEST name of a neuron generated on its own, e.g. ``"izhikevich_neuron"`` -> ``"izhikevich_neuron_nestml"``."""
        return self._find("neuron", neuron, None)

    def synapse(self, synapse: str) -> str:
        """NEST name of a synapse generated on its own (one without post, continuous or vt ports)."""
        for name, m in self.stamp["models"].items():
            if m["kind"] == "synapse" and m["model"] == synapse and m["pair"]:
                raise KeyError(f"{synapse!r} reads the postsynaptic neuron and exists only co-generated: "
                               f"use pair(neuron, {synapse!r}); pairs: {', '.join(self._pairs())}")
        return self._find("synapse", synapse, None)

    def pair(self, neuron: str, synapse: str) -> tuple[str, str]:
        """Short NEST names ``(neuron, synapse)`` of a co-generated pair.

        They stay the same when another synapse is co-generated with the neuron
        (see :func:`nestml_lab.codegen.names.short_pair`).
        """
        shortest: dict[str, str] = {}
        for name, m in self.stamp["models"].items():
            if m["pair"] == [neuron, synapse] and len(name) < len(shortest.get(m["kind"], name + "_")):
                shortest[m["kind"]] = name
        if set(shortest) != {"neuron", "synapse"}:
            raise KeyError(f"no pair {neuron} + {synapse} in {self.name}; pairs: {', '.join(self._pairs())}")
        return shortest["neuron"], shortest["synapse"]

    def _pairs(self) -> list[str]:
        return sorted({f"{m['pair'][0]} + {m['pair'][1]}" for m in self.stamp["models"].values() if m["pair"]})

    def _find(self, kind: str, model: str, pair) -> str:
        for name, m in self.stamp["models"].items():
            if m["kind"] == kind and m["model"] == model and m["pair"] == pair:
                return name
        offered = sorted({m["model"] for m in self.stamp["models"].values() if m["kind"] == kind and not m["pair"]})
        raise KeyError(f"no {kind} {model!r} in {self.name}; it has: {', '.join(offered) or 'none'}")

    # --- parameters -------------------------------------------------------------------
    def parameters(self, nest_name: str, values: bool = True) -> dict:
        """A model's declared parameters (not NESTML's internals such as ``__P__...`` or ``__h``).

        With ``values`` (default) their current defaults are read from NEST
        (the module is installed if needed); otherwise the NESTML defaults as
        source text.
        """
        info = self._info(nest_name)
        if not values:
            return dict(info.parameters)
        import nest

        self.install()
        defaults = nest.GetDefaults(nest_name)
        return {k: defaults[k] for k in info.parameters if k in defaults}

    def state(self, nest_name: str) -> dict:
        """A model's declared state variables with their initial values in NEST."""
        import nest

        self.install()
        defaults = nest.GetDefaults(nest_name)
        return {k: defaults[k] for k in self._info(nest_name).state if k in defaults}

    def moved(self, neuron: str, synapse: str) -> dict[str, str]:
        """Synapse variables NESTML moved into the pair's neuron: ``{name in the synapse: name in the neuron}``.

        e.g. ``{"tau_tr_post": "tau_tr_post__for_stdp_synapse_nestml", ...}``: set
        these on the neuron; the synapse's own copies are not used.
        """
        n, _ = self.pair(neuron, synapse)
        return {orig: here for here, (syn, orig) in self._info(n).moved.items() if syn == synapse}

    def moved_parameter(self, synapse: str, variable: str) -> str:
        """Name, in a co-generated neuron, of a synapse variable NESTML moved there.

        e.g. ``moved_parameter("stdp_synapse", "tau_tr_post")`` -> ``"tau_tr_post__for_stdp_synapse_nestml"``.
        """
        from nestml_lab.codegen import names

        return names.moved_variable(variable, synapse, self.manifest.suffix)

    @property
    def project(self) -> Path:
        """The project folder the module was built from (the folder of its manifest)."""
        return Path(self.stamp["manifest"]).parent

    def _info(self, nest_name: str) -> ModelInfo:
        models = self.models()
        if nest_name not in models:
            raise KeyError(f"{nest_name!r} is not a model of {self.name}")
        return models[nest_name]

    def describe(self) -> str:
        """A listing of the models, their parameters and the moved variables, for people."""
        lines = [f"{self.name}  ({self.so_path})",
                 f"  built for NEST {self.stamp['nest_target']['version']} from {self.stamp['manifest']}"]
        compartmental = set(self.manifest.compartmental())   # read once: it reads each neuron's file
        for kind in ("neuron", "synapse"):
            for name, info in self.models(kind).items():
                pair = f"  [pair {info.pair[0]} + {info.pair[1]}]" if info.pair else ""
                lines.append(f"  {kind:7s} {name}{pair}")
                if info.same_as:
                    lines.append(f"          same model as {info.same_as[:60]}{'...' if len(info.same_as) > 60 else ''}")
                    continue
                params = ", ".join(f"{k}={v}" for k, v in info.parameters.items() if k not in info.moved)
                if info.model in compartmental:
                    lines.append("          compartmental (NEST's cm_default interface: set compartments, then "
                                 "receptors); per compartment or receptor:")
                lines.append(f"          parameters: {params or '-'}")
                for here, (syn, orig) in info.moved.items():
                    lines.append(f"          moved from {syn}: {orig} -> {here}")
        return "\n".join(lines)


def load(where: Path | str | None = None, check_sources: bool = True) -> Module:
    """The module of a project (folder or manifest) or a stamp (``<module>.json``), checked and installed into NEST.

    For a project, the module built for the running NEST is chosen (one
    project can hold builds for several NEST installations).

    Parameters
    ----------
    where : str or Path, optional
        A project folder, its ``module.yaml``, or a stamp; default: the catalog (``models/``).
    check_sources : bool
        Refuse a module whose models changed since it was built (default); False loads it anyway.

    Returns
    -------
    Module
        Installed into NEST (again after every :func:`reset_kernel`); ``.neuron(name)``, ``.synapse(name)``
        and ``.pair(neuron, synapse)`` give NEST's names of its models.

    Raises
    ------
    ModuleNotBuiltError
        Not built for this NEST, built from other sources, or for another NEST
        version or C++ ABI: the message says what to run.
    """
    from nestml_lab.cmake import running_nest

    where = Path(where) if where is not None else Path.cwd()
    if where.suffix == ".json":
        module = Module(where)
    else:
        project = Project.open(where)
        target = running_nest()
        stamp = project.stamp_path(target)
        if not stamp.is_file():
            others = project.built_targets()
            hint = ("; it is built for: " + "; ".join(f"NEST {t['version']} at {t['nest_config'] or t['python_package']}"
                                                    for t in others)) if others else ""
            raise ModuleNotBuiltError(f"{project.manifest.module} is not built for {target.describe()}{hint}: "
                                      f"run `{target.module_command(project.folder)}`")
        module = Module(stamp, manifest=project.manifest)
    return module.check(sources=check_sources).install()


def reset_kernel(also: Module | None = None) -> None:
    """``nest.ResetKernel()``, then install again every module this process installed.

    ``nest.ResetKernel()`` unloads extension modules; this installs the catalog's and the user's again (with
    none installed yet, the catalog's where it is built), so the models keep their names across resets.

    Parameters
    ----------
    also : Module, optional
        A module to install as well.
    """
    import nest

    nest.ResetKernel()
    modules = list(_INSTALLED.values())
    if also is not None and also.name not in _INSTALLED:
        modules.append(also)
    if not modules:   # the catalog, where it is built (a pip-installed toolkit has none: NEST's models only)
        from nestml_lab import catalog

        try:
            catalog.install_module()
        except (ModuleNotBuiltError, CodegenError):
            pass
        return
    for m in modules:
        fresh = Module(m.stamp_path, manifest=m._manifest)   # the stamp on disk now: a rebuild is installed
        fresh.check(sources=False).install()


def installed_modules() -> list[Module]:
    """The modules this process installed into NEST (what :func:`reset_kernel` installs again)."""
    return list(_INSTALLED.values())
