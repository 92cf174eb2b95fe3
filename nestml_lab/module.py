"""Load the catalog's NEST extension module into the running NEST, and name its models."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

from codegen import names
from codegen.generate import source_hash
from codegen.manifest import Manifest, load_manifest
from nestml_lab import paths


class ModuleNotBuiltError(RuntimeError):
    """The installed module is missing, or was built from other sources than the current models/."""


@lru_cache(maxsize=1)
def _manifest_cached(path: str, mtime: float) -> Manifest:
    return load_manifest(path)


def manifest() -> Manifest:
    """The catalog manifest (models/module.yaml), re-read when it changes."""
    path = paths.MODELS_DIR / "module.yaml"
    return _manifest_cached(str(path), path.stat().st_mtime)


def neuron_model(neuron: str) -> str:
    """NEST name of a catalog neuron on its own, e.g. ``"izhikevich_neuron"`` -> ``"izhikevich_neuron_nestml"``."""
    m = manifest()
    if neuron not in m.neurons:
        raise KeyError(f"unknown neuron {neuron!r}; the catalog has: {', '.join(m.neurons)}")
    return names.plain(neuron, m.suffix)


def synapse_model(synapse: str) -> str:
    """NEST name of a catalog synapse generated on its own (one without post ports)."""
    m = manifest()
    spec = m.synapses.get(synapse)
    if spec is None:
        raise KeyError(f"unknown synapse {synapse!r}; the catalog has: {', '.join(m.synapses)}")
    if spec.needs_partner:
        raise KeyError(f"{synapse!r} reads postsynaptic spikes and exists only co-generated with a neuron: "
                       f"use pair_models(neuron, {synapse!r})")
    return names.plain(synapse, m.suffix)


def pair_models(neuron: str, synapse: str) -> tuple[str, str]:
    """NEST names ``(neuron, synapse)`` of a co-generated pair from the manifest."""
    m = manifest()
    pair = m.pair_for(neuron, synapse)
    return (names.paired_neuron(pair.neuron, pair.synapses, m.suffix),
            names.paired_synapse(synapse, pair.neuron, pair.synapses, m.suffix))


def moved_parameter(synapse: str, variable: str) -> str:
    """Name, in the co-generated neuron, of a synapse parameter NESTML moved there.

    e.g. ``moved_parameter("stdp_synapse", "tau_tr_post")`` -> ``"tau_tr_post__for_stdp_synapse_nestml"``.
    """
    return names.moved_variable(variable, synapse, manifest().suffix)


def installed_module_path() -> Path:
    return paths.INSTALL_DIR / f"{manifest().module}.so"


def installed_stamp() -> dict:
    """Provenance of the installed module (sources hash, versions, models)."""
    so = installed_module_path()
    stamp = so.with_suffix(".json")
    if not so.is_file() or not stamp.is_file():
        raise ModuleNotBuiltError(f"no module installed at {so}: run `make module`")
    return json.loads(stamp.read_text())


def install_module(check_sources: bool = True) -> str:
    """Load the catalog module into the running NEST; return its name.

    Safe to call any number of times: it loads the module only when NEST does
    not have it, i.e. on first use and again after every ``nest.ResetKernel()``
    (which unloads modules). No environment variable is needed: the module's
    folder is put on the library search path libltdl reads.

    Parameters
    ----------
    check_sources : bool
        Refuse a module built from other sources than the current models/
        (default True).

    Raises
    ------
    ModuleNotBuiltError
        No module installed, or it is stale: the message says to run ``make module``.
    """
    m = manifest()
    stamp = installed_stamp()
    if check_sources:
        current = source_hash(m)
        if stamp.get("source_hash") != current:
            raise ModuleNotBuiltError(
                f"the installed {m.module} was built from other sources (hash {stamp.get('source_hash')}) "
                f"than the current {paths.MODELS_DIR} (hash {current}): run `make module`")
    import nest

    probe = next(iter(stamp["models"]))
    known = nest.node_models + nest.synapse_models
    if probe in known:
        return m.module
    install_from(installed_module_path().parent, m.module)
    return m.module


def install_from(folder: Path, module: str) -> None:
    """``nest.Install(module)`` from ``folder``, which is put on the library search path libltdl reads."""
    import nest

    search = os.environ.get("LD_LIBRARY_PATH", "")
    if str(folder) not in search.split(os.pathsep):
        os.environ["LD_LIBRARY_PATH"] = str(folder) + (os.pathsep + search if search else "")
    nest.Install(module)


def reset_kernel() -> None:
    """``nest.ResetKernel()`` followed by :func:`install_module`."""
    import nest

    nest.ResetKernel()
    install_module()
