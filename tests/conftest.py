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
