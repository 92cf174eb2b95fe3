"""Shared fixtures: the catalog module is built once per test session, only for tests marked ``nest``."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def built_module():
    """Make (or reuse from the cache) the catalog's module; return its name."""
    from nestml_lab import paths
    from nestml_lab.project import make_module

    return make_module(paths.MODELS_DIR).module.name


@pytest.fixture
def nest_kernel(built_module):
    """A fresh NEST kernel with the catalog module loaded."""
    import nest

    from nestml_lab import reset_kernel

    nest.verbosity = nest.VerbosityLevel.ERROR
    reset_kernel()
    return nest


@pytest.fixture
def spikes_under_one_input(nest_kernel):
    """``f(models, rate_hz, weight, t_sim_ms, seed)``: spike times of one neuron of each ``(model, params)``,
    all driven by the same Poisson train (one generator, repeated by a parrot to each), for comparing a model
    with its twin spike for spike."""
    return lambda *args, **kw: _spikes_under_one_input(nest_kernel, *args, **kw)


def _spikes_under_one_input(nest, models: list, rate_hz: float, weight: float, t_sim_ms: float, seed: int) -> list:
    import numpy as np

    nest.rng_seed = seed
    parrot = nest.Create("parrot_neuron")
    nest.Connect(nest.Create("poisson_generator", params={"rate": rate_hz}), parrot)
    neurons = [nest.Create(model, params=params) for model, params in models]
    recorder = nest.Create("spike_recorder")
    for n in neurons:
        nest.Connect(parrot, n, syn_spec={"weight": weight, "delay": 1.0})
        nest.Connect(n, recorder)
    nest.Simulate(t_sim_ms)
    ev = recorder.events
    return [np.sort(ev["times"][ev["senders"] == n.global_id]) for n in neurons]
