"""The synapse parametrization workflow of seed notebook 000, on the catalog's plastic NESTML synapses.

SetDefaults, CopyModel with new defaults, parameters drawn from nest.random
distributions, GetConnections filtered by source / target / model, and
``.get()`` of one and several attributes. What NEST with co-generated NESTML
synapses does not allow (a postsynaptic parameter per connection) fails with
a message naming the parameter.
"""

from __future__ import annotations

import numpy as np
import pytest

from nestml_lab import catalog

pytestmark = pytest.mark.nest

CASES = [  # (neuron, synapse, a synapse parameter to vary, its low and high value)
    ("iaf_psc_exp_neuron", "stdp_synapse", "alpha", 0.1, 2.0),
    ("iaf_psc_exp_neuron", "stdp_triplet_synapse", "A2_minus", 1e-3, 1e-2),
    ("aeif_cond_exp_neuron", "stp_stdp_synapse", "Apre0", 1e-3, 1e-2),
]


def _populations(nest, neuron):
    return nest.Create(neuron, 10), nest.Create(neuron, 10)


@pytest.mark.parametrize("neuron,synapse,param,low,high", CASES)
def test_set_defaults_and_copy_model(nest_kernel, neuron, synapse, param, low, high):
    nest = nest_kernel
    nest_neuron, nest_synapse = catalog.pair_models(neuron, synapse)
    nest.SetDefaults(nest_synapse, {param: high})
    assert nest.GetDefaults(nest_synapse)[param] == high
    copy = f"layer1_{synapse}"
    nest.CopyModel(nest_synapse, copy, {param: low})
    assert nest.GetDefaults(copy)[param] == low and nest.GetDefaults(nest_synapse)[param] == high
    a, b = _populations(nest, nest_neuron)
    nest.Connect(a, b, {"rule": "fixed_indegree", "indegree": 3}, {"synapse_model": nest_synapse})
    nest.Connect(a, b, "one_to_one", {"synapse_model": copy})
    orig = nest.GetConnections(a, b, nest_synapse)
    copied = nest.GetConnections(a, b, copy)
    assert len(orig) == 30 and len(copied) == 10
    assert set(np.atleast_1d(orig.get(param))) == {high}
    assert set(np.atleast_1d(copied.get(param))) == {low}


@pytest.mark.parametrize("neuron,synapse,param,low,high", CASES)
def test_random_parameters_and_get(nest_kernel, neuron, synapse, param, low, high):
    nest = nest_kernel
    nest_neuron, nest_synapse = catalog.pair_models(neuron, synapse)
    a, b = _populations(nest, nest_neuron)
    nest.Connect(a, b, "all_to_all", {"synapse_model": nest_synapse,
                                      param: nest.random.uniform(min=low, max=high),
                                      "weight": nest.random.uniform(min=0.5, max=5.0), "delay": 1.0})
    conns = nest.GetConnections(a, synapse_model=nest_synapse)
    values = np.asarray(conns.get(param))
    weights = np.asarray(conns.get("weight"))
    assert len(values) == 100
    assert low <= values.min() < values.max() <= high and len(set(values)) > 50
    assert 0.5 <= weights.min() < weights.max() <= 5.0
    # the weight is the model's weight variable: both names give the same numbers
    np.testing.assert_array_equal(weights, np.asarray(conns.get("w")))
    both = conns.get(["target", "weight"])
    assert set(both) == {"target", "weight"} and len(both["target"]) == 100
    assert set(np.asarray(both["target"])) == set(b.tolist())
    full = conns.get()
    assert param in full and "synapse_model" in full
    assert len(nest.GetConnections(target=b[0], synapse_model=nest_synapse)) == 10
    assert len(nest.GetConnections(source=a[0], target=b[0])) == 1


@pytest.mark.parametrize("neuron,synapse,moved", [
    ("iaf_psc_exp_neuron", "stdp_synapse", "tau_tr_post"),
    ("aeif_cond_exp_neuron", "stp_stdp_synapse", "Apost0"),
])
def test_postsynaptic_parameter_is_per_neuron(nest_kernel, neuron, synapse, moved):
    """A parameter NESTML moved into the neuron is set on the neurons; per connection it is refused by name."""
    nest = nest_kernel
    nest_neuron, nest_synapse = catalog.pair_models(neuron, synapse)
    on_neuron = catalog.moved_parameter(synapse, moved)
    a = nest.Create(nest_neuron, 2)
    b = nest.Create(nest_neuron, 2, params={on_neuron: nest.random.uniform(min=-0.02, max=-0.01)
                                            if moved == "Apost0" else 30.0})
    got = np.atleast_1d(b.get(on_neuron))
    assert len(got) == 2 and (got[0] != got[1] if moved == "Apost0" else set(got) == {30.0})
    with pytest.raises(nest.NESTError, match=moved):
        nest.Connect(a, b, "one_to_one", {"synapse_model": nest_synapse, moved: 1.0})
    with pytest.raises(nest.NESTError, match=on_neuron):
        nest.SetDefaults(nest_synapse, {moved: 1.0})
