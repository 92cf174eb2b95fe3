"""Each rewrite checks its preconditions on NESTML's code and keeps NESTML's code where they fail.

These work on NESTML 9.0.0's committed output for the catalog (``tests/fixtures/nestml9_raw``), edited the
way another model could make it look: no NESTML, NEST or compiler.
"""

from __future__ import annotations

from pathlib import Path

from nestml_lab.codegen import edits
from nestml_lab.codegen.edits import traces

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nestml9_raw"
PAIR = "pair-iaf_psc_exp_neuron-stdp_synapse-stdp_nn_symm_synapse-stdp_triplet_synapse"
PAIRED = ("iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml_and_stdp_nn_symm_synapse_nestml"
          "_and_stdp_triplet_synapse_nestml")
ALL = edits.REWRITES


def _raw(name: str) -> tuple[str, str]:
    folder = FIXTURES / PAIR
    return (folder / f"{name}.cpp").read_text(), (folder / f"{name}.h").read_text()


def _pair_synapses() -> dict:
    return {f.stem: f.read_text() for f in (FIXTURES / PAIR).glob("*__with_iaf_psc_exp_neuron_nestml__with_*.h")}


def rewrite_neuron(cpp: str, h: str, cls: str, enabled, paired: bool):
    """The speed rewrites ``enabled`` on one neuron (a paired one with its pair's synapses beside it)."""
    texts = {f"{cls}.cpp": cpp, f"{cls}.h": h}
    synapses = {}
    if paired:
        for name, text in _pair_synapses().items():
            texts[f"{name}.h"] = text
            synapses[name] = edits.SynapseFacts(name.split("_nestml__with")[0], name.split("__with")[0])
    facts = edits.UnitFacts("test", paired=cls if paired else None, synapses=synapses, rewrites=tuple(enabled))
    model = edits.Model(cls, "neuron", facts, texts)
    outs = edits.speed_rewrites(model)
    return model.cpp, model.header, outs


def rewrite_synapse(h: str, cls: str, enabled, paired: bool = False):
    """The speed rewrites ``enabled`` on one synapse (a paired one with the pair's neuron beside it)."""
    texts = {f"{cls}.h": h}
    if paired:
        texts[f"{PAIRED}.h"] = _raw(PAIRED)[1]
    facts = edits.UnitFacts("test", paired=PAIRED if paired else None, rewrites=tuple(enabled),
                            synapses={cls: edits.SynapseFacts(cls.split("_nestml")[0], cls.split("__with")[0])})
    model = edits.Model(cls, "synapse", facts, texts)
    outs = edits.speed_rewrites(model)
    return model.header, outs


def _by_rewrite(outcomes):
    return {o.rewrite: o for o in outcomes}


def test_accumulate_only_ports_lose_their_received_flags():
    cpp, h = _raw("iaf_psc_exp_neuron_nestml")
    new_cpp, new_h, outs = rewrite_neuron(cpp, h, "iaf_psc_exp_neuron_nestml", ALL, paired=False)
    o = _by_rewrite(outs)["input_buffer"]
    assert o.applied and "no 'received' flags" in o.detail
    assert "spike_input_received_" not in new_cpp + new_h
    assert "nest::MultiChannelInputBuffer< INPUT_CHANNELS > input_buffer_;" in new_h


def test_accumulate_only_blocks_run_every_step_without_a_branch():
    cpp, h = _raw("iaf_psc_exp_neuron_nestml")
    new_cpp, _, _ = rewrite_neuron(cpp, h, "iaf_psc_exp_neuron_nestml", ALL, paired=False)
    update = new_cpp.split("::update(", 1)[1].split("\n}\n", 1)[0]
    # number factors: the block adds exactly +0 on a step without input, so it runs unguarded
    assert "if (B_.spike_inputs_grid_sum_[" not in update
    assert update.count("accumulate-only block, every step") == 2
    anchor = "  S_.I_syn_ex += (0.001 * B_.spike_inputs_grid_sum_[EXC_SPIKES - MIN_SPIKE_RECEPTOR]) * 1. * 1000.;\n"
    assert anchor in new_cpp
    # a parameter factor could be infinite (inf * 0 = NaN): every step only when the sum is 0 at input 0
    cpp = cpp.replace(anchor, anchor.replace("* 1. *", "* P_.C_m *"))
    new_cpp, _, outs = rewrite_neuron(cpp, h, "iaf_psc_exp_neuron_nestml", ALL, paired=False)
    assert _by_rewrite(outs)["input_buffer"].applied
    update = new_cpp.split("::update(", 1)[1].split("\n}\n", 1)[0]
    assert "  const bool __every_step_exc_spikes = ((0.001 * 0.) * P_.C_m * 1000.) == 0.;\n" in update
    # not `flag || port != 0.`: GCC tests the port first there, a branch mispredicted on about every other step
    assert ("    if ((__every_step_exc_spikes ? 1. : B_.spike_inputs_grid_sum_[EXC_SPIKES - MIN_SPIKE_RECEPTOR]) != 0.)"
            in update)
    assert "__every_step_inh_spikes" not in update   # number factors only: unguarded


