"""The corpus (tests/corpus/): models the team wrote, one feature or one generation of older NESTML each.

Fast tests (no build): every older file is refused at its lines before NESTML runs and, upgraded, passes
NESTML 9's checks; every model NESTML 9 cannot take is refused with its line and what to write instead.
Slow tests: the whole corpus (the older files upgraded in a copy) builds as one project, and every model
does in NEST what its source says.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from nestml_lab.codegen import precheck, upgrade
from nestml_lab.codegen.check import check_file, nestml_errors

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
#: the files written in NESTML 1-8 syntax (each is upgraded before the build)
OLDER = ["nestml2_jump_neuron", "nestml3_alias_neuron", "nestml5_lif_neuron", "nestml5_static_synapse",
         "nestml7_neuron", "nestml8_stdp_synapse"]
#: refused/<file>: (line, what the message must say)
REFUSED = {
    "redeclared_pi_neuron": (7, 'Predefined variable "pi" redeclared'),
    "prereceive_synapse": (12, "NESTML 9 writes 'onReceive(<presynaptic spike port>):'"),
    "computed_delay_synapse": (16, "cannot set a per-spike delay; set NEST's `delay` in syn_spec"),
    "unit_expression_port_neuron": (14, "every use must be rescaled by hand, e.g. 'x * 1 pA * 1 s'"),
    "continuous_onreceive_neuron": (14, "Read the port in update: instead"),
    "vector_ode_neuron": (6, "Integrate the elements in update:"),
    "vector_rhs_neuron": (9, "takes them for one variable"),
}


def _models() -> list[Path]:
    return sorted(CORPUS.glob("*.nestml"))


def test_the_corpus_has_its_table():
    """At least 25 models; the README's table names each file."""
    files = _models() + sorted((CORPUS / "refused").glob("*.nestml"))
    assert len(files) >= 25
    table = (CORPUS / "README.md").read_text()
    missing = [f.name for f in files if f"`{f.name}`" not in table]
    assert not missing, f"not in tests/corpus/README.md: {missing}"


@pytest.mark.parametrize("name", OLDER)
def test_older_syntax_is_refused_at_its_lines_before_nestml(name):
    """The check stage names each older construct at its line and the command that rewrites the file; NESTML,
    which would report them far away or crash, does not run on them.
    """
    path = CORPUS / f"{name}.nestml"
    result = check_file(path)
    assert not result.ok
    assert all(e.message.startswith(precheck.OLDER_SYNTAX) and e.line > 0 for e in result.errors), result.errors
    assert "nestml-lab upgrade" in result.errors[0].message
    assert not any("extraneous input" in e.message or "token recognition" in e.message for e in result.errors)
    lines = path.read_text().splitlines()
    for e in result.errors:    # each message stands at a line that holds what it names
        assert lines[e.line - 1].strip(), (e.line, e.message)


def test_upgraded_corpus_passes_nestml_9(tmp_path):
    """Every older file, upgraded, and every NESTML 9 file of the corpus: NESTML 9 finds no error."""
    files = []
    for src in _models():
        result = upgrade.upgrade_file(src)
        assert not result.findings, (src.name, result.findings)
        assert result.changed == (src.stem in OLDER), src.name
        dest = tmp_path / src.name
        dest.write_text(result.text)
        files.append(dest)
    assert nestml_errors(files) == []


def test_upgrade_reports_every_change_at_its_original_line():
    """The NESTML 5 neuron: each construct's rewrite is reported at its own line of the original file."""
    text = (CORPUS / "nestml5_lif_neuron.nestml").read_text()
    lines = text.splitlines()
    result = upgrade.upgrade_text(text, "nestml5_lif_neuron.nestml")
    by_line = {c.line: c for c in result.changes}

    def at(needle: str) -> int:
        return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(needle))

    assert "'shape' is 'kernel'" in by_line[at("shape K_exc")].what
    assert "inline NAME" in by_line[at("function I_syn")].what
    assert "'initial_values:' removed" in by_line[at("initial_values:")].what
    assert by_line[at("V_m mV = E_L")].after.strip() == "V_m mV = E_L"
    assert "'<- current' is '<- continuous'" in by_line[at("I_stim <- current")].what
    assert "two lines" in by_line[at("output: spike")].what
    assert "implicit start value (0)" in by_line[at("r integer")].what
    assert by_line[lines.index("  end") + 1].after is None      # an 'end' line goes
    # the layout-only lines make one line of the report, not one each
    report = result.report()
    assert sum("re-laid out" in r for r in report) == 1
    assert len([r for r in report if r.startswith("nestml5_lif_neuron.nestml:")]) < 20


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_models_nestml_9_cannot_take_are_refused_with_line_and_what_to_write(name):
    path = CORPUS / "refused" / f"{name}.nestml"
    line, says = REFUSED[name]
    result = check_file(path)
    assert not result.ok
    assert any(e.line == line and says in e.message for e in result.errors), [str(e) for e in result.errors]
    assert not any("Traceback" in str(e) for e in result.errors)


