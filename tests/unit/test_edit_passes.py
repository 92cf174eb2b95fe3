"""Every pass of the edit table (nestml_lab/codegen/edits) on NESTML 9.0.0's committed output
(tests/fixtures/nestml9_raw): it applies where it should, and where NESTML's code is not what it expects a fix
or a solver stops the build naming itself, a speed rewrite keeps NESTML's code and says why. No NESTML, NEST or
compiler: a unit's models as a build hands them to the passes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nestml_lab import paths
from nestml_lab.codegen import edits, generate
from nestml_lab.codegen.edits import fixes
from nestml_lab.codegen.errors import CodegenError
from nestml_lab.codegen.manifest import load_manifest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nestml9_raw"
TRIPLE = "pair-iaf_psc_exp_neuron-stdp_synapse-stdp_nn_symm_synapse-stdp_triplet_synapse"
TRIPLE_NEURON = ("iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml_and_stdp_nn_symm_synapse_nestml"
                 "_and_stdp_triplet_synapse_nestml")
VT = "pair-iaf_psc_exp_neuron-neuromodulated_stdp_synapse"
IZH = "pair-izhikevich_neuron-stdp_synapse"
IZH_NEURON = "izhikevich_neuron_nestml__with_stdp_synapse_nestml"
AEIF = "neuron-aeif_cond_exp_neuron"

#: the test of each pass below; a pass without one fails test_every_pass_has_an_offline_test
TESTED = {"history_entry", "post_trace_euler", "unused_tau_minus", "gap_junctions", "input_buffer", "trace_lookup",
          "post_values", "zero_terms", "moved_parameters", "wrong_neuron", "volume_transmitter", "synapse_layout",
          "no_history", "no_last_spike", "lazy_traces", "non_finite", "fixed_step", "no_math_errno", "direct_calls",
          "defaults_unit"}


def unit(uid: str, solver: str = "rk45", rewrites=edits.REWRITES, damage=None, folder: str | None = None):
    """The models of a catalog unit over a copy of its committed NESTML output (``folder``: another fixture of
    it, e.g. generated with forward Euler), as a build gives them to the passes; ``damage(name, text)`` edits
    a file first."""
    manifest = dataclasses.replace(load_manifest(paths.MODELS_DIR), solvers={}, rewrites=tuple(rewrites))
    planned = {u.uid: u for u in generate.plan_units(manifest, "3.10.0")}
    if uid == AEIF:   # not a unit of the catalog (there it is paired only): a neuron of its own
        the_unit = generate.Unit(AEIF, "neuron aeif_cond_exp_neuron", ("aeif_cond_exp_neuron",), {},
                                 neurons=["aeif_cond_exp_neuron_nestml"])
    else:
        the_unit = planned[uid]
    the_unit = dataclasses.replace(the_unit, solver=solver)
    texts = {f.name: f.read_text() for f in (FIXTURES / (folder or uid)).iterdir() if f.suffix in (".h", ".cpp")}
    wanted = set(the_unit.neurons) | set(the_unit.synapses)
    texts = {name: text for name, text in texts.items() if name.rsplit(".", 1)[0] in wanted}
    if damage:
        texts = {name: damage(name, text) for name, text in texts.items()}
    return generate.unit_models(the_unit, manifest, texts)


def edited(models, **kw) -> tuple[dict, dict]:
    """The unit's texts after the passes, and each model's speed-rewrite outcomes by rewrite name."""
    outcomes = edits.edit_unit(models, **kw)
    return models[0].texts, {m: {o.rewrite: o for o in outs} for m, outs in outcomes.items()}


def replace(old: str, new: str, only: str = ""):
    """A damage: ``old`` replaced by ``new`` in the files whose name contains ``only``."""
    return lambda name, text: text.replace(old, new) if only in name else text


def refused(pass_name: str, models, **kw) -> str:
    with pytest.raises(CodegenError, match=rf"the (fix|solver) {pass_name} \(") as exc:
        edits.edit_unit(models, **kw)
    return str(exc.value)


def test_every_pass_has_an_offline_test():
    assert {p.name for p in edits.PASSES} == TESTED
    assert len({p.name for p in edits.PASSES}) == len(edits.PASSES)


def test_the_table_is_the_registry_the_manifest_reads():
    assert edits.REWRITES == ("input_buffer", "trace_lookup", "synapse_layout", "no_math_errno", "direct_calls",
                              "zero_terms", "no_history", "no_last_spike", "lazy_traces", "post_values",
                              "defaults_unit")
    assert edits.compile_flags(edits.REWRITES) == {"no_math_errno": "-fno-math-errno",
                                                   "direct_calls": "-fno-semantic-interposition"}
    assert edits.compile_flags(("input_buffer",)) == {}
    from nestml_lab.codegen import manifest

    assert manifest.SOLVERS is edits.SOLVERS
    assert {name: s.nestml for name, s in edits.SOLVERS.items()} == {
        "rk45": "rk45", "forward-Euler": "forward-Euler", "semi-implicit-Euler": "forward-Euler",
        "rk4": "forward-Euler", "exponential-Euler": "forward-Euler"}


# --------------------------------------------------------------------------- fixes

def test_history_entry():
    texts, _ = edited(unit(TRIPLE))
    assert fixes.PRUNE_PATCHED in texts[f"{TRIPLE_NEURON}.cpp"]
    message = refused("history_entry", unit(TRIPLE, damage=replace(fixes.PRUNE_CONDITION, "if ( false")))
    assert TRIPLE_NEURON in message and "NESTML 9.0.0" in message


def test_unused_tau_minus():
    texts, _ = edited(unit(TRIPLE))
    header = texts[f"{TRIPLE_NEURON}.h"]
    assert "tau_minus is NEST's archiving-node parameter" in header
    assert "stdp_triplet_synapse: tau_minus__for_stdp_triplet_synapse_nestml" in header
    refused("unused_tau_minus", unit(TRIPLE, damage=replace("  ArchivingNode::set_status(__d);\n", "", TRIPLE_NEURON)))


def test_gap_junctions():
    uid = "neuron-hh_psc_alpha_gap_neuron"
    texts, _ = edited(unit(uid))
    assert "set_node_uses_wfr(" in texts["hh_psc_alpha_gap_neuron_nestml.cpp"]
    refused("gap_junctions", unit(uid, damage=replace("gap_junction_step = B_.__step;", "gap_junction_step = 1;")))


def test_moved_parameters():
    texts, _ = edited(unit(TRIPLE))
    synapse = next(t for n, t in texts.items() if n.startswith("stdp_synapse_nestml__with"))
    assert ('throw nest::BadProperty( "tau_tr_post of synapse stdp_synapse_nestml__with_iaf_psc_exp_neuron_nestml'
            in synapse)


def test_wrong_neuron():
    texts, _ = edited(unit(TRIPLE))
    synapses = [t for n, t in texts.items() if "_synapse_nestml__with" in n and n.endswith(".h")]
    assert len(synapses) == 3 and all("throw nest::IllegalConnection(" in t and "exit(1);" not in t for t in synapses)
    refused("wrong_neuron", unit(TRIPLE, damage=replace("exit(1);", "abort();", "synapse_nestml__with")))


def test_volume_transmitter():
    texts, _ = edited(unit(VT))
    synapse = next(t for n, t in texts.items() if n.startswith("neuromodulated_stdp_synapse"))
    assert "d[ names::volume_transmitter ] = NodeCollection::create(" in synapse
    edited(unit(TRIPLE))   # synapses without a vt port: not tried
    refused("volume_transmitter", unit(VT, damage=replace("        CommonSynapseProperties::get_status( d );\n",
                                                          "", "neuromodulated")))


def test_non_finite():
    texts, _ = edited(unit("synapse-static_synapse"))
    assert "nestml_lab_require_finite(tmp_w, get_weight(), \"w\");" in texts["static_synapse_nestml.h"]
    refused("non_finite", unit("synapse-static_synapse", damage=replace("__d.update_value(", "__d.update_value( ")))


def test_post_trace_euler():
    folder = IZH + ".forward-Euler"
    raw = (FIXTURES / folder / f"{IZH_NEURON}.cpp").read_text()
    texts, _ = edited(unit(IZH, "forward-Euler", folder=folder))
    assert "Euler step of post_trace__for_stdp_synapse_nestml dropped here" in texts[f"{IZH_NEURON}.cpp"]
    assert "dropped here" not in raw
    # GSL integrates the traces: nothing to drop
    texts, _ = edited(unit(IZH))
    assert "dropped here" not in texts[f"{IZH_NEURON}.cpp"]
    refused("post_trace_euler", unit(IZH, "forward-Euler", folder=folder,
                                     damage=replace("// numeric solver: integrating state variables:",
                                                    "// integrating:", IZH_NEURON)))


# --------------------------------------------------------------------------- solvers

@pytest.mark.parametrize("solver, says", [("semi-implicit-Euler", "// nestml-lab: semi-implicit Euler"),
                                          ("rk4", "// nestml-lab: classical fourth-order Runge-Kutta")])
def test_fixed_step(solver, says):
    folder = IZH + ".forward-Euler"
    texts, _ = edited(unit(IZH, solver, folder=folder))
    assert says in texts[f"{IZH_NEURON}.cpp"] and says in texts["izhikevich_neuron_nestml.cpp"]
    # NESTML's own solvers are NESTML's code
    texts, _ = edited(unit(IZH, "forward-Euler", folder=folder))
    assert "// nestml-lab: " not in texts["izhikevich_neuron_nestml.cpp"]
    message = refused("fixed_step", unit(IZH, solver, folder=folder,
                                         damage=replace("S_.ode_state[i] += __timestep * f[i];",
                                                        "S_.ode_state[i] += f[i] * __timestep;",
                                                        "izhikevich_neuron_nestml.cpp")))
    assert f"the forward-Euler step ({solver})" in message


def test_fixed_step_exponential_euler_and_its_refusal():
    texts, _ = edited(unit(AEIF, "exponential-Euler", folder=AEIF + ".forward-Euler"))
    assert "exponential Euler" in texts["aeif_cond_exp_neuron_nestml.cpp"]
    with pytest.raises(CodegenError, match=r"izhikevich_neuron with stdp_synapse: solvers: exponential-Euler: dV_m/dt "
                                           r"is not linear in V_m"):
        edits.edit_unit(unit(IZH, "exponential-Euler", folder=IZH + ".forward-Euler"))


# --------------------------------------------------------------------------- speed rewrites

def test_input_buffer_and_zero_terms():
    _, outs = edited(unit(TRIPLE))
    plain = outs["iaf_psc_exp_neuron_nestml"]
    assert plain["input_buffer"].applied and plain["zero_terms"].applied
    # NESTML's code not as expected: kept, and said
    models = unit(TRIPLE, damage=replace("get_spike_inputs_()[i].get_value(lag)", "get_spike_inputs_()[i].get_value(lag + 0)"))
    texts, outs = edited(models)
    assert not outs["iaf_psc_exp_neuron_nestml"]["input_buffer"].applied
    assert "NESTML's code kept" in outs["iaf_psc_exp_neuron_nestml"]["input_buffer"].detail
    assert "MultiChannelInputBuffer" not in texts["iaf_psc_exp_neuron_nestml.h"]


def test_trace_lookup_and_post_values():
    _, outs = edited(unit(TRIPLE))
    neuron = outs[TRIPLE_NEURON]
    assert neuron["trace_lookup"].applied and "pure lookup" in neuron["trace_lookup"].detail
    assert neuron["post_values"].applied
    _, outs = edited(unit(IZH))   # a GSL neuron: its lookup drives its integrator
    assert "propagators only" in outs[IZH_NEURON]["trace_lookup"].detail
    # R10 rests on R2's pure lookup
    _, outs = edited(unit(TRIPLE, rewrites=("post_values",)))
    assert not outs[TRIPLE_NEURON]["post_values"].applied
    assert "no pure lookup (R2)" in outs[TRIPLE_NEURON]["post_values"].detail


def test_synapse_layout_no_history_no_last_spike():
    texts, outs = edited(unit("synapse-static_synapse"))
    assert all(o.applied for o in outs["static_synapse_nestml"].values())
    assert set(outs["static_synapse_nestml"]) == {"synapse_layout", "no_history", "no_last_spike", "defaults_unit"}
    assert "register_stdp_connection" not in texts["static_synapse_nestml.h"]
    # a co-generated synapse reads its target: R7 and R8 are not tried
    _, outs = edited(unit(TRIPLE))
    assert all(set(o) <= {"synapse_layout", "lazy_traces", "defaults_unit"} for m, o in outs.items() if "synapse_nestml__with" in m)
    # a real internal keeps the synapse's layout, and then R9 has no local propagators
    _, outs = edited(unit(VT))
    synapse = next(o for m, o in outs.items() if m.startswith("neuromodulated"))
    assert not synapse["synapse_layout"].applied and "tau_s" in synapse["synapse_layout"].detail
    assert "R3 not applied" in synapse["lazy_traces"].detail


def test_lazy_traces():
    _, outs = edited(unit(TRIPLE))
    triplet = next(o for m, o in outs.items() if m.startswith("stdp_triplet_synapse"))
    assert triplet["lazy_traces"].applied and triplet["lazy_traces"].detail.startswith("tr_r2 advanced once")


def test_defaults_unit():
    """R11: the literal defaults leave the neuron's file for a file of numbers; an edited default changes only it."""
    plain = "iaf_psc_exp_neuron_nestml"
    texts, outs = edited(unit(TRIPLE))
    assert outs[plain]["defaults_unit"].applied and "V_th" in outs[plain]["defaults_unit"].detail
    table = texts[f"{plain}_defaults.cpp"]
    assert "extern const double nestml_lab_defaults_iaf_psc_exp_neuron_nestml[] = {" in table
    assert "#include \"" not in table   # no NEST header: milliseconds to compile
    cpp = texts[f"{plain}.cpp"]
    assert "P_.V_th = nestml_lab_defaults_iaf_psc_exp_neuron_nestml[" in cpp
    assert ("extern const double nestml_lab_defaults_iaf_psc_exp_neuron_nestml[];\n\nvoid "
            "iaf_psc_exp_neuron_nestml::init_state_internal_()") in cpp   # declared before the definition's line
    assert "S_.V_m = P_.E_L;" in cpp and "S_.r_ref = 0;" in cpp   # another variable, an integer: stay
    # a default edited in the model: the neuron's file is the same text, its table is not
    raw = (FIXTURES / TRIPLE / f"{plain}.cpp").read_text()
    old = next(line for line in raw.splitlines() if line.startswith("  P_.V_th = ") and "// as mV" in line)
    edited_texts, _ = edited(unit(TRIPLE, damage=replace(old, "  P_.V_th = (-50.); // as mV", plain + ".cpp")))
    assert edited_texts[f"{plain}.cpp"] == cpp and edited_texts[f"{plain}_defaults.cpp"] != table
    assert "  (-50.),   // V_th\n" in edited_texts[f"{plain}_defaults.cpp"]
    # NESTML's blocks not found: NESTML's code kept, no table
    texts, outs = edited(unit(TRIPLE, damage=replace("  // initial values for parameters\n", "", plain + ".cpp")))
    assert not outs[plain]["defaults_unit"].applied and f"{plain}_defaults.cpp" not in texts


