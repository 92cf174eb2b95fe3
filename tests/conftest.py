"""Shared fixtures: the catalog module is built once per test session, only for tests marked ``nest``."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def built_module():
    """Build (or reuse from the cache) and install the catalog module; return its name."""
    from nestml_lab.cli import main

    assert main(["module"]) == 0, "make module failed: see the output above"
    from nestml_lab.module import manifest

    return manifest().module


@pytest.fixture
def nest_kernel(built_module):
    """A fresh NEST kernel with the catalog module loaded."""
    import nest

    from nestml_lab import reset_kernel

    nest.verbosity = nest.VerbosityLevel.ERROR
    reset_kernel()
    return nest
