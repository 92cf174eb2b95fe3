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

MODULE = "nestml_unrewritten_module"
SUFFIX = "_nestmlraw"
ROOT = paths.NEST_MODULE_DIR / "unrewritten"


def install_dir() -> Path:
    return ROOT / "install"


def _prepare_checkout() -> Path:
    """A checkout-shaped folder: the catalog's models with a manifest renamed and set to ``rewrites: none``."""
    models = ROOT / "models"
    models.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for src in paths.MODELS_DIR.glob("*.nestml"):
        wanted.add(src.name)
        dest = models / src.name
        if not dest.exists() or dest.read_bytes() != src.read_bytes():
            shutil.copy2(src, dest)
    for old in models.glob("*.nestml"):
        if old.name not in wanted:
            old.unlink()
    text = (paths.MODELS_DIR / "module.yaml").read_text()
    text = re.sub(r"^module: .*$", f"module: {MODULE}", text, flags=re.M)
    text = re.sub(r"^suffix: .*$", f"suffix: {SUFFIX}", text, flags=re.M)
    text = re.sub(r"^rewrites: .*$", "", text, flags=re.M) + "\nrewrites: none\n"
    manifest = models / "module.yaml"
    if not manifest.exists() or manifest.read_text() != text:
        manifest.write_text(text)
    nm = ROOT / "nest_module"
    nm.mkdir(exist_ok=True)
    for name in ("CMakeLists.txt", "nest_pch.h"):
        src, dest = paths.NEST_MODULE_DIR / name, nm / name
        if not dest.exists() or dest.read_bytes() != src.read_bytes():
            shutil.copy2(src, dest)
    return ROOT


def build(log=print) -> Path:
    """Generate (cached), compile and install the unrewritten module; return its install folder."""
    checkout = _prepare_checkout()
    env = dict(os.environ, NESTML_LAB_ROOT=str(checkout), NESTML_LAB_INSTALL_DIR=str(install_dir()),
               PYTHONPATH=os.pathsep.join([str(paths.REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    log(f"[unrewritten] building {MODULE} (NESTML's code as generated) in {checkout}")
    proc = subprocess.run([sys.executable, "-m", "nestml_lab", "module"], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"building the unrewritten module failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return install_dir()


def install() -> str:
    """Load the unrewritten module into the running NEST (again after ResetKernel); return its name."""
    import nest

    so = install_dir() / f"{MODULE}.so"
    if not so.is_file():
        raise FileNotFoundError(f"{so} is missing: build it with nestml_lab.unrewritten.build()")
    if plain("iaf_psc_exp_neuron") in nest.node_models:
        return MODULE
    search = os.environ.get("LD_LIBRARY_PATH", "")
    if str(install_dir()) not in search.split(os.pathsep):
        os.environ["LD_LIBRARY_PATH"] = str(install_dir()) + (os.pathsep + search if search else "")
    nest.Install(MODULE)
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


def moved_parameter(synapse: str, variable: str) -> str:
    return names.moved_variable(variable, synapse, SUFFIX)
