"""The documentation site: `make docs` builds it with --strict; every experiment and model has its page."""

import pytest

from nestml_lab import docs, paths
from nestml_lab.experiments.shared.contract import registry

pytest.importorskip("mkdocs")


def test_the_site_builds_without_warnings_with_a_page_per_experiment_and_model(tmp_path):
    index = docs.build(tmp_path / "site", log=lambda line: None)
    site = index.parent
    for exp in registry().values():
        page = (site / "experiments" / f"{exp.folder}.html").read_text()
        assert f"nestml-lab {exp.name}" in page
    for model in paths.MODELS_DIR.glob("*.nestml"):
        assert (site / "models" / f"{model.stem}.html").is_file(), model.stem
    stdp = (site / "models" / "stdp_synapse.html").read_text()
    assert "tau_tr_post" in stdp and "Description" in stdp, "header comment and parameter table"
    assert "make_module" in (site / "api.html").read_text()


def test_a_broken_link_fails_the_build(tmp_path, monkeypatch):
    pages = tmp_path / "docs"
    import shutil

    shutil.copytree(docs.DOCS, pages)
    (pages / "index.md").write_text((pages / "index.md").read_text() + "\n[gone](no_such_page.md)\n")
    monkeypatch.setattr(docs, "DOCS", pages)
    with pytest.raises(RuntimeError, match="no_such_page.md"):
        docs.build(tmp_path / "site", log=lambda line: None)


def test_model_header_and_parameter_block_become_markdown():
    source = ("# my_neuron - a test\n#\n# Description\n# +++++++++++\n#\n# Text.\n#\n#   dV/dt = -V / tau\n"
              "model my_neuron:\n    parameters:\n        tau ms = 10 ms    # membrane time constant\n"
              "        V_th mV = -50 mV\n\n    state:\n        V mV = 0 mV\n")
    md = docs.comment_to_markdown(docs.header_comment(source)[1:])
    assert "### Description" in md and "```\n  dV/dt = -V / tau\n```" in md
    assert docs.declarations(source, "parameters") == [("tau", "ms", "10 ms", "membrane time constant"),
                                                       ("V_th", "mV", "-50 mV", "")]
    assert docs.declarations(source, "state") == [("V", "mV", "0 mV", "")]


def test_a_projects_site_has_its_models_and_nothing_vanishes(tmp_path):
    """`nestml-lab docs PROJECT`: the project's model pages; `nest:<name>` shown, Python fields beside options,
    Sphinx roles rendered as code."""
    from nestml_lab.project import new_project

    new_project(tmp_path / "my_models")
    site = docs.build(tmp_path / "site", log=lambda line: None, project=tmp_path / "my_models").parent
    assert (site / "models" / "lif_delta_neuron.html").is_file()
    assert not (site / "models" / "stdp_synapse.html").exists(), "the catalog's models are not the project's"
    index = (site / "models" / "index.html").read_text()
    assert "my_models_module" in index and "additive_stdp_synapse" in index
    window = (site / "experiments" / "stdp_window.html").read_text()
    assert "nest:&lt;name&gt;" in window, "an unescaped <name> vanishes as an HTML tag"
    assert "<code>reference_map</code>" in window and "<code>--reference-map</code>" in window
    assert ":func:" not in (site / "api.html").read_text()
    assert "Validate your own STDP synapse" in (site / "own_models.html").read_text()
