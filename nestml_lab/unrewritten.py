"""The catalog built from NESTML's generated code as it is, to load beside the rewritten module.

The differential tests and the benchmarks compare every catalog model with
and without the rewrites of ``codegen/rewrites.py``. For that both builds
must live in one NEST kernel, so the unrewritten one is a second module with
its own name and model suffix (``iaf_psc_exp_neuron_nestmlraw``), generated,
compiled and installed in ``nest_module/unrewritten/`` (disposable, git-ignored)
by the same pipeline as ``make module``, in a child process.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from codegen import names
from nestml_lab import paths
from nestml_lab.module import install_from

MODULE = "nestml_unrewritten_module"
SUFFIX = "_nestmlraw"
ROOT = paths.NEST_MODULE_DIR / "unrewritten"


def install_dir() -> Path:
    return ROOT / "install"


def _copy_if_changed(src: Path, dest: Path) -> None:
    if not dest.exists() or dest.read_bytes() != src.read_bytes():
        shutil.copy2(src, dest)


def _prepare_checkout(models_dir: Path, root: Path, module: str, suffix: str, rewrites: str) -> None:
    """A checkout-shaped folder: ``models_dir``'s models, a manifest with another name, suffix and rewrites."""
    models = root / "models"
    models.mkdir(parents=True, exist_ok=True)
    wanted = {src.name for src in models_dir.glob("*.nestml")}
    for name in wanted:
        _copy_if_changed(models_dir / name, models / name)
    for old in models.glob("*.nestml"):
        if old.name not in wanted:
            old.unlink()
    text = (models_dir / "module.yaml").read_text()
    text = re.sub(r"^module: .*$", f"module: {module}", text, flags=re.M)
    text = re.sub(r"^suffix: .*$", f"suffix: {suffix}", text, flags=re.M)
    text = re.sub(r"^rewrites: .*$", "", text, flags=re.M) + f"\nrewrites: {rewrites}\n"
    manifest = models / "module.yaml"
    if not manifest.exists() or manifest.read_text() != text:
        manifest.write_text(text)
    (root / "nest_module").mkdir(exist_ok=True)
    for name in ("CMakeLists.txt", "nest_pch.h"):
        _copy_if_changed(paths.NEST_MODULE_DIR / name, root / "nest_module" / name)


def build_copy(models_dir: Path, root: Path, module: str, suffix: str, rewrites: str = "none", log=print) -> Path:
    """Generate, compile and install ``models_dir``'s catalog as another module in ``root``; return its install folder.

    Runs ``nestml-lab module`` in a child process whose checkout is ``root``, so nothing of the real
    checkout's generated code, build or installed module is touched.
    """
    _prepare_checkout(Path(models_dir), Path(root), module, suffix, rewrites)
    install = Path(root) / "install"
    env = dict(os.environ, NESTML_LAB_ROOT=str(root), NESTML_LAB_INSTALL_DIR=str(install),
               PYTHONPATH=os.pathsep.join([str(paths.REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    log(f"[build] {module} (rewrites: {rewrites}) in {root}")
    proc = subprocess.run([sys.executable, "-m", "nestml_lab", "module"], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"building {module} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return install


def build(log=print) -> Path:
    """Generate (cached), compile and install the unrewritten catalog; return its install folder."""
    return build_copy(paths.MODELS_DIR, ROOT, MODULE, SUFFIX, "none", log=log)


def install() -> str:
    """Load the unrewritten module into the running NEST (again after ResetKernel); return its name."""
    import nest

    so = install_dir() / f"{MODULE}.so"
    if not so.is_file():
        raise FileNotFoundError(f"{so} is missing: build it with nestml_lab.unrewritten.build()")
    if plain("iaf_psc_exp_neuron") not in nest.node_models:
        install_from(install_dir(), MODULE)
    return MODULE


def plain(model: str) -> str:
    """NEST name of a catalog model generated on its own, unrewritten."""
    return names.plain(model, SUFFIX)


def neuron_model(neuron: str) -> str:
    """NEST name of a catalog neuron on its own, unrewritten (as :func:`nestml_lab.neuron_model`)."""
    return plain(neuron)


def pair_models(neuron: str, synapse: str) -> tuple[str, str]:
    """NEST names (neuron, synapse) of a co-generated pair, unrewritten."""
    from nestml_lab.module import manifest

    pair = manifest().pair_for(neuron, synapse)
    return (names.paired_neuron(pair.neuron, pair.synapses, SUFFIX),
            names.paired_synapse(synapse, pair.neuron, pair.synapses, SUFFIX))

