"""Mistakes that used to build (or fail late and namelessly) are refused before NESTML runs, naming the file, the
line and the offending name; `nestml-lab check` gives the same verdict; the last good module stays as it was.

The project is a small copy of the catalog: iaf_psc_exp_neuron carrying three STDP synapses (the pair whose
typo'd post port built silently), and static_synapse.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pytest

from nestml_lab import cmake, paths
from nestml_lab.codegen.check import check_project
from nestml_lab.codegen.errors import CodegenError
from nestml_lab.project import make_module

pytestmark = pytest.mark.nest

# The catalog's suffix: the good project's code is then the catalog's (built before, built_module), its units made
# without NESTML and compiled from the compiler cache; 54 s -> seconds from a fresh clone. Its module is only
# ever loaded in a child process, beside no catalog.
MANIFEST = """module: mistakes_module
suffix: _nestml
neurons:
  - iaf_psc_exp_neuron
synapses:
  static_synapse: {weight_variable: w}
  stdp_synapse: {weight_variable: w, post_ports: [post_spikes]}
  stdp_nn_symm_synapse: {weight_variable: w, post_ports: [post_spikes]}
  stdp_triplet_synapse: {weight_variable: w, post_ports: [post_spikes]}
pairs:
  - neuron: iaf_psc_exp_neuron
    synapses: [stdp_synapse, stdp_nn_symm_synapse, stdp_triplet_synapse]