def test_a_file_named_unlike_its_model_checks_without_a_manifest():
    """`check my_rule.nestml` (holding hebbian_rule) says nothing of a manifest that does not exist."""
    result = check_file(CORPUS / "my_rule.nestml")
    assert result.ok, result.report()
    assert not any("manifest" in line for line in result.report())


def test_a_project_finds_models_by_their_headers(tmp_path):
    """A manifest names hebbian_rule; its file is my_rule.nestml."""
    from nestml_lab.codegen.manifest import load_manifest

    shutil.copy(CORPUS / "my_rule.nestml", tmp_path)
    shutil.copy(CORPUS / "post_neuron.nestml", tmp_path)
    (tmp_path / "module.yaml").write_text("module: t_module\nneurons: [post_neuron]\n"
                                          "synapses: {hebbian_rule: {weight_variable: w, post_ports: [post_spikes]}}\n"
                                          "pairs: [{neuron: post_neuron, synapses: [hebbian_rule]}]\n")
    manifest = load_manifest(tmp_path)
    assert manifest.source("hebbian_rule") == tmp_path / "my_rule.nestml"
    assert manifest.source("post_neuron") == tmp_path / "post_neuron.nestml"
    precheck.check_sources(manifest)   # no "holds model ..." complaint


# --- built and simulated --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def corpus_module(tmp_path_factory):
    """The corpus as one project in a copy, its older files upgraded in place first (as a user would)."""
    from nestml_lab.project import make_module

    folder = tmp_path_factory.mktemp("corpus")
    for src in _models():
        shutil.copy(src, folder)
    shutil.copy(CORPUS / "module.yaml", folder)
    for name in OLDER:
        upgrade.write(upgrade.upgrade_file(folder / f"{name}.nestml"), in_place=True)
    return make_module(folder, log=lambda line: None).module


@pytest.fixture
def kernel(corpus_module):
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    corpus_module.reset_kernel()
    return nest


def _run(nest, model, params=None, t=1000.0, inputs=(), record=("V_m",)):
    """Create ``model``, connect each input ``(generator params, syn_spec)``, simulate; (neuron, spikes, events)."""
    n = nest.Create(model, params=params or {})
    for gen, syn in inputs:
        nest.Connect(nest.Create("spike_generator", params=gen), n, syn_spec=syn)
    sr = nest.Create("spike_recorder")
    nest.Connect(n, sr)
    mm = None
    if record:
        mm = nest.Create("multimeter", params={"record_from": list(record), "interval": 0.1})
        nest.Connect(mm, n)
    nest.Simulate(t)
    return n, sr.events["times"], (mm.events if mm is not None else None)


@pytest.mark.slow
@pytest.mark.nest
def test_nestml5_lif_fires_at_the_analytic_rate_and_routes_negative_weights(kernel, corpus_module):
    """Upgraded NESTML 5 LIF (implicit r = 0, initial_values merged, <- current, qualifiers): with I_e = 400 pA
    the ISI is t_ref + tau_m ln(IR / (IR - 15 mV)) = 2 + 10 ln 16 = 29.7 ms; a negative weight reaches the
    inhibitory port, which pulls V_m down.
    """
    nest = kernel
    name = corpus_module.neuron("nestml5_lif_neuron")
    _, spikes, _ = _run(nest, name, {"I_e": 400.0}, record=())
    isi = 2.0 + 10.0 * np.log(16.0)
    assert abs(np.mean(np.diff(spikes)) - isi) < 0.2, np.diff(spikes)[:5]
    corpus_module.reset_kernel()
    _, _, ev = _run(nest, name, t=50.0, inputs=[({"spike_times": [10.0]}, {"weight": -500.0})])
    assert ev["V_m"].min() < -70.5 and ev["V_m"].max() <= -70.0 + 1e-9


