"""Run NESTML catalog models in NEST: load the module, name its models, run experiments."""

from nestml_lab.module import (ModuleNotBuiltError, install_module, moved_parameter, neuron_model,
                               pair_models, reset_kernel, synapse_model)

__all__ = ["ModuleNotBuiltError", "install_module", "moved_parameter", "neuron_model", "pair_models",
           "reset_kernel", "synapse_model"]
