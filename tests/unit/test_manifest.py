"""The manifest is validated with messages that name the file and the problem."""

import shutil
from pathlib import Path

import pytest

from nestml_lab.codegen.errors import ManifestError
from nestml_lab.codegen.manifest import load_manifest
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
    with pytest.raises(ManifestError, match="tsodyks_synapse.*no .nestml file"):
        load_manifest(catalog)


def test_rewrites_all_none_or_a_list(tmp_path):
    from nestml_lab.codegen import edits

    (tmp_path / "a_neuron.nestml").write_text("model a_neuron:\n")
    base = "module: x_module\nneurons: [a_neuron]\n"
    for value, expected in (("", edits.REWRITES), ("rewrites: all\n", edits.REWRITES), ("rewrites: none\n", ()),
                            ("rewrites: [synapse_layout, input_buffer]\n", ("input_buffer", "synapse_layout"))):
        (tmp_path / "module.yaml").write_text(base + value)
        assert load_manifest(tmp_path).rewrites == expected
    (tmp_path / "module.yaml").write_text(base + "rewrites: [fast_exp]\n")
    with pytest.raises(ManifestError, match="unknown rewrite.*fast_exp"):
        load_manifest(tmp_path)


def test_short_pair_names_do_not_change_when_a_synapse_joins_the_neuron(catalog):
    before = load_manifest(catalog)
    _edit(catalog, "  - neuron: izhikevich_neuron\n    synapses: [stdp_synapse]",
          "  - neuron: izhikevich_neuron\n    synapses: [stdp_synapse, stdp_nn_symm_synapse]")
    after = load_manifest(catalog)
    from nestml_lab.codegen import names

    short = names.short_pair("izhikevich_neuron", "stdp_synapse", "_nestml")
    assert short == ("izhikevich_neuron_nestml__with_stdp_synapse_nestml",
                     "stdp_synapse_nestml__with_izhikevich_neuron_nestml")
    for m in (before, after):
        assert all(m.nest_names()[n] == k for n, k in zip(short, ("neuron", "synapse")))
    # NESTML's own names did change: the short names are registered beside them
    assert after.aliases()[short[0]] == "izhikevich_neuron_nestml__with_stdp_synapse_nestml_and_stdp_nn_symm_synapse_nestml"
    assert short[0] not in before.aliases()   # one synapse: NESTML's name is the short one


def test_vt_continuous_and_delay_options_reach_nestml(catalog):
    from nestml_lab.codegen.generate import plan_units

    _edit(catalog, "  static_synapse: {weight_variable: w}", "  static_synapse: {weight_variable: w, delay_variable: d}")
    m = load_manifest(catalog)
    nm = m.synapses["neuromodulated_stdp_synapse"]
    assert nm.vt_ports == ("mod_spikes",) and nm.needs_partner
    assert m.synapses["voltage_ltd_stdp_synapse"].continuous_ports == (("V_post", "V_m"),)
    units = {u.uid: u for u in plan_units(m, "v3.10.0")}
    pair = units["pair-iaf_psc_exp_neuron-voltage_ltd_stdp_synapse"].codegen_opts["neuron_synapse_pairs"][0]
    assert pair["synapses"]["voltage_ltd_stdp_synapse"]["post_ports"] == ["post_spikes", ["V_post", "V_m"]]
    vt = units["pair-iaf_psc_exp_neuron-neuromodulated_stdp_synapse"].codegen_opts["neuron_synapse_pairs"][0]
    assert vt["synapses"]["neuromodulated_stdp_synapse"]["vt_ports"] == ["mod_spikes"]
    assert units["synapse-static_synapse"].codegen_opts["delay_variable"] == {"static_synapse": "d"}


@pytest.mark.parametrize("old,new,expected", [
    ("voltage_ltd_stdp_synapse: {weight_variable: w, post_ports: [post_spikes, {V_post: V_m}],",
     "voltage_ltd_stdp_synapse: {weight_variable: w, post_ports: [post_spikes, {V_post: 3}],",
     "must name a port and a neuron variable"),
    ("vt_ports: [mod_spikes]", "vt_ports: [mod_spikes, post_spikes]", "one vt port"),
    ("vt_ports: [mod_spikes]", "vt_ports: [post_spikes]", "lists a port twice"),
    ("  - neuron: izhikevich_neuron\n    synapses: [stdp_synapse]",
     "  - neuron: iaf_psc_exp_neuron\n    synapses: [stdp_synapse]", "is already a pair"),
    ("build: ../nest_module", "build: ''", "'build' must be a folder path"),
])
def test_malformed_port_options_are_refused(catalog, old, new, expected):
    _edit(catalog, old, new)
    with pytest.raises(ManifestError, match=expected):
        load_manifest(catalog)