@pytest.mark.slow
@pytest.mark.nest
def test_nestml2_and_3_neurons_keep_their_older_meaning(kernel, corpus_module):
    """A typed mV port read in update jumps V_m by the weight (mV); an assigned internal counts the spikes; a
    kernel that carried pA gives one 100 pA input the same response as its NESTML 9 reading.
    """
    nest = kernel
    _, spikes, ev = _run(nest, corpus_module.neuron("nestml2_jump_neuron"), t=30.0,
                         inputs=[({"spike_times": [5.0]}, {"weight": 0.5})])
    assert abs(ev["V_m"].max() - 0.5) < 0.01 and len(spikes) == 0
    corpus_module.reset_kernel()
    n, spikes, _ = _run(nest, corpus_module.neuron("nestml3_alias_neuron"), {"I_e": 500.0}, record=())
    assert len(spikes) > 10 and n.get("spike_count") == len(spikes)


@pytest.mark.slow
@pytest.mark.nest
def test_nestml9_feature_neurons_do_what_their_sources_say(kernel, corpus_module):
    nest = kernel
    m = corpus_module
    # no equations: every third input spike
    _, spikes, _ = _run(nest, m.neuron("counter_neuron"), t=100.0, record=(),
                        inputs=[({"spike_times": [float(t) for t in range(10, 100, 10)]}, {"weight": 1.0})])
    assert len(spikes) == 3
    # no output port: integrates, never spikes; its state is recordable
    m.reset_kernel()
    n, spikes, ev = _run(nest, m.neuron("sink_neuron"), t=100.0, record=("x",),
                         inputs=[({"spike_times": [10.0]}, {"weight": 2.0})])
    assert len(spikes) == 0 and 1.0 < ev["x"].max() <= 2.0 + 1e-9
    # vector port: receptors 1 and 2 excite, 3 inhibits
    name = m.neuron("vector_neuron")
    peaks = []
    for receptor in (1, 2, 3):
        m.reset_kernel()
        _, _, ev = _run(nest, name, t=40.0, inputs=[({"spike_times": [10.0]}, {"weight": 200.0,
                                                                               "receptor_type": receptor})])
        peaks.append(ev["V_m"].max() + 70.0 if receptor < 3 else ev["V_m"].min() + 70.0)
    assert peaks[0] > 0.1 and abs(peaks[0] - peaks[1]) < 1e-9 and peaks[2] < -0.1
    # stochastic: subthreshold drive, spikes from the noise, different seeds give different trains
    counts = []
    for seed in (1, 2):
        m.reset_kernel()
        nest.rng_seed = seed
        _, spikes, _ = _run(nest, m.neuron("noisy_neuron"), record=())
        counts.append(tuple(spikes))
    assert len(counts[0]) > 0 and counts[0] != counts[1]
    # integrate_odes lists and onCondition; user functions; a boolean state
    for model, params in (("two_comp_neuron", {}), ("functions_neuron", {}), ("post_neuron", {"I_e": 400.0}),
                          ("nestml7_neuron", {"I_e": 250.0})):
        m.reset_kernel()
        n, spikes, _ = _run(nest, m.neuron(model), params, record=())
        assert len(spikes) > 5, model
        if model == "two_comp_neuron":
            assert n.get("w") > 0
        if model == "functions_neuron":
            assert n.get("bursting") == (len(spikes) % 2 == 1)


