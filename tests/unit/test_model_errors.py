"""A malformed model stops code generation with file, line, column and NESTML's message (runs NESTML, not NEST)."""

import shutil

import pytest

from nestml_lab.codegen.errors import ModelError, SourceError
from nestml_lab.codegen.generate import generate
from nestml_lab.codegen.manifest import load_manifest
from nestml_lab import paths


def _catalog(tmp_path, neuron_text: str):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(paths.MODELS_DIR / "static_synapse.nestml", models)
    (models / "broken_neuron.nestml").write_text(neuron_text)
    (models / "module.yaml").write_text(
        "module: broken_module\nsuffix: _nestml\nneurons: [broken_neuron]\n"
        "synapses:\n  static_synapse: {weight_variable: w}\n")
    return load_manifest(models)


GOOD = (paths.MODELS_DIR / "iaf_psc_exp_neuron.nestml").read_text().replace(
    "model iaf_psc_exp_neuron:", "model broken_neuron:")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


@pytest.mark.parametrize("old,new,needle,expected", [
    # a free-standing unit (NESTML 8 syntax)
    ("V_m' = -(V_m - E_L) / tau_m", "V_m' = -(V_m - E_L) / tau_m * mV / mV", "V_m' =", "free-standing"),
    # a variable that does not exist
    ("I_syn_ex += exc_spikes * 1 pA * 1 s", "I_syn_ex += exc_spikez * 1 pA * 1 s", "exc_spikez", "exc_spikez"),
])
def test_model_error_names_file_line_and_message(tmp_path, old, new, needle, expected):
    text = GOOD.replace(old, new)
    assert text != GOOD
    manifest = _catalog(tmp_path, text)
    # an older construct is refused by the check stage (SourceError), before NESTML; the rest by NESTML
    with pytest.raises((ModelError, SourceError)) as err:
        generate(manifest, tmp_path / "generated", log=lambda _: None)
    messages = err.value.messages
    assert messages, "no message reported"
    first = messages[0]
    assert first.file.endswith("broken_neuron.nestml")
    assert first.line == _line_of(text, needle)
    assert expected in str(err.value)
    # nothing of the failed unit is kept in the cache
    assert not (tmp_path / "generated" / "units" / "neuron-broken_neuron").exists()
