"""Experiment trees: validation names the file and the path; parameters are inherited down the model trees."""

import copy

import pytest
import yaml

from nestml_lab import networks, paths
from nestml_lab.experiments import adex_network, pd14, song2000

EXAMPLE = networks.EXAMPLES / "brunel_sessions.yml"


def _example() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def test_example_parses_and_inherits():
    t = networks.read(EXAMPLE)
    exc = t.neuron_models["exc"]
    assert exc["params"] == {"catalog": "iaf_psc_exp_neuron"}
    assert exc["nest_params"]["tau_m"] == 20.0 and "V_m" in exc["nest_params"]
    assert t.synapse_models["inhibitory"]["nest_params"] == {"delay": 1.5, "weight": -439.0}
    assert list(t.sessions) == ["warmup", "high_input", "low_input"]
    assert t.sessions["warmup"]["record"] is False and t.sessions["high_input"]["record"] is True


def test_leaf_overrides_ancestor():
    data = _example()
    data["network"]["neuron_models"]["exc"] = {"nest_params": {"tau_m": 10.0}}
    t = networks.parse(data)
    assert t.neuron_models["exc"]["nest_params"]["tau_m"] == 10.0
    assert t.neuron_models["inh"]["nest_params"]["tau_m"] == 20.0


@pytest.mark.parametrize("edit,message", [
    (lambda d: d["network"]["populations"]["E"].update(size=3), "network.populations.E: unknown key(s) ['size']"),
    (lambda d: d["sessions"]["warmup"].update(duration=3), "sessions.warmup: unknown key(s) ['duration']"),
    (lambda d: d["network"]["connections"][1].update(source="X"), "connections[1].source: unknown population 'X'"),
    (lambda d: d["network"]["connections"][0].update(synapse="nope"), "unknown synapse model 'nope'"),
    (lambda d: d["network"]["populations"]["E"].update(model="exk"), "'exk' is neither a neuron model"),
    (lambda d: d["network"]["neuron_models"]["params"].update(nest_model="iaf_psc_exp"), "exactly one of"),
    (lambda d: d.update(kernel={"seeds": 1}), "kernel: unknown key(s) ['seeds']"),
    (lambda d: d["sessions"]["low_input"]["unit_changes"][0].update(population="noize"), "unknown population"),
    (lambda d: d.update(sessions={}), "at least one session"),
    (lambda d: d.update(kernel={"threads": 2, "total_num_virtual_procs": 2}), "not both"),
    (lambda d: d["network"]["recorders"].append({"name": "vm", "multimeter": {"populations": ["E"]}}),
     "recorders[2].multimeter: missing key(s) ['record_from']"),
    (lambda d: d["network"]["recorders"].append(
        {"name": "vm", "multimeter": {"populations": ["E"], "record_from": "V_m"}}), "expected a list of state"),
    (lambda d: d["network"]["recorders"].append(
        {"name": "vm", "populations": ["E"], "multimeter": {"populations": ["E"], "record_from": ["V_m"]}}),
     "give one of populations"),
])
def test_errors_name_the_path(edit, message):
    data = copy.deepcopy(_example())
    edit(data)
    with pytest.raises(networks.TreeError) as err:
        networks.parse(data, "brunel.yml")
    assert message in str(err.value) and str(err.value).startswith("brunel.yml")


