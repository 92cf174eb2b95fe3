"""A corpus of malformed and hostile inputs: each gives a clear error naming the file and the place, never a
traceback from deep inside, a silent substitution, or a write outside the run folder.

Manifests and trees are checked here without NEST; the command line in subprocesses. Models NESTML
rejects are in test_model_errors.py, build faults in tests/integration/test_build_failures.py.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nestml_lab import networks, paths
from nestml_lab.codegen.errors import ManifestError
from nestml_lab.codegen.manifest import load_manifest

PROJECT = """module: tiny_module
suffix: _nestml
neurons: [iaf_psc_exp_neuron]
synapses:
  static_synapse: {weight_variable: w}
  stdp_synapse: {weight_variable: w, post_ports: [post_spikes]}
pairs:
  - neuron: iaf_psc_exp_neuron
    synapses: [stdp_synapse]
"""


@pytest.fixture
def project(tmp_path) -> Path:
    for m in ("iaf_psc_exp_neuron", "static_synapse", "stdp_synapse"):
        (tmp_path / f"{m}.nestml").write_text((paths.MODELS_DIR / f"{m}.nestml").read_text())
    (tmp_path / "module.yaml").write_text(PROJECT)
    return tmp_path


MANIFESTS = [
    # (what, manifest text or an edit of PROJECT, expected message)
    ("a second pairs: key", PROJECT + "pairs: []\n", "key 'pairs' appears twice: line 7 and line 10"),
    ("an empty suffix (NEST's own names)", PROJECT.replace("suffix: _nestml", 'suffix: ""'),
     "'suffix' must be one or more"),
    ("a suffix ending in a newline", PROJECT.replace("suffix: _nestml", 'suffix: "_nestml\\n"'),
     "'suffix' must be one or more"),
    ("a module name ending in a newline", PROJECT.replace("module: tiny_module", 'module: "tiny_module\\n"'),
     "'module' must be a C identifier"),
    ("shell metacharacters in the module name", PROJECT.replace("module: tiny_module", 'module: "x; rm -rf ~ #module"'),
     "'module' must be a C identifier"),
    ("an integer as a neuron", PROJECT.replace("neurons: [iaf_psc_exp_neuron]", "neurons: [42]"),
     "'neurons' must be a list of model names"),
    ("an integer as a synapse name", PROJECT.replace("  static_synapse: {weight", "  42: {weight"),
     "synapse name 42 must be a model name"),
    ("a mapping as a pair's neuron", PROJECT.replace("  - neuron: iaf_psc_exp_neuron", "  - neuron: {a: 1}"),
     "'neuron' must be a model name"),
    ("a list inside a pair's synapses", PROJECT.replace("synapses: [stdp_synapse]", "synapses: [[stdp_synapse]]"),
     "'synapses' must be a list of model names"),
    ("a number as weight variable", PROJECT.replace("static_synapse: {weight_variable: w}",
                                                    "static_synapse: {weight_variable: 3}"),
     "'weight_variable' of synapse 'static_synapse' must be a variable name"),
    ("a path as a model name", PROJECT.replace("neurons: [iaf_psc_exp_neuron]", "neurons: [../../etc/passwd]"),
     "is not an identifier"),
    ("a post port that is no name", PROJECT.replace("post_ports: [post_spikes]", 'post_ports: ["post spikes"]'),
     "is not a port name"),
    ("a list at the top level", "- module: tiny_module\n", "expected a mapping at the top level"),
]


@pytest.mark.parametrize("what,text,expected", MANIFESTS, ids=[m[0] for m in MANIFESTS])
def test_hostile_manifest_is_refused(project, what, text, expected):
    (project / "module.yaml").write_text(text)
    with pytest.raises(ManifestError) as err:
        load_manifest(project)
    assert expected in str(err.value)
    assert str(project / "module.yaml") in str(err.value)


def test_binary_manifest_names_the_file(project):
    (project / "module.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    with pytest.raises(ManifestError, match="not a text file"):
        load_manifest(project)


def _tree() -> dict:
    return {
        "kernel": {"resolution_ms": 0.1, "seed": 1, "threads": 1},
        "network": {
            "neuron_models": {"params": {"nest_model": "iaf_psc_exp"}, "exc": {"nest_params": {"I_e": 300.0}}},
            "synapse_models": {"static": {"params": {"nest_model": "static_synapse"},
                                          "nest_params": {"weight": 10.0}}},
            "populations": {"E": {"model": "exc", "n": 100}},
            "connections": [{"source": "E", "target": "E", "synapse": "static",
                             "rule": {"rule": "fixed_indegree", "indegree": 10}}],
            "recorders": [{"name": "spikes", "populations": ["E"]}],
        },
        "sessions": {"run": {"simulation_time_ms": 100.0}},
    }


def _set(path: str, value):
    """An edit of _tree(): set the value at a dotted path (list indices as numbers)."""
    def edit(d):
        keys = path.split(".")
        for k in keys[:-1]:
            d = d[int(k)] if isinstance(d, list) else d[k]
        d[keys[-1]] = value
    return edit


TREES = [
    ("a session name that climbs out of the run folder",
     lambda d: d.update(sessions={"../../../../tmp/x": {"simulation_time_ms": 10.0}}),
     "sessions.../../../../tmp/x: '../../../../tmp/x' is not a valid name"),
    ("a population name with a slash", lambda d: d["network"]["populations"].update({"a/b": {"model": "exc"}}),
     "'a/b' is not a valid name"),
    ("a billion neurons", _set("network.populations.E.n", 1.0e9), "this network needs about"),
    ("ten million inputs per neuron", _set("network.connections.0.rule.indegree", 10_000_000),
     "this network needs about"),
    ("a fractional size", _set("network.populations.E.n", 2.7), "network.populations.E.n: expected a whole number"),
    ("a size in words", _set("network.populations.E.n", "ten"), "network.populations.E.n: expected a whole number"),
    ("a size of true", _set("network.populations.E.n", True), "expected a whole number"),
    ("two recorders of one name",
     lambda d: d["network"]["recorders"].append({"name": "spikes", "populations": ["E"]}),
     "network.recorders[1].name: a second recorder named 'spikes'"),
    ("a NaN parameter", _set("network.neuron_models.exc.nest_params.I_e", float("nan")),
     "network.neuron_models.exc.nest_params.I_e: nan is not a finite number"),
    ("an infinite weight", _set("network.synapse_models.static.nest_params.weight", float("inf")),
     "not a finite number"),
    ("a negative duration", _set("sessions.run.simulation_time_ms", -5), "sessions.run.simulation_time_ms: expected a positive"),
    ("zero threads", _set("kernel.threads", 0), "kernel.threads: expected a whole number >= 1"),
    ("a seed in words", _set("kernel.seed", "x"), "kernel.seed: expected a whole number"),
    ("a target range outside the population",
     lambda d: d["network"]["connections"][0].update(target_range=[0, 5000]), "is not inside E (0 .. 100)"),
    ("a distribution without its std",
     _set("network.neuron_models.exc.nest_params.V_m", {"normal": {"mean": -65.0}}), "missing key(s) ['std']"),
    ("an unknown distribution", _set("network.neuron_models.exc.nest_params.V_m", {"gamma": {"k": 1}}),
     "unknown distribution 'gamma'"),
    ("record: yes as text", _set("sessions.run.record", "yes"), "sessions.run.record: expected true or false"),
    ("a rule given as text", _set("network.connections.0.rule", "fixed_indegree"), "expected a mapping such as"),
    ("a number as a model", _set("network.populations.E.model", 5), "network.populations.E.model: expected a model"),
    ("threads and virtual processes both",
     lambda d: d["kernel"].update(total_num_virtual_procs=2), "give threads (per process) or total_num_virtual_procs"),
]


@pytest.mark.parametrize("what,edit,expected", TREES, ids=[t[0] for t in TREES])
def test_hostile_tree_is_refused_with_its_path(what, edit, expected):
    data = copy.deepcopy(_tree())
    edit(data)
    with pytest.raises(networks.TreeError) as err:
        networks.parse(data, "hostile.yml")
    assert str(err.value).startswith("hostile.yml: ")
    assert expected in str(err.value)


def test_the_base_tree_is_valid():
    networks.parse(_tree(), "base.yml")


def test_tree_file_with_a_duplicate_key_or_binary_content(tmp_path):
    f = tmp_path / "dup.yml"
    f.write_text(yaml.safe_dump(_tree()) + "sessions: {other: {simulation_time_ms: 1.0}}\n")
    with pytest.raises(networks.TreeError, match=r"dup.yml: not valid YAML: key 'sessions' appears twice"):
        networks.read(f)
    f.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(networks.TreeError, match="not a text file"):
        networks.read(f)


def _cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nestml_lab", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or paths.REPO_ROOT, env=dict(os.environ, PYTHONWARNINGS="ignore"), timeout=300)


@pytest.mark.parametrize("args,expected", [
    (["run-tree", "/nonexistent/tree.yml", "--out", "/tmp/never"], "no such file"),
    (["module", "/nonexistent/project"], "manifest not found"),
    (["pd14", "--scale", "2"], "scale must be in (0, 1]"),
    (["stdp-window", "--syn-param", "lambda=nan"], "is not a finite number"),
    (["stdp-window", "--syn-param", "Wmax=0"], "Wmax must be positive"),
    (["stdp-window", "--syn-param", "Wmax"], "expected NAME=VALUE"),
    (["stdp-window", "--out", "/proc/self/results"], "cannot write there"),
], ids=["missing tree", "missing project", "PD14 scale above 1", "NaN lambda", "Wmax 0", "no value",
        "unwritable out"])
def test_cli_errors_are_one_line_and_exit_1(args, expected):
    out = _cli(*args)
    assert out.returncode == 1, out.stdout + out.stderr
    assert expected in out.stderr
    assert "Traceback" not in out.stderr


def test_run_tree_refuses_a_climbing_session_before_writing_anything(tmp_path):
    data = _tree()
    data["sessions"] = {"../escape": {"simulation_time_ms": 10.0}}
    f = tmp_path / "t.yml"
    f.write_text(yaml.safe_dump(data))
    out = _cli("run-tree", f, "--out", tmp_path / "run")
    assert out.returncode == 1 and "is not a valid name" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.yml"]


MODELS = [
    ("a binary file", b"\x7fELF\x02\x01\x01\x00\xff\xfe", "not a UTF-8 text file"),
    ("another model's name inside", "model some_other_neuron:\n    state:\n        x real = 0\n",
     ":1:0: the file iaf_psc_exp_neuron.nestml holds model 'some_other_neuron'"),
    ("no model at all", "# just a comment\n", "no 'model NAME:' line"),
    ("parentheses 3000 deep (NESTML's parser crashes)",
     "model iaf_psc_exp_neuron:\n    parameters:\n        x real = " + "(" * 3000 + "1" + ")" * 3000 + "\n",
     ":3:0: parentheses nested 3000 deep"),
]


@pytest.mark.parametrize("what,content,expected", MODELS, ids=[m[0] for m in MODELS])
def test_hostile_model_source_is_refused_before_nestml_runs(project, what, content, expected):
    from nestml_lab.codegen.errors import SourceError
    from nestml_lab.codegen.generate import generate

    src = project / "iaf_psc_exp_neuron.nestml"
    src.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(SourceError) as err:
        generate(load_manifest(project), project / "build" / "generated")
    assert str(err.value).startswith(f"[source] {src}")
    assert expected in str(err.value)
    assert not (project / "build").exists(), "nothing was generated"


def test_onreceive_on_a_continuous_port_is_refused(project):
    from nestml_lab.codegen.errors import SourceError
    from nestml_lab.codegen.generate import generate

    src = project / "stdp_synapse.nestml"
    text = src.read_text()
    assert "    input:\n" in text and "onReceive(post_spikes" in text
    text = text.replace("    input:\n", "    input:\n        V_post mV <- continuous\n", 1)
    text = text.replace("onReceive(post_spikes", "onReceive(V_post", 1)
    src.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "onReceive(V_post" in ln)
    with pytest.raises(SourceError, match=rf"stdp_synapse.nestml:{line}:0: onReceive\(V_post\): V_post is a "
                                          "continuous port"):
        generate(load_manifest(project), project / "build" / "generated")
