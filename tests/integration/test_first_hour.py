"""A pip-installed user's first hour: the toolkit in a fresh virtual environment outside the checkout, a
project of their own, and every experiment path on it with no catalog module anywhere."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nestml_lab import paths

pytestmark = pytest.mark.slow

TREE = """\
modules: [my_models]
kernel: {resolution_ms: 0.1, seed: 3, threads: 1}
network:
  neuron_models:
    lif: {params: {nestml: lif_delta_neuron, partner: additive_stdp_synapse}}
  synapse_models:
    plastic: {params: {nestml: additive_stdp_synapse, partner: lif_delta_neuron}, nest_params: {delay: 1.0}}
    drive: {params: {nest_model: static_synapse}, nest_params: {delay: 1.0, weight: 2.0}}
  populations:
    P: {model: lif, n: 20}
    noise: {model: "nest:poisson_generator", n: 1, nest_params: {rate: 9000.0}}
  connections:
    - {source: noise, target: P, synapse: drive}
    - {source: P, target: P, synapse: plastic, rule: {rule: fixed_indegree, indegree: 5}}
  recorders:
    - {name: spikes, populations: [P]}
sessions:
  run: {simulation_time_ms: 500.0}
"""


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """``lab(*args)``: the ``nestml-lab`` of a fresh virtual environment with the toolkit pip-installed in it,
    run in a folder of the user's (no checkout on its path)."""
    root = tmp_path_factory.mktemp("first_hour")
    source = root / "source"   # a copy of what git tracks: pip builds in the source folder
    files = subprocess.run(["git", "ls-files"], cwd=paths.REPO_ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for name in files:
        dest = source / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes((paths.REPO_ROOT / name).read_bytes())
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(source)], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    home = root / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}:{env['PATH']}", NESTML_LAB_CACHE=str(root / "cache"))

    def lab(*args, check=True):
        out = subprocess.run(["nestml-lab", *args], cwd=home, env=env, capture_output=True, text=True, timeout=900)
        if check:
            assert out.returncode == 0, f"nestml-lab {' '.join(args)}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        return out

    lab.home, lab.venv = home, venv
    return lab


def test_the_installed_toolkit_carries_no_catalog(user):
    site = next(user.venv.glob("lib/python*/site-packages"))
    assert (site / "nestml_lab").is_dir() and not (site / "models").exists()
    probe = subprocess.run([str(user.venv / "bin" / "python"), "-c", "import nestml_lab, sys; print(nestml_lab.__file__)"],
                           cwd=user.home, capture_output=True, text=True)
    assert str(site) in probe.stdout, probe.stdout + probe.stderr


def test_every_experiment_path_runs_on_a_project_alone(user):
    user("init", "my_models")
    manifest = user.home / "my_models" / "module.yaml"
    manifest.write_text(manifest.read_text() + "\ntwins:\n  lif_delta_neuron: nest:iaf_psc_delta\n")
    user("module", "my_models")
    pair = ["--project", "my_models", "--synapse", "additive_stdp_synapse", "--neuron", "lif_delta_neuron"]
    out = user("stdp-window", *pair, "--w0", "5", "--reference", "nest:stdp_synapse", "--reference-map",
               "lambda=A_plus/Wmax", "alpha=A_minus/A_plus", "mu_plus=0", "mu_minus=0", "tau_plus=tau_pre",
               "tau_minus=tau_post")
    gap = float(out.stdout.split("largest |dw difference| ")[1].split()[0])
    assert gap < 1e-9, out.stdout
    user("pairing-frequency", *pair)
    out = user("validate", "my_models")
    assert "spike-identical" in out.stdout and out.stdout.splitlines()[-1].startswith("[validate] 1/1 match")
    (user.home / "tree.yml").write_text(TREE)
    user("run-tree", "tree.yml", "--out", "runs/first")
    versions = (user.home / "runs" / "first" / "versions.json").read_text()
    assert '"module": "my_models_module"' in versions
    # the results went where the commands say: below the current folder
    for folder in ("results/stdp_window", "results/pairing_frequency", "results/validate", "runs/first"):
        assert (user.home / folder).is_dir(), folder
    # and no catalog was built or loaded anywhere
    assert not list(user.home.rglob("nestml_catalog_module*")) and not list(user.venv.rglob("nestml_catalog_module*"))