def test_defaults_unit_of_a_synapse():
    """R11 on a synapse: its constructor's literal defaults leave its header (which its 9 s unit includes) for a
    table in the synapse's namespace (nest::<synapse>, as NESTML's class), declared before the constructor; NEST's weight (set_weight) stays as NESTML wrote it."""
    syn = "tsodyks_synapse_nestml"
    texts, outs = edited(unit("synapse-tsodyks_synapse"))
    assert outs[syn]["defaults_unit"].applied and "tau_psc" in outs[syn]["defaults_unit"].detail
    table = texts[f"{syn}_defaults.cpp"]
    assert f"namespace nest\n{{\nnamespace {syn}\n{{\nextern const double nestml_lab_defaults_{syn}[] = {{" in table
    assert "  3.,   // tau_psc\n" in table and "#include \"" not in table
    header = texts[f"{syn}.h"]
    assert f"P_.tau_psc = nestml_lab_defaults_{syn}[" in header and "P_.tau_psc = 3.;" not in header
    assert (f"extern const double nestml_lab_defaults_{syn}[];\n\ntemplate < typename targetidentifierT >\n"
            f"{syn}< targetidentifierT >::{syn}() : ConnectionBase()") in header
    assert "set_weight(1);" in header
    # a default edited: the header is the same text, the table is not
    edited_texts, _ = edited(unit("synapse-tsodyks_synapse", damage=replace("P_.tau_psc = 3.;", "P_.tau_psc = 5.;")))
    assert edited_texts[f"{syn}.h"] == header and "  5.,   // tau_psc\n" in edited_texts[f"{syn}_defaults.cpp"]
    # every synapse of the catalog's triple pair takes it
    _, outs = edited(unit(TRIPLE))
    assert all(o["defaults_unit"].applied for m, o in outs.items() if "synapse_nestml__with" in m.split("__with_")[0]
               or m.startswith("stdp")), outs


def test_speed_rewrites_off_leave_nestmls_code():
    models = unit(TRIPLE, rewrites=())
    raw = dict(models[0].texts)
    texts, outs = edited(models, kinds=(edits.SPEED,))
    assert texts == raw and not any(outs.values())


def test_flag_rewrites_edit_no_code():
    assert all(p.run is None and p.flag.startswith("-f") for p in edits.PASSES if p.kind == edits.FLAG)
    assert {p.name for p in edits.PASSES if p.kind == edits.FLAG} == {"no_math_errno", "direct_calls"}


def test_the_pipeline_page_lists_the_passes_in_their_order():
    """docs/pipeline.md's table of passes is the table's order (the docs say what the code does)."""
    import re

    page = (Path(__file__).resolve().parents[2] / "docs" / "pipeline.md").read_text()
    rows = re.findall(r"^\| (\d+) \| `(\w+)`", page, re.M)
    running = [p.name for p in edits.PASSES if p.run is not None]
    assert [name for _, name in rows] == running
    assert [int(n) for n, _ in rows] == list(range(1, len(running) + 1))
