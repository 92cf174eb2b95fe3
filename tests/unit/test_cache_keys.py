"""A unit's cache key changes exactly when its sources, options or versions change."""

import shutil

import pytest

from nestml_lab.codegen.generate import plan_units, source_hash
from nestml_lab.codegen.manifest import load_manifest
from nestml_lab import paths

VERSIONS = {"toolkit": "t", "nestml": "9.0.0", "nest": "v3.10.0"}


@pytest.fixture
def catalog(tmp_path):
    dest = tmp_path / "models"
    shutil.copytree(paths.MODELS_DIR, dest)
    return dest


def _keys(catalog, versions=VERSIONS, nest="v3.10.0"):
    m = load_manifest(catalog)
    return {u.uid: u.key(m, versions) for u in plan_units(m, nest)}


def test_keys_are_stable_when_nothing_changes(catalog):
    assert _keys(catalog) == _keys(catalog)


def test_editing_one_model_changes_only_the_units_that_use_it(catalog):
    before = _keys(catalog)
    f = catalog / "tsodyks_synapse.nestml"
    f.write_text(f.read_text().replace("U real = 0.5", "U real = 0.4"))
    after = _keys(catalog)
    changed = {uid for uid in before if before[uid] != after[uid]}
    assert changed == {"synapse-tsodyks_synapse"}


def test_editing_a_paired_neuron_changes_only_its_pair_unit(catalog):
    before = _keys(catalog)
    f = catalog / "izhikevich_neuron.nestml"
    f.write_text(f.read_text() + "\n")
    after = _keys(catalog)
    changed = {uid for uid in before if before[uid] != after[uid]}
    assert changed == {"pair-izhikevich_neuron-stdp_synapse"}


def test_a_paired_neuron_is_registered_plain_from_its_first_pair_only(catalog):
    units = plan_units(load_manifest(catalog), "v3.10.0")
    assert not any(u.uid == "neuron-izhikevich_neuron" for u in units)
    plain = [u.uid for u in units if "izhikevich_neuron_nestml" in u.neurons]
    assert plain == ["pair-izhikevich_neuron-stdp_synapse"]
    assert [u.uid for u in units if "aeif_cond_exp_neuron_nestml" in u.neurons] == \
        ["pair-aeif_cond_exp_neuron-stp_stdp_synapse"]
    assert any(u.uid == "neuron-iaf_psc_alpha_neuron" for u in units)   # not paired: a unit of its own


@pytest.mark.parametrize("field", ["toolkit", "nestml", "nest"])
def test_a_version_change_invalidates_every_unit(catalog, field):
    before = _keys(catalog)
    after = _keys(catalog, versions=dict(VERSIONS, **{field: "other"}))
    assert all(before[u] != after[u] for u in before)


def test_option_change_invalidates_the_unit(catalog):
    m = load_manifest(catalog)
    a = {u.uid: u.key(m, VERSIONS) for u in plan_units(m, "v3.10.0")}
    b = {u.uid: u.key(m, VERSIONS) for u in plan_units(m, "v3.9.0")}  # nest_version is a codegen option
    assert all(a[u] != b[u] for u in a)


def test_source_hash_follows_model_content(catalog):
    m = load_manifest(catalog)
    h = source_hash(m)
    (catalog / "static_synapse.nestml").write_text((catalog / "static_synapse.nestml").read_text() + "\n")
    assert source_hash(load_manifest(catalog)) != h


def test_source_hash_follows_what_the_module_is_built_from(catalog):
    """A manifest entry the build reads changes the hash; a comment or the twins validate reads do not (no
    rebuild needed to name a twin)."""
    manifest = catalog / "module.yaml"
    h = source_hash(load_manifest(catalog))
    text = manifest.read_text()
    assert "\ntwins:\n" in text   # the catalog names its twins: take one away, comment the others
    manifest.write_text(text.replace("  iaf_psc_alpha_neuron: nest:iaf_psc_alpha\n", "") + "\n# a comment\n")
    assert source_hash(load_manifest(catalog)) == h
    manifest.write_text(manifest.read_text().replace("suffix: _nestml", "suffix: _other"))
    assert source_hash(load_manifest(catalog)) != h
