"""The catalog built from NESTML's generated code as it is, to load beside the rewritten module.

The differential tests and the benchmarks compare every catalog model with
and without the speed rewrites of ``codegen/edits``. For that both builds
must live in one NEST kernel, so the unrewritten one is a second project
(a copy of the catalog's models with another module name and model suffix,
``iaf_psc_exp_neuron_nestmlraw``) in ``nest_module/unrewritten/`` (disposable,
git-ignored), made by the same :func:`nestml_lab.project.make_module`.
"""

from __future__ import annotations

from pathlib import Path

from nestml_lab import paths
from nestml_lab.codegen import manifest as manifests
from nestml_lab.codegen.manifest import MANIFEST_NAME, load_manifest
from nestml_lab.module import Module, load
from nestml_lab.project import make_module

MODULE = "nestml_unrewritten_module"
SUFFIX = "_nestmlraw"
ROOT = paths.NEST_MODULE_DIR / "unrewritten"


def copy_project(models_dir: Path, root: Path, module: str, suffix: str, rewrites: str) -> Path:
    """``root/models``: ``models_dir``'s models, a manifest with another module name, suffix and rewrites.

    Its build folder is ``root/build``. Files whose content did not change are not written again, so the copy's
    generation cache stays valid.
    """
    models = Path(root) / "models"
    copy = manifests.derive(load_manifest(models_dir), path=models / MANIFEST_NAME, module=module, suffix=suffix,
                            build="../build", rewrites=rewrites)
    manifests.write(copy, models, header=f"{models_dir}'s models as {module} (written by nestml_lab.unrewritten)")
    for old in models.glob("*.nestml"):
        if old.stem not in copy.texts:
            old.unlink()
    return models


def build_copy(models_dir: Path, root: Path, module: str, suffix: str, rewrites: str = "none",
               log=print) -> Module:
    """Make ``models_dir``'s project as another module (name, suffix, rewrites) under ``root``; return it."""
    log(f"[build] {module} (rewrites: {rewrites}) in {root}")
    project = copy_project(models_dir, root, module, suffix, rewrites)
    return make_module(project, log=lambda line: None).module


def build(log=print) -> Module:
    """Generate (cached), compile and install the unrewritten catalog; return its module."""
    return build_copy(paths.MODELS_DIR, ROOT, MODULE, SUFFIX, "none", log=log)


def install() -> str:
    """Load the unrewritten module into the running NEST (again after ResetKernel); return its name."""
    return load(ROOT / "models").name


def neuron_model(neuron: str) -> str:
    """NEST name of a catalog neuron on its own, unrewritten (as :func:`nestml_lab.neuron_model`)."""
    return _module().neuron(neuron)


def plain(model: str) -> str:
    """NEST name of a catalog model generated on its own, unrewritten."""
    return model + SUFFIX


def pair_models(neuron: str, synapse: str) -> tuple[str, str]:
    """Short NEST names (neuron, synapse) of a co-generated pair, unrewritten."""
    return _module().pair(neuron, synapse)


def _module() -> Module:
    from nestml_lab.cmake import running_nest
    from nestml_lab.project import Project

    return Module(Project.open(ROOT / "models").stamp_path(running_nest()))
