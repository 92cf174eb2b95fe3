"""The manifest is validated with messages that name the file and the problem."""

import shutil
from pathlib import Path

import pytest

from codegen.errors import ManifestError
from codegen.manifest import load_manifest
from nestml_lab import paths


@pytest.fixture
def catalog(tmp_path) -> Path:
    dest = tmp_path / "models"
    shutil.copytree(paths.MODELS_DIR, dest)
    return dest


def test_repository_catalog_loads_and_lists_its_models():
    m = load_manifest(paths.MODELS_DIR)
    assert "iaf_psc_exp_neuron" in m.neurons
    assert m.synapses["stdp_synapse"].post_ports == ("post_spikes",)
    kinds = m.nest_names()
    assert kinds["iaf_psc_exp_neuron_nestml"] == "neuron"
    assert kinds["static_synapse_nestml"] == "synapse"
    assert "stdp_synapse_nestml" not in kinds  # exists only co-generated


def _edit(catalog: Path, old: str, new: str) -> None:
    f = catalog / "module.yaml"
    text = f.read_text()
    assert old in text
    f.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("old,new,expected", [
    ("suffix: _nestml", "suffix: _nestml\ncolour: blue", "unknown key"),
    ("module: nestml_catalog_module", "module: catalog", "must be a C identifier ending in 'module'"),
    ("static_synapse: {weight_variable: w}", "static_synapse: {}", "needs a 'weight_variable'"),
    ("  - neuron: izhikevich_neuron\n    synapses: [stdp_synapse]",
     "  - neuron: izhikevich_neuron\n    synapses: [no_such_synapse]", "not listed under 'synapses'"),
    ("  - neuron: izhikevich_neuron\n    synapses: [stdp_synapse]",
     "  - neuron: izhikevich_neuron\n    synapses: [static_synapse]", "has no post_ports"),
    ("neurons:\n", "neurons: [\n", "not valid YAML"),
])
def test_malformed_manifest_is_refused_with_reason(catalog, old, new, expected):
    _edit(catalog, old, new)
    with pytest.raises(ManifestError) as err:
        load_manifest(catalog)
    assert expected in str(err.value)
    assert str(catalog / "module.yaml") in str(err.value)


def test_model_without_source_file_is_refused(catalog):
    (catalog / "tsodyks_synapse.nestml").unlink()
    with pytest.raises(ManifestError, match="tsodyks_synapse.*no source file"):
        load_manifest(catalog)


def test_rewrites_all_none_or_a_list(tmp_path):
    from codegen import rewrites

    (tmp_path / "a_neuron.nestml").write_text("model a_neuron:\n")
    base = "module: x_module\nneurons: [a_neuron]\n"
    for value, expected in (("", rewrites.ALL), ("rewrites: all\n", rewrites.ALL), ("rewrites: none\n", ()),
                            ("rewrites: [synapse_layout, input_buffer]\n", ("input_buffer", "synapse_layout"))):
        (tmp_path / "module.yaml").write_text(base + value)
        assert load_manifest(tmp_path).rewrites == expected
    (tmp_path / "module.yaml").write_text(base + "rewrites: [fast_exp]\n")
    with pytest.raises(ManifestError, match="unknown rewrite.*fast_exp"):
        load_manifest(tmp_path)