def test_a_block_that_does_more_than_accumulate_keeps_its_flag():
    cpp, h = _raw("iaf_psc_exp_neuron_nestml")
    anchor = "  S_.I_syn_ex += (0.001 * B_.spike_inputs_grid_sum_[EXC_SPIKES - MIN_SPIKE_RECEPTOR]) * 1. * 1000.;\n"
    assert anchor in cpp
    cpp = cpp.replace(anchor, anchor + "  S_.r_ref = 0;\n")   # runs on every received spike, even of weight 0
    new_cpp, _, outs = rewrite_neuron(cpp, h, "iaf_psc_exp_neuron_nestml", ALL, paired=False)
    o = _by_rewrite(outs)["input_buffer"]
    assert o.applied and "flags kept" in o.detail and "exc_spikes" in o.detail
    assert "INPUT_FLAG_CHANNEL_0 + nestml_buffer_idx" in new_cpp
    assert "if (B_.spike_input_received_grid_sum_[EXC_SPIKES - MIN_SPIKE_RECEPTOR])" in new_cpp


def test_unknown_buffer_code_is_left_as_nestml_wrote_it():
    cpp, h = _raw("iaf_psc_exp_neuron_nestml")
    cpp = cpp.replace("get_spike_inputs_()[i].get_value(lag)", "get_spike_inputs_()[i].get_value(lag + 0)")
    new_cpp, new_h, outs = rewrite_neuron(cpp, h, "iaf_psc_exp_neuron_nestml", ("input_buffer",), paired=False)
    o = _by_rewrite(outs)["input_buffer"]
    assert not o.applied and "NESTML's code kept" in o.detail
    assert (new_cpp, new_h) == (cpp, h)


def test_the_terms_of_parameters_and_inputs_are_added_only_when_not_zero():
    cpp, h = _raw("iaf_psc_exp_neuron_nestml")
    new_cpp, _, outs = rewrite_neuron(cpp, h, "iaf_psc_exp_neuron_nestml", ("zero_terms",), paired=False)
    o = _by_rewrite(outs)["zero_terms"]
    assert o.applied and "V_m (4 of 9 terms)" in o.detail
    update = new_cpp.split("::update(", 1)[1].split("\n}\n", 1)[0]
    # NESTML's sum, split after the last term that reads the state: the head, then I_e's terms, then I_stim's
    assert ("const double V_m__head = (-P_.E_L) * V_.__P__V_m__V_m + P_.E_L + S_.I_syn_ex * V_.__P__V_m__I_syn_ex + "
            "S_.I_syn_in * V_.__P__V_m__I_syn_in + S_.V_m * V_.__P__V_m__V_m;") in update
    assert ("const double V_m__params = __zero_params_0 ? V_m__head : V_m__head - P_.I_e * V_.__P__V_m__V_m * "
            "P_.tau_m / P_.C_m + P_.I_e * P_.tau_m / P_.C_m;") in update
    assert "__zero_inputs_0 && B_.continuous_inputs_grid_sum_[I_STIM] == 0. ? V_m__params : V_m__params - " in update
    # the flags are NESTML's terms evaluated once per update(), the inputs at 0 (an infinite factor gives NaN)
    assert "const bool __zero_inputs_0 = (0. * V_.__P__V_m__V_m * P_.tau_m / P_.C_m) == 0. && " in update
    # a model whose update() writes a parameter keeps NESTML's sum
    anchor = "    if (S_.V_m >= P_.V_th)\n"
    edited = cpp.replace(anchor, "    P_.I_e = 0.;\n" + anchor)
    _, _, outs = rewrite_neuron(edited, h, "iaf_psc_exp_neuron_nestml", ("zero_terms",), paired=False)
    assert not _by_rewrite(outs)["zero_terms"].applied


def test_a_trace_the_dynamics_read_keeps_nestmls_lookup():
    cpp, h = _raw(PAIRED)
    anchor = "    if (S_.V_m >= P_.V_th)\n"
    assert cpp.count(anchor) == 1
    cpp = cpp.replace(anchor, "    S_.V_m += 0. * S_.post_trace__for_stdp_synapse_nestml;\n" + anchor)
    new_cpp, _, outs = rewrite_neuron(cpp, h, PAIRED, ALL, paired=True)
    o = _by_rewrite(outs)["trace_lookup"]
    assert o.applied
    assert "propagators only for post_trace__for_stdp_synapse_nestml (the neuron's dynamics read" in o.detail
    assert "pure lookup for post_trace__for_stdp_nn_symm_synapse_nestml" in o.detail


def _raw_synapse(name: str) -> str:
    return (FIXTURES / f"synapse-{name}" / f"{name}_nestml.h").read_text()


def test_a_synapse_without_dynamics_keeps_no_last_spike_and_no_registration():
    new, outs = rewrite_synapse(_raw_synapse("static_synapse"), "static_synapse_nestml", ALL)
    assert all(o.applied for o in outs), outs
    assert "t_lastspike_" not in new and "register_stdp_connection" not in new
    assert "[[no_unique_address]] State_ S_;" in new   # no state: no room taken


