"""The linter the project uses (ruff, configured in pyproject.toml): every public definition has a docstring, and
no name is undefined or imported unused (pyflakes)."""

import subprocess
import sys

from nestml_lab import paths


def test_every_public_definition_of_the_toolkit_and_the_benchmarks_has_a_docstring():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "nestml_lab",
                           "benchmarks"], cwd=paths.REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
