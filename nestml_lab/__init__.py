"""From .nestml files to a NEST module, and experiments with it.

The pipeline, one subpackage or module per step::

    nestml_lab.codegen   NESTML -> C++ (cached per NESTML run), the speed rewrites
    nestml_lab.cmake     C++ -> .so for one NEST installation (CMake project inside)
    nestml_lab.project   a project folder; make_module() runs the steps above
    nestml_lab.module    load() a built module into NEST, name its models
    nestml_lab.catalog   the catalog (models/): its module and the NEST names of its models
    nestml_lab.experiments  STDP window, networks, ... on the catalog (models/) or a project
    nestml_lab.networks  experiment trees: a network and its sessions in one YAML file (schema, build, run, store)
    nestml_lab.export    runs and results as Neo blocks, NIX files, pandas tables
    nestml_lab.module_cache  NESTML's generate_code_for / generate_nest_target, cached, never stale
    nestml_lab.sweeps    an experiment over a grid of its parameters, on Dask

Typical use::

    made = nestml_lab.make_module("my_models/")    # or: nestml-lab module my_models/
    mod = nestml_lab.load("my_models/")            # installs into NEST; again after ResetKernel
    neuron, synapse = mod.pair("my_neuron", "my_stdp_synapse")
"""

from __future__ import annotations

_EXPORTS = {
    "make_module": "nestml_lab.project", "Project": "nestml_lab.project", "new_project": "nestml_lab.project",
    "load": "nestml_lab.module", "Module": "nestml_lab.module", "ModuleNotBuiltError": "nestml_lab.module",
    "install_module": "nestml_lab.catalog", "reset_kernel": "nestml_lab.module", "neuron_model": "nestml_lab.catalog",
    "synapse_model": "nestml_lab.catalog", "pair_models": "nestml_lab.catalog",
    "moved_parameter": "nestml_lab.catalog",
    "installed_modules": "nestml_lab.module", "ModuleClashError": "nestml_lab.module",
    "StaleModuleError": "nestml_lab.module",
    "generate_code_for": "nestml_lab.module_cache", "generate_nest_target": "nestml_lab.module_cache",
    "generate_nest_compartmental_target": "nestml_lab.module_cache",
    "sweep": "nestml_lab.sweeps",
}
#: Subpackages reached as attributes (``nestml_lab.catalog.module()``) without importing them first.
_SUBMODULES = ("catalog",)
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    # imported on first use: the NESTML worker processes import nestml_lab.codegen without all of this
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"nestml_lab.{name}")
    raise AttributeError(f"module 'nestml_lab' has no attribute {name!r}")