def test_a_synapse_whose_update_does_something_keeps_its_last_spike():
    h = _raw_synapse("static_synapse")
    anchor = "    /**\n     * End NESTML generated code for the update block\n"
    assert h.count(anchor) == 1
    h = h.replace(anchor, "    P_.w *= 1.;\n" + anchor)
    new, outs = rewrite_synapse(h, "static_synapse_nestml", ("no_history", "no_last_spike"))
    o = _by_rewrite(outs)
    assert o["no_history"].applied and not o["no_last_spike"].applied
    assert "advances the synapse's own dynamics" in o["no_last_spike"].detail
    assert "t_lastspike_ = __t_spike;" in new


def test_a_synapse_that_reads_its_target_stays_registered():
    h = _raw_synapse("static_synapse")
    anchor = "      e.set_weight( P_.w );\n"
    assert h.count(anchor) == 1
    h = h.replace(anchor, "      e.set_weight( P_.w * __target->get_K_value( __t_spike ) );\n")
    new, outs = rewrite_synapse(h, "static_synapse_nestml", ("no_history", "no_last_spike"))
    o = _by_rewrite(outs)
    assert not o["no_history"].applied and "__target" in o["no_history"].detail
    assert not o["no_last_spike"].applied   # the registration still passes t_lastspike_
    assert new.count("register_stdp_connection") == 1
    # a co-generated synapse (post ports) is not even tried
    _, outs = rewrite_synapse(h, "static_synapse_nestml", ALL, paired=True)
    assert [o.rewrite for o in outs] == ["synapse_layout", "lazy_traces", "defaults_unit"]   # R9 finds no post loop in it
    assert "not one post loop" in outs[1].detail


TRIPLET = ("stdp_triplet_synapse_nestml__with_iaf_psc_exp_neuron_nestml__with_stdp_synapse_nestml"
           "_and_stdp_nn_symm_synapse_nestml_and_stdp_triplet_synapse_nestml")


def _raw_paired_synapse(name: str) -> str:
    return (FIXTURES / PAIR / f"{name}.h").read_text()


def test_a_trace_the_post_block_does_not_touch_is_advanced_once_per_pre_spike():
    new, outs = rewrite_synapse(_raw_paired_synapse(TRIPLET), TRIPLET, ALL, paired=True)
    o = _by_rewrite(outs)
    assert o["lazy_traces"].applied and o["lazy_traces"].detail.startswith("tr_r2 advanced once"), o
    assert "no_history" not in o and "no_last_spike" not in o   # a co-generated synapse reads its target
    loop = new[new.index("while ( start != finish )"):new.index("const double _tr_t = ")]
    assert "cp, false);" in loop and "__h_lazy = __t_spike - __t_lazy;" in loop
    # stdp_synapse's only trace is read at post spikes: nothing is lazy
    stdp = TRIPLET.replace("stdp_triplet_synapse_nestml__with", "stdp_synapse_nestml__with", 1)
    _, outs = rewrite_synapse(_raw_paired_synapse(stdp), stdp, ALL, paired=True)
    assert "lazy_traces" not in _by_rewrite(outs)   # nothing to say


def test_a_trace_the_post_block_reads_is_advanced_at_every_post_spike():
    h = _raw_paired_synapse(TRIPLET)
    old = "double w_pot = S_.w + S_.tr_r1 * ("
    assert h.count(old) == 2   # the loop and the same-time block
    h = h.replace(old, "double w_pot = S_.w + 0. * S_.tr_r2 + S_.tr_r1 * (", 1)
    new, outs = rewrite_synapse(h, TRIPLET, ("synapse_layout", "lazy_traces"), paired=True)
    assert "lazy_traces" not in _by_rewrite(outs) and "__lazy_too" not in new


def test_the_triplet_neuron_keeps_the_trace_before_each_increment():
    cpp, h = _raw(PAIRED)
    synapse = _raw_paired_synapse(TRIPLET)
    wanted = traces.post_loop_lookups(synapse)
    assert wanted == {"tr_o2__for_stdp_triplet_synapse_nestml"}   # read in the post block, before its increment
    new_cpp, new_h, outs = rewrite_neuron(cpp, h, PAIRED, ALL, paired=True)
    o = _by_rewrite(outs)["post_values"]
    assert o.applied and o.detail.endswith("kept for tr_o2__for_stdp_triplet_synapse_nestml"), o
    assert "double tr_o2__for_stdp_triplet_synapse_nestml_before_;" in new_h
    assert "return history_[ i ].tr_o2__for_stdp_triplet_synapse_nestml_before_;" in new_cpp
    # without R2's pure lookup there is nothing to shortcut: NESTML's code is kept
    _, _, outs = rewrite_neuron(cpp, h, PAIRED, ("post_values",), paired=True)
    assert not _by_rewrite(outs)["post_values"].applied
