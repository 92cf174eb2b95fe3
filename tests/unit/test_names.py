"""The mangled names NESTML gives co-generated models come from nestml_lab.codegen.names."""

import pytest

from nestml_lab.codegen import names


def test_plain_name_appends_suffix():
    assert names.plain("iaf_psc_exp_neuron", "_nestml") == "iaf_psc_exp_neuron_nestml"


def test_single_synapse_pair_is_named_after_the_plain_neuron():
    assert names.paired_neuron("izh", ["stdp"], "_x") == "izh_x__with_stdp_x"
    assert names.paired_synapse("stdp", "izh", ["stdp"], "_x") == "stdp_x__with_izh_x"


def test_several_synapses_are_joined_and_synapses_named_after_the_paired_neuron():
    syns = ["a_synapse", "b_synapse"]
    neuron = names.paired_neuron("n", syns, "_s")
    assert neuron == "n_s__with_a_synapse_s_and_b_synapse_s"
    assert names.paired_synapse("b_synapse", "n", syns, "_s") == "b_synapse_s__with_" + neuron


def test_unpaired_synapse_is_refused():
    with pytest.raises(ValueError):
        names.paired_synapse("c", "n", ["a"], "")


def test_moved_variable_name():
    assert names.moved_variable("tau_tr_post", "stdp_synapse", "_nestml") == "tau_tr_post__for_stdp_synapse_nestml"