def test_invalid_yaml_names_the_file(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("network: [unclosed\n")
    with pytest.raises(networks.TreeError, match="bad.yml: not valid YAML"):
        networks.read(bad)


def test_the_network_experiments_are_trees():
    """PD14, the AdEx network and Song 2000 are written as trees and pass the same validation."""
    networks.parse(pd14.tree(pd14.Pd14Params(neuron="nest", scale=0.1)), "pd14")
    networks.parse(song2000.tree(song2000.Song2000Params()), "song2000")
    for condition in adex_network.CONDITIONS:
        t = networks.parse(adex_network.tree(adex_network.AdexNetworkParams(), condition), condition)
        assert t.populations["E"]["n"] == 2000 and t.populations["I"]["n"] == 500


def test_total_num_virtual_procs_replaces_threads():
    data = _example()
    data["kernel"] = {"total_num_virtual_procs": 2}
    t = networks.parse(data)
    assert t.kernel["total_num_virtual_procs"] == 2 and "threads" not in t.kernel


SPATIAL = networks.EXAMPLES / "spatial_layers.yml"


def _spatial() -> dict:
    return yaml.safe_load(SPATIAL.read_text())


def test_spatial_example_parses_grid_sizes_from_the_shape():
    t = networks.read(SPATIAL)
    assert t.populations["E"]["n"] == 400 and t.populations["I"]["n"] == 100
    assert t.populations["E"]["spatial"] == {"extent": [1.0, 1.0], "center": [0.0, 0.0], "edge_wrap": True,
                                             "shape": [20, 20]}
    assert t.populations["input"]["parrots"] is True and t.populations["input"]["spatial"]["random"] is True


@pytest.mark.parametrize("edit,message", [
    (lambda d: d["network"]["populations"]["E"].update(n=399),
     r"populations\.E\.spatial: n is 399, but a 20 x 20 grid has 400 nodes"),
    (lambda d: d["network"]["populations"]["E"]["spatial"].update(shape=[20]),
     r"populations\.E\.spatial\.shape: expected \[columns, rows\]"),
    (lambda d: d["network"]["populations"]["E"]["spatial"].update(extent=[1.0, -1.0]),
     r"populations\.E\.spatial\.extent: expected a list of 2 positive numbers"),
    (lambda d: d["network"]["populations"]["input"].pop("n"),
     r"populations\.input\.spatial: random positions need n"),
    (lambda d: d["network"]["populations"]["E"].update(parrots=True),
     r"populations\.E\.parrots: parrots repeat the spikes of stimulator devices"),
    (lambda d: d["network"]["connections"][1]["rule"]["p"]["gaussian"].update(p_center=2.0),
     r"connections\[1\]\.rule\.p\.gaussian\.p_center: expected a probability in \(0, 1\]"),
    (lambda d: d["network"]["connections"][1]["rule"].update(p={"lorentzian": {"width": 1.0}}),
     r"connections\[1\]\.rule\.p: expected a probability or a kernel"),
    (lambda d: d["network"]["connections"][1]["rule"].update(mask={"circle": {"radius": 0.5}}),
     r"connections\[1\]\.rule\.mask: expected one of circular, doughnut, elliptical, rectangular"),
    (lambda d: d["network"]["connections"][1].update(target=["E", "I"]),
     r"connections\[1\]: a mask, a kernel or a distance-dependent value needs one source and one target"),
    (lambda d: d["network"]["populations"]["I"].pop("spatial"),
     r"connections\[2\]: a mask, a kernel or a distance-dependent value needs one source and one target"),
    (lambda d: d["network"]["connections"][0]["nest_params"].update(delay={"distance": {"offset": 1.0}}),
     r"connections\[0\]\.nest_params\.delay\.distance: missing key\(s\) \['slope'\]"),
])
def test_spatial_errors_name_the_tree_path(edit, message):
    data = _spatial()
    edit(data)
    with pytest.raises(networks.TreeError, match=message):
        networks.parse(data, "spatial.yml")


NETWORKS = networks.EXAMPLES / "networks"


@pytest.mark.parametrize("name,tree", [
    ("pd14.yml", lambda: pd14.tree(pd14.Pd14Params(neuron="nestml"))),
    ("song2000.yml", lambda: song2000.tree(song2000.Song2000Params())),
    ("adex_network.yml", lambda: adex_network.tree(adex_network.AdexNetworkParams(), "with_inhibition")),
])
def test_the_network_experiments_trees_folder_holds_their_trees_at_the_defaults(name, tree):
    """trees_examples/networks/ shows the three network experiments as trees; they must not drift from what
    the experiments build (regenerate: yaml.safe_dump(tree, sort_keys=False, width=120, default_flow_style=None)
    under the file's comment lines)."""
    written = yaml.safe_load((NETWORKS / name).read_text())
    assert written == yaml.safe_load(yaml.safe_dump(tree())), f"{name} differs from the experiment's tree"
    networks.read(NETWORKS / name)


def test_the_resolved_tree_records_every_default_it_used():
    """A run folder's parameter_tree.yml is the whole recipe: what the tree left out is written in."""
    t = networks.parse({
        "network": {"neuron_models": {"n": {"params": {"nest_model": "iaf_psc_alpha"}}},
                    "synapse_models": {"s": {"params": {"nest_model": "static_synapse"}}},
                    "populations": {"E": {"model": "n"}},
                    "connections": [{"source": "E", "target": "E", "synapse": "s"}],
                    "recorders": [{"name": "vm", "multimeter": {"populations": "E", "record_from": ["V_m"]}},
                                  {"name": "w", "weights": {"source": "E", "synapse": "s"}}]},
        "sessions": {"run": {"simulation_time_ms": 10.0}}}, "defaults.yml")
    assert t.kernel == {"resolution_ms": 0.1, "seed": 1, "threads": 1}
    assert t.populations["E"] == {"model": "n", "n": 1, "nest_params": {}, "parrots": False}
    assert t.connections[0]["rule"] == {"rule": "all_to_all"} and t.connections[0]["nest_params"] == {}
    assert t.recorders[0]["multimeter"] == {"populations": "E", "record_from": ["V_m"], "interval_ms": 1.0,
                                            "max_nodes": 10}
    assert t.recorders[1]["weights"]["max_sources"] == 100
    assert t.sessions["run"] == {"simulation_time_ms": 10.0, "record": True, "unit_changes": []}
    again = networks.parse(t.resolved(), "again.yml")   # the resolved tree is a valid tree, resolved to itself
    assert again.resolved() == t.resolved()


def test_the_docs_table_has_every_key_of_the_schema_once():
    from nestml_lab.networks import schema

    table = schema.markdown()
    for section in schema.SECTIONS:
        for name in section.keys:
            path = f"{section.path}.{name}" if section.path else name
            assert table.count(f"| `{path}` |") == 1, path
    assert "@SCHEMA@" in (paths.REPO_ROOT / "docs" / "trees.md").read_text()
