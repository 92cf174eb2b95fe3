"""The catalog (``models/`` in this repository): a project like a user's, whose models the experiments run.

Its module is built by ``make module`` (``nestml-lab module models``); these functions find it for the running
NEST, install it, and give the NEST names of its models::

    from nestml_lab import catalog

    catalog.install_module()
    neuron, synapse = catalog.pair_models("iaf_psc_exp_neuron", "stdp_synapse")
"""

from __future__ import annotations

import json

from nestml_lab import paths
from nestml_lab.codegen.manifest import Manifest, load_manifest
from nestml_lab.layout import Project
from nestml_lab.module import Module, ModuleNotBuiltError


_stamp: Module | None = None


def stamp() -> Module:
    """The catalog's module as its stamp describes it (not checked, not installed): for its names.

    Raises
    ------
    ModuleNotBuiltError
        No catalog module is built for the running NEST (saying what to run).
    """
    global _stamp
    if _stamp is None or _stamp.stamp != json.loads(_stamp.stamp_path.read_text()):
        from nestml_lab.cmake import running_nest

        running = running_nest()
        stamp = Project.open(paths.MODELS_DIR).stamp_path(running)
        if not stamp.is_file():
            raise ModuleNotBuiltError(f"no catalog module for {running.describe()} at {stamp}: run `make module"
                                      + (" NEST=mpi`" if running.mpi else "`"))
        _stamp = Module(stamp)
    return _stamp


def module(check_sources: bool = True) -> Module:
    """The catalog's module, checked and installed (again after every ``nest.ResetKernel()``)."""
    return stamp().check(sources=check_sources).install()


def manifest() -> Manifest:
    """The catalog manifest (models/module.yaml)."""
    return load_manifest(paths.MODELS_DIR)


def install_module(check_sources: bool = True) -> str:
    """Load the catalog module into the running NEST (again after ResetKernel); return its name."""
    return module(check_sources).name


def installed_stamp() -> dict:
    """Provenance of the catalog module built for the running NEST."""
    return stamp().stamp


def neuron_model(neuron: str) -> str:
    """NEST name of a catalog neuron on its own, e.g. ``"izhikevich_neuron"`` -> ``"izhikevich_neuron_nestml"``."""
    return stamp().neuron(neuron)


def synapse_model(synapse: str) -> str:
    """NEST name of a catalog synapse generated on its own (one without post ports)."""
    return stamp().synapse(synapse)


def pair_models(neuron: str, synapse: str) -> tuple[str, str]:
    """Short NEST names ``(neuron, synapse)`` of a co-generated catalog pair."""
    return stamp().pair(neuron, synapse)


def moved_parameter(synapse: str, variable: str) -> str:
    """Name, in the co-generated neuron, of a catalog synapse's parameter NESTML moved there.

    e.g. ``moved_parameter("stdp_synapse", "tau_tr_post")`` -> ``"tau_tr_post__for_stdp_synapse_nestml"``.
    """
    from nestml_lab.codegen import names

    return names.moved_variable(variable, synapse, manifest().suffix)
