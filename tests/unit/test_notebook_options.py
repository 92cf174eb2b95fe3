"""The notebook calls' options read as NESTML reads them, older forms rewritten and said, wrong ones refused."""

from __future__ import annotations

import pytest

from nestml_lab.module_cache import _pairs
from nestml_lab.progress import Say


def test_nestml_8_neuron_synapse_pairs_are_rewritten_to_nestml_9s_form(capsys):
    nestml9 = {"neuron": "iaf_psc_exp_neuron", "synapses": {"stdp_synapse": {"post_ports": ["post_spikes"]}}}
    assert _pairs([nestml9], Say("WARNING")) == [nestml9]
    assert capsys.readouterr().out == ""
    old = {"neuron": "iaf_psc_delta_neuron", "synapse": "stdp_triplet_synapse", "post_ports": ["post_spikes"],
           "vt_ports": ["mod_spikes"]}
    assert _pairs([old], Say("WARNING")) == [{"neuron": "iaf_psc_delta_neuron", "synapses": {
        "stdp_triplet_synapse": {"post_ports": ["post_spikes"], "vt_ports": ["mod_spikes"]}}}]
    out = capsys.readouterr()
    assert "NESTML 7/8's entry for iaf_psc_delta_neuron + stdp_triplet_synapse rewritten" in out.out + out.err
    with pytest.raises(ValueError, match="NESTML 9 takes"):
        _pairs([{"neuron": "x"}], Say("WARNING"))
