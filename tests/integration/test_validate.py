"""Conformance against NEST twins (`nestml-lab validate`, module.yaml `twins:`): a model that is its twin is
spike-identical, one that is not is caught with the time of its first differing spike; NESTML's shipped
library (slow) gets its table."""

from __future__ import annotations

import shutil

import pytest

from nestml_lab import cli, paths
from nestml_lab.codegen.errors import ManifestError
from nestml_lab.codegen.manifest import load_manifest

MANIFEST = """module: twins_module
suffix: _twins
neurons: [iaf_psc_exp_neuron, izhikevich_neuron, euler_izhikevich_neuron]
solvers:
  euler_izhikevich_neuron: forward-Euler
twins:
  iaf_psc_exp_neuron: nest:iaf_psc_exp
  izhikevich_neuron: {twin: nest:izhikevich, current_pA: 5}
  euler_izhikevich_neuron: {twin: nest:izhikevich, current_pA: 5}
"""


@pytest.fixture(scope="module")
def twins_project(built_module, tmp_path_factory):
    from nestml_lab.project import make_module

    folder = tmp_path_factory.mktemp("twins")
    for model in ("iaf_psc_exp_neuron", "izhikevich_neuron"):
        shutil.copy(paths.MODELS_DIR / f"{model}.nestml", folder)
    text = (paths.MODELS_DIR / "izhikevich_neuron.nestml").read_text()
    (folder / "euler_izhikevich_neuron.nestml").write_text(
        text.replace("model izhikevich_neuron:", "model euler_izhikevich_neuron:"))
    (folder / "module.yaml").write_text(MANIFEST)
    make_module(folder, log=lambda line: None)
    return folder


@pytest.mark.nest
def test_twins_are_spike_identical_and_a_different_solver_is_caught(twins_project, capsys, monkeypatch):
    # a model that differs from its twin fails the command (a check for a user's CI), naming it
    monkeypatch.chdir(twins_project)   # results go below the current folder, as every experiment's
    assert cli.main(["validate", str(twins_project)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("[validate] 2/3 match their twin; differ or failed: izhikevich_neuron")
    rows = {line.split("|")[1].strip(): line for line in out.splitlines() if line.startswith("| ")}
    assert "spike-identical" in rows["iaf_psc_exp_neuron"]
    assert "spike-identical" in rows["euler_izhikevich_neuron"]   # NEST's izhikevich integrates with Euler
    assert "differs" in rows["izhikevich_neuron"] and " ms (" in rows["izhikevich_neuron"]   # RKF45 drifts
    table = (twins_project / "results" / "validate" / "conformance.csv").read_text()
    assert table.count("\n") == 4
    # both models fired under the protocol: the comparison is not of two silent neurons
    spikes = {line.split(",")[0]: int(line.split(",")[3]) for line in table.splitlines()[1:]}
    assert min(spikes.values()) > 10, spikes
    # the same results without the differing model: exit status 0
    from nestml_lab import conformance as validate

    run = validate.validate
    monkeypatch.setattr(validate, "validate", lambda *a, **kw: [r for r in run(*a, **kw)
                                                                 if r.model != "izhikevich_neuron"])
    assert cli.main(["validate", str(twins_project), "--out", str(twins_project / "results" / "matching")]) == 0


def test_a_twin_entry_is_checked_with_its_line(tmp_path):
    shutil.copy(paths.MODELS_DIR / "iaf_psc_exp_neuron.nestml", tmp_path)
    (tmp_path / "module.yaml").write_text("module: t_module\nsuffix: _t\nneurons: [iaf_psc_exp_neuron]\n"
                                          "twins:\n  iaf_psc_exp_neuron: iaf_psc_exp\n")
    with pytest.raises(ManifestError, match=r"module.yaml:5: twins: 'iaf_psc_exp_neuron': twin 'iaf_psc_exp' "
                                            r"must be written nest:<NEST model>"):
        load_manifest(tmp_path)
    (tmp_path / "module.yaml").write_text("module: t_module\nsuffix: _t\nneurons: [iaf_psc_exp_neuron]\n"
                                          "twins:\n  iaf_psc_exp_nueron: nest:iaf_psc_exp\n")
    with pytest.raises(ManifestError, match=r"module.yaml:5: twins: 'iaf_psc_exp_nueron' is no neuron"):
        load_manifest(tmp_path)


@pytest.mark.nest
@pytest.mark.slow
def test_nestml_library_against_nests_builtins(built_module, tmp_path):
    """NESTML 9's shipped neurons with a NEST twin: built as a project, each run against its twin."""
    from nestml_lab.cli import main
    from nestml_lab.conformance import library

    assert main(["validate", "--nestml-library", "--work", str(tmp_path / "lib"), "--out", str(tmp_path / "out")]) == 0
    table = (tmp_path / "out" / "conformance.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    assert set(library.LIBRARY_TWINS) <= set(rows)
    for model in ("iaf_psc_alpha_neuron", "iaf_psc_exp_neuron", "iaf_psc_delta_neuron", "iaf_cond_exp_neuron"):
        assert "spike-identical" in rows[model], rows[model]
    assert "(none in NEST)" in rows["terub_gpe_neuron"]