def test_a_port_with_two_roles_in_one_pair_is_refused(catalog):
    _edit(catalog, "  static_synapse: {weight_variable: w}",
          "  static_synapse: {weight_variable: w}\n  odd_synapse: {weight_variable: w, post_ports: [mod_spikes]}")
    (catalog / "odd_synapse.nestml").write_text((catalog / "stdp_synapse.nestml").read_text())
    _edit(catalog, "    synapses: [neuromodulated_stdp_synapse]", "    synapses: [neuromodulated_stdp_synapse, odd_synapse]")
    with pytest.raises(ManifestError, match="vt port of one synapse and a post port of another"):
        load_manifest(catalog)


def test_every_catalog_neuron_has_its_test_drive():
    """Adding a neuron to the catalog: its file, its manifest line, its line in models/test_drive.yaml."""
    import yaml

    from nestml_lab import paths
    from nestml_lab.codegen.manifest import load_manifest

    drive = yaml.safe_load((paths.MODELS_DIR / "test_drive.yaml").read_text())
    m = load_manifest(paths.MODELS_DIR)
    neurons = set(m.neurons) - set(m.compartmental())
    assert set(drive) == neurons, f"models/test_drive.yaml: add {sorted(neurons - set(drive))}, remove {sorted(set(drive) - neurons)}"
    assert all(set(d) == {"dc_pA", "drive_pA", "spike_weight"} for d in drive.values())


def test_a_manifest_round_trips_through_its_data_and_derives_in_memory(tmp_path):
    """One typed way to derive a manifest: from a base, with overrides, from texts in memory; validated before a
    file is written, and written as what it is."""
    from nestml_lab.codegen import manifest as manifests

    catalog = load_manifest(paths.MODELS_DIR)
    assert manifests.from_data(catalog.to_data(), catalog.path) == catalog
    copy = manifests.derive(catalog, path=tmp_path / "copy" / "module.yaml", module="copy_module", suffix="_copy",
                            rewrites="none", build="../build")
    assert not (tmp_path / "copy").exists()   # nothing written yet
    assert (copy.module, copy.rewrites, copy.build_folder) == ("copy_module", (), tmp_path / "build")
    assert set(copy.texts) == set(catalog.neurons) | set(catalog.synapses)
    assert copy.compartmental() == catalog.compartmental()   # read from the texts in memory
    written = manifests.write(copy, tmp_path / "copy")
    again = load_manifest(written)
    assert (again.module, again.suffix, again.rewrites, again.pairs) == ("copy_module", "_copy", (), catalog.pairs)
    assert again.build_folder == tmp_path / "build"
    # a derived manifest is validated like a file, naming where it would be, with no line (there is no file)
    neuron = (paths.MODELS_DIR / "iaf_psc_exp_neuron.nestml").read_text()
    with pytest.raises(ManifestError, match=r"\[manifest\] the call's options: solvers: 'iaf_psc_exp_neuron': "
                                            r"'rk5' is not one of"):
        manifests.derive(path="the call's options", texts={"iaf_psc_exp_neuron": neuron}, module="m_module",
                         neurons=["iaf_psc_exp_neuron"], solvers={"iaf_psc_exp_neuron": "rk5"})
    with pytest.raises(ManifestError, match="model 'other_neuron': no NESTML text given for it"):
        manifests.derive(path="the call's options", texts={"iaf_psc_exp_neuron": neuron}, module="m_module",
                         neurons=["other_neuron"])
    assert not Path("the call's options").exists()


def test_the_catalog_names_the_twins_its_benchmarks_run_against():
    """The twin and solver benchmarks read their NEST twins from the catalog's module.yaml (twins:)."""
    from benchmarks import solvers, twins

    named = load_manifest(paths.MODELS_DIR).twins
    assert set(twins.DRIVES) | set(solvers.MODELS) <= set(named)
    assert twins.catalog_twin("izhikevich_neuron") == "izhikevich"
    with pytest.raises(KeyError, match="cm_default_neuron has no twin in the catalog's module.yaml"):
        twins.catalog_twin("cm_default_neuron")