@pytest.mark.slow
@pytest.mark.nest
def test_corpus_synapses_change_their_weights_as_written(kernel, corpus_module):
    nest = kernel
    m = corpus_module

    def weight_after(neuron, synapse, spikes, post_spikes=()):
        """The weight after ``spikes`` (presynaptic), the postsynaptic neuron made to fire at ``post_spikes``."""
        m.reset_kernel()
        post = nest.Create(neuron)
        pre = nest.Create("parrot_neuron")
        nest.Connect(nest.Create("spike_generator", params={"spike_times": spikes}), pre)
        if post_spikes:    # a 10 nA kick: the neuron fires within half a millisecond of each
            nest.Connect(nest.Create("spike_generator", params={"spike_times": list(post_spikes)}), post,
                         syn_spec={"weight": 10000.0, "delay": 0.1})
        nest.Connect(pre, post, syn_spec={"synapse_model": synapse, "weight": 1.0, "delay": 1.0})
        nest.Simulate(max(spikes) + 50.0)
        return nest.GetConnections(pre, post).get("w")

    times = [10.0, 30.0, 50.0]
    # a continuous port on an inline expression (V_rel = V_m - E_L, near 0: each 1 pA input moves V_m by
    # about 1e-3 mV): dw = eta (V_rel - 10 mV) per spike; were V_m read instead, dw would be eta (-80 mV)
    neuron, synapse = m.pair("post_neuron", "voltage_rule_synapse")
    assert weight_after(neuron, synapse, times) == pytest.approx(1.0 - 3 * 0.01, abs=1e-4)
    # a continuous port on a state variable (V_m near -70 mV, V_ref = -60 mV), on the upgraded NESTML 5 LIF
    neuron, synapse = m.pair("nestml5_lif_neuron", "voltage_state_synapse")
    assert weight_after(neuron, synapse, times) == pytest.approx(1.0 - 3 * 0.01, abs=1e-4)
    # an ODE on the weight: each spike adds 0.1, the weight relaxes to 1 between them
    w = weight_after(m.neuron("post_neuron"), m.synapse("decaying_weight_synapse"), [10.0, 11.0, 12.0])
    assert 1.0 < w < 1.3
    # pre 5 ms before post potentiates (and post 45 ms before the next pre depresses less), the upgraded NESTML 8
    # rule and a rule named unlike a synapse; post alone (no pairing) leaves the Hebbian rule's weight as it was
    pre = [float(t) for t in range(10, 500, 50)]
    for synapse_model in ("nestml8_stdp_synapse", "hebbian_rule"):
        neuron, synapse = m.pair("post_neuron", synapse_model)
        assert weight_after(neuron, synapse, pre, post_spikes=[t + 5.0 for t in pre]) > 1.1, synapse_model
    neuron, synapse = m.pair("post_neuron", "hebbian_rule")
    assert weight_after(neuron, synapse, [400.0], post_spikes=[t + 5.0 for t in pre[:6]]) == 1.0
    # the upgraded NESTML 5 static synapse delivers with NEST's delay
    m.reset_kernel()
    post = nest.Create(m.neuron("post_neuron"))
    nest.Connect(nest.Create("spike_generator", params={"spike_times": [10.0]}), post,
                 syn_spec={"synapse_model": m.synapse("nestml5_static_synapse"), "weight": 300.0, "delay": 3.0})
    mm = nest.Create("multimeter", params={"record_from": ["I_syn"], "interval": 0.1})
    nest.Connect(mm, post)
    nest.Simulate(20.0)
    onset = mm.events["times"][np.argmax(mm.events["I_syn"] > 0)]
    assert onset == pytest.approx(13.0, abs=0.01) and mm.events["I_syn"].max() == pytest.approx(300.0, rel=1e-3)


@pytest.mark.slow
@pytest.mark.nest
def test_third_factor_on_one_and_on_two_receptor_neurons(kernel, corpus_module):
    """The dopamine rule with a volume transmitter, on a one-receptor neuron and on receptor 1 of a two-receptor
    one: pre-post pairings with dopamine change the weight; without dopamine they do not.
    """
    nest = kernel
    m = corpus_module
    for neuron_model in ("post_neuron", "receptors_neuron"):
        results = []
        for dopamine in (True, False):
            m.reset_kernel()
            neuron, synapse = m.pair(neuron_model, "dopamine_rule_synapse")
            post = nest.Create(neuron, params={"I_e": 600.0})
            pre = nest.Create("parrot_neuron")
            nest.Connect(nest.Create("spike_generator", params={"spike_times": [float(t) for t in range(5, 400, 20)]}),
                         pre)
            vt = nest.Create("volume_transmitter")
            dopa = nest.Create("parrot_neuron")
            if dopamine:
                times = [float(t) for t in range(8, 400, 7)]
                nest.Connect(nest.Create("spike_generator", params={"spike_times": times}), dopa)
            nest.Connect(dopa, vt)
            nest.SetDefaults(synapse, {"volume_transmitter": vt})
            syn = {"synapse_model": synapse, "weight": 1.0, "delay": 1.0}
            if neuron_model == "receptors_neuron":
                syn["receptor_type"] = 1
            nest.Connect(pre, post, syn_spec=syn)
            nest.Simulate(450.0)
            results.append(nest.GetConnections(pre, post).get("w"))
        assert results[1] == 1.0, neuron_model          # no dopamine: no change
        assert abs(results[0] - 1.0) > 1e-6, neuron_model