"""
MODELS = ("iaf_psc_exp_neuron", "static_synapse", "stdp_synapse", "stdp_nn_symm_synapse", "stdp_triplet_synapse")
NEURON = "iaf_psc_exp_neuron.nestml"


def _manifest(old: str, new: str):
    def edit(project: Path) -> None:
        text = (project / "module.yaml").read_text()
        assert old in text, old
        (project / "module.yaml").write_text(text.replace(old, new, 1))
    return edit


def _model(name: str, old: str, new: str):
    def edit(project: Path) -> None:
        text = (project / name).read_text()
        assert old in text, old
        (project / name).write_text(text.replace(old, new, 1))
    return edit


def _both(*edits):
    def edit(project: Path) -> None:
        for e in edits:
            e(project)
    return edit


def _add_file(name: str, text: str):
    def edit(project: Path) -> None:
        (project / name).write_bytes(text.encode() if isinstance(text, str) else text)
    return edit


VOLTAGE = (paths.MODELS_DIR / "voltage_ltd_stdp_synapse.nestml").read_text()
DEEP = "model deep_neuron:\n    parameters:\n        x real = " + "(" * 50_000 + "1" + ")" * 50_000 + "\n"

#: (id, edit, file the error names, line it names (None: any), texts the error holds)
CASES = [
    ("typo'd post port, neuron with 3 synapses",
     _manifest("stdp_triplet_synapse: {weight_variable: w, post_ports: [post_spikes]}",
               "stdp_triplet_synapse: {weight_variable: w, post_ports: [post_spike]}"),
     "module.yaml", 9, ["'post_spike'", "did you mean post_spikes"]),
    ("typo'd post port, first synapse",
     _manifest("stdp_synapse: {weight_variable: w, post_ports: [post_spikes]}",
               "stdp_synapse: {weight_variable: w, post_ports: [post_spikes_]}"),
     "module.yaml", 7, ["'post_spikes_'", "did you mean post_spikes"]),
    ("the presynaptic port listed as post port",
     _manifest("stdp_nn_symm_synapse: {weight_variable: w, post_ports: [post_spikes]}",
               "stdp_nn_symm_synapse: {weight_variable: w, post_ports: [pre_spikes]}"),
     "module.yaml", 8, ["'pre_spikes'", "presynaptic port"]),
    ("a synapse with a post port, unlisted and unpaired",
     _both(_manifest("  stdp_synapse: {weight_variable: w, post_ports: [post_spikes]}\n", ""),
           _manifest("[stdp_synapse, stdp_nn_symm_synapse, stdp_triplet_synapse]",
                     "[stdp_nn_symm_synapse, stdp_triplet_synapse]"),
           _manifest("static_synapse: {weight_variable: w}",
                     "static_synapse: {weight_variable: w}\n  stdp_synapse: {weight_variable: w}")),
     "module.yaml", 7, ["stdp_synapse has 2 spike input ports", "post_spikes"]),
    ("weight_variable the synapse lacks",
     _manifest("stdp_synapse: {weight_variable: w,", "stdp_synapse: {weight_variable: weight,"),
     "module.yaml", 7, ["weight_variable 'weight'", "w"]),
    ("delay_variable the synapse lacks",
     _manifest("static_synapse: {weight_variable: w}", "static_synapse: {weight_variable: w, delay_variable: d}"),
     "module.yaml", 6, ["delay_variable 'd'"]),
    ("a synapse listed under neurons",
     _manifest("  - iaf_psc_exp_neuron\n", "  - iaf_psc_exp_neuron\n  - static_synapse\n"),
     "module.yaml", 3, ["static_synapse is listed under neurons", "a synapse"]),
    ("a neuron listed under synapses",
     _both(_add_file("iaf_psc_alpha_neuron.nestml", (paths.MODELS_DIR / "iaf_psc_alpha_neuron.nestml").read_text()),
           _manifest("static_synapse: {weight_variable: w}",
                     "static_synapse: {weight_variable: w}\n  iaf_psc_alpha_neuron: {weight_variable: V_m}")),
     "module.yaml", 7, ["iaf_psc_alpha_neuron is listed under synapses", "a neuron"]),
    ("a vt port the synapse lacks",
     _manifest("stdp_synapse: {weight_variable: w, post_ports: [post_spikes]}",
               "stdp_synapse: {weight_variable: w, post_ports: [post_spikes], vt_ports: [mod_spikes]}"),
     "module.yaml", 7, ["vt port 'mod_spikes'"]),
    ("a continuous port naming a neuron variable that does not exist",
     _both(_add_file("voltage_ltd_stdp_synapse.nestml", VOLTAGE),
           _manifest("static_synapse: {weight_variable: w}",
                     "static_synapse: {weight_variable: w}\n  voltage_ltd_stdp_synapse: {weight_variable: w, "
                     "post_ports: [post_spikes, {V_post: V_mm}], continuous_buffering: post_spike_based}"),
           _manifest("stdp_triplet_synapse]", "stdp_triplet_synapse, voltage_ltd_stdp_synapse]")),
     "module.yaml", 7, ["'V_mm' is no variable or inline expression of iaf_psc_exp_neuron", "did you mean V_m"]),
    ("a spike port written as a continuous post port",
     _manifest("stdp_synapse: {weight_variable: w, post_ports: [post_spikes]}",
               "stdp_synapse: {weight_variable: w, post_ports: [{post_spikes: V_m}]}"),
     "module.yaml", 7, ["continuous post port 'post_spikes'"]),
    ("an unknown synapse option (a typo of post_ports)",
     _manifest("stdp_synapse: {weight_variable: w, post_ports:", "stdp_synapse: {weight_variable: w, post_port:"),
     "module.yaml", 7, ["'post_port'"]),
    ("a duplicate key",
     _manifest("pairs:", "neurons: [iaf_psc_exp_neuron]\npairs:"),
     "module.yaml", 10, ["neurons"]),
    ("a model without its file",
     _manifest("  - iaf_psc_exp_neuron\n", "  - iaf_psc_exp_neuron\n  - lif_neuron\n"),
     "module.yaml", 5, ["'lif_neuron'", "no .nestml file"]),
    ("two models in one file",
     _model(NEURON, "model iaf_psc_exp_neuron:", "model other_neuron:\n    state:\n        x real = 0\n\n"
            "model iaf_psc_exp_neuron:"),
     NEURON, None, ["2 models", "other_neuron", "iaf_psc_exp_neuron"]),
    ("NaN as a parameter default",
     _model(NEURON, "C_m pF = 250 pF", "C_m pF = nan * 1 pF"), NEURON, None, ["C_m = nan", "finite"]),
    ("inf as a state variable's initial value",
     _model(NEURON, "V_m mV = E_L", "V_m mV = inf * 1 mV"), NEURON, None, ["V_m = inf", "finite"]),
    ("a NESTML 6 header",
     _model(NEURON, "model iaf_psc_exp_neuron:", "neuron iaf_psc_exp_neuron:"), NEURON, None,
     ["'neuron iaf_psc_exp_neuron:'", "nestml-lab upgrade"]),
    ("a file holding a model of another name",
     _model(NEURON, "model iaf_psc_exp_neuron:", "model iaf_psc_exp:"), NEURON, None,
     ["holds model 'iaf_psc_exp'", "iaf_psc_exp_neuron"]),
    ("onReceive on a continuous port",
     _model(NEURON, "    update:", "    onReceive(I_stim):\n        V_m += 1 mV\n\n    update:"), NEURON, None,
     ["onReceive(I_stim)", "continuous"]),
    ("50 000-deep parentheses",
     _model(NEURON, "C_m pF = 250 pF", "C_m pF = " + "(" * 50_000 + "250 pF" + ")" * 50_000), NEURON, None,
     ["nested 50000 deep"]),
    ("a file that is not text",
     _add_file(NEURON, b"\x89PNG\r\n\x1a\n\x00\x00binary"), NEURON, 0, ["not a UTF-8 text file"]),
    ("an undefined variable (NESTML's own reason, file and line)",
     _model(NEURON, "V_m' = -(V_m - E_L) / tau_m", "V_m' = -(V_m - E_Lx) / tau_m"), NEURON, None,
     ["E_Lx"]),
]


@pytest.fixture(scope="module")
def good(built_module, tmp_path_factory):
    """The small project, built once: its installed library is what every mistake must leave alone."""
    project = tmp_path_factory.mktemp("mistakes") / "project"
    project.mkdir()
    for m in MODELS:
        shutil.copy(paths.MODELS_DIR / f"{m}.nestml", project)
    (project / "module.yaml").write_text(MANIFEST)
    made = make_module(project, log=lambda line: None)
    return project, made.module.so_path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_a_mistake_is_refused_with_its_place_and_check_agrees(good, tmp_path, case):
    _, edit, file, line, texts = case
    base, so = good
    before = _sha(so)
    project = tmp_path / "project"
    shutil.copytree(base, project, symlinks=True, ignore=shutil.ignore_patterns("build"))
    (project / "build").symlink_to(base / "build")   # the same build folder: the installed module at stake
    edit(project)
    t0 = time.perf_counter()
    with pytest.raises(CodegenError) as err:
        make_module(project, log=lambda line: None)
    seconds = time.perf_counter() - t0
    message = str(err.value)
    place = rf"{file}:{line}\b" if line is not None else rf"{file}:\d+"
    import re

    assert re.search(place, message), message
    for text in texts:
        assert text in message, message
    if "NESTML's own reason" not in case[0]:
        assert seconds < 1.0, f"refused after {seconds:.1f} s: not before NESTML runs"
    # nestml-lab check: the same verdict, naming the same
    checked = check_project(project)
    assert not checked.ok
    report = "\n".join(checked.report())
    assert all(text in report for text in texts), report
    # the last good module is untouched and loadable
    assert _sha(so) == before
    cmake.check_loadable(so, "mistakes_module")


def test_check_and_module_agree_on_the_good_project(good):
    project, _ = good
    assert check_project(project).ok