@pytest.mark.slow
@pytest.mark.nest
def test_notebook_call_takes_a_file_named_otherwise_as_a_synapse_by_its_shape(tmp_path, monkeypatch):
    """generate_nest_target on weight_only.nestml (model relay_rule: no 'synapse' in its name) builds a synapse."""
    import nest

    from nestml_lab import generate_nest_target

    monkeypatch.setenv("NESTML_LAB_CACHE", str(tmp_path / "cache"))
    for name in ("weight_only.nestml", "counter_neuron.nestml"):
        shutil.copy(CORPUS / name, tmp_path)
    generate_nest_target([tmp_path / "weight_only.nestml", tmp_path / "counter_neuron.nestml"],
                         module_name="shape_module", suffix="_nb", logging_level="ERROR")
    nest.ResetKernel()
    nest.Install("shape_module")
    assert "relay_rule_nb" in nest.synapse_models and "relay_rule_nb" not in nest.node_models
    post = nest.Create("counter_neuron_nb")
    nest.Connect(nest.Create("spike_generator", params={"spike_times": [1.0, 2.0, 3.0]}), post,
                 syn_spec={"synapse_model": "relay_rule_nb", "weight": 1.0})
    sr = nest.Create("spike_recorder")
    nest.Connect(post, sr)
    nest.Simulate(10.0)
    assert sr.n_events == 1
    assert re.search(r"relay_rule_nb", " ".join(nest.synapse_models))


@pytest.mark.slow
@pytest.mark.nest
def test_speed_rewrites_on_multi_receptor_neurons_keep_nestml_results(tmp_path):
    """R1 (one input buffer) now applies to neurons with several spike receptors (receptor types from 1): the
    rewritten and NESTML's own code give bit-identical V_m under Poisson input, positive and negative weights,
    on every receptor (the qualifier neuron's too: NESTML routes a negative weight to its inhibitory port).
    """
    import nest

    from nestml_lab.project import make_module

    models = ["receptors_neuron", "vector_neuron", "nestml5_lif_neuron"]
    built = {}
    for label, rewrites in (("fast", "all"), ("plain", "none")):
        folder = tmp_path / label
        folder.mkdir()
        for name in models:
            shutil.copy(CORPUS / f"{name}.nestml", folder)
        upgrade.write(upgrade.upgrade_file(folder / "nestml5_lif_neuron.nestml"), in_place=True)
        (folder / "module.yaml").write_text(f"module: {label}_multi_module\nsuffix: _{label}\nrewrites: {rewrites}\n"
                                            f"neurons: [{', '.join(models)}]\n")
        built[label] = make_module(folder, log=lambda line: None).module
    for model in models:
        header = (built["fast"].project / "build" / "generated").rglob(f"{model}_fast.h")
        assert "nestml-lab R1" in next(header).read_text(), f"{model}: R1 did not apply"
    nest.ResetKernel()
    built["fast"].install()
    built["plain"].install()
    nest.rng_seed = 7
    receptors = {"receptors_neuron": [1, 2], "vector_neuron": [1, 2, 3], "nestml5_lif_neuron": [0]}
    traces = {}
    for model in models:
        pair = {label: nest.Create(built[label].neuron(model), params={"I_e": 200.0}) for label in ("fast", "plain")}
        for receptor in receptors[model]:
            for weight in (150.0, -90.0):
                parrot = nest.Create("parrot_neuron")   # one train, repeated to both neurons
                nest.Connect(nest.Create("poisson_generator", params={"rate": 400.0}), parrot)
                for n in pair.values():
                    nest.Connect(parrot, n, syn_spec={"weight": weight, "receptor_type": receptor})
        for label, n in pair.items():
            mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 0.1})
            nest.Connect(mm, n)
            traces[(model, label)] = mm
    nest.Simulate(300.0)
    for model in models:
        fast, plain = (traces[(model, label)].events["V_m"] for label in ("fast", "plain"))
        assert np.ptp(plain) > 1.0, f"{model}: V_m barely moved; nothing was compared"
        np.testing.assert_array_equal(fast, plain, err_msg=model)
