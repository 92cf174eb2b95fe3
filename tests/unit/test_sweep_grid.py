"""A sweep's grid is checked against the experiment's declared parameters before anything runs."""

import pytest

from nestml_lab.experiments.shared.contract import registry
from nestml_lab.sweeps import GridError, sweep
from nestml_lab.sweeps.grid import apply, parse_assignments, points

STDP = registry()["stdp-window"]


def test_a_grid_is_the_product_of_its_axes_in_the_declared_kinds():
    axes = parse_assignments(STDP, ["frequency_hz=1,5,10", "n_pairings=20,30", "synapse_params.lambda=0.005,0.01"],
                             many=True)
    assert [a.values for a in axes] == [(1.0, 5.0, 10.0), (20, 30), (0.005, 0.01)]
    todo = points(axes)
    assert len(todo) == 12 and len({p.key for p in todo}) == 12
    assert todo[0].values == {"frequency_hz": 1.0, "n_pairings": 20, "synapse_params.lambda": 0.005}
    kwargs = apply(STDP, {"synapse_params.tau_plus": 20.0}, todo[-1].values)
    assert kwargs["synapse_params"] == {"tau_plus": 20.0, "lambda": 0.01} and kwargs["frequency_hz"] == 10.0


def test_an_option_name_and_the_parameters_own_unit_are_taken():
    (axis,) = parse_assignments(STDP, ["freq=2Hz,4 Hz"], many=True)
    assert axis.name == "frequency_hz" and axis.values == (2.0, 4.0)


@pytest.mark.parametrize("spec,says", [
    ("frequency=1,2", "stdp-window has no parameter 'frequency'; it takes: synapse, neuron"),
    ("frequency_hz=1ms,2ms", "frequency_hz of stdp-window is in Hz (pairing frequency), not in 'ms'"),
    ("n_pairings=10,2.5", "n_pairings of stdp-window is a whole number, not '2.5'"),
    ("frequency_hz=fast", "frequency_hz of stdp-window is a number in Hz, not 'fast'"),
    ("synapse_params=1,2", "synapse_params of stdp-window is a table of values: sweep one entry"),
    ("frequency_hz.x=1", "frequency_hz of stdp-window is a float, not a table"),
    ("dt_values=1,2", "dt_values of stdp-window is a list"),
    ("frequency_hz=1,1", "a value is given twice"),
    ("frequency_hz", "write NAME=V1,V2,..."),
])
def test_a_wrong_grid_is_refused_naming_the_parameter_and_what_it_takes(spec, says):
    with pytest.raises(GridError) as err:
        parse_assignments(STDP, [spec], many=True)
    assert says in str(err.value)


def test_points_the_experiment_refuses_and_seeds_it_lacks_stop_the_sweep_before_it_starts(tmp_path):
    with pytest.raises(GridError, match=r"frequency_hz=20: \|dt\| up to 100.0 ms does not fit"):
        sweep("stdp-window", {"frequency_hz": [1, 20]}, out=tmp_path, log=lambda line: None)
    with pytest.raises(GridError, match="stdp-window has no seed parameter: it is deterministic"):
        sweep("stdp-window", {"frequency_hz": [1, 2]}, seeds=3, out=tmp_path, log=lambda line: None)
    with pytest.raises(GridError, match="no experiment 'stdp'; there are: "):
        sweep("stdp", {"frequency_hz": [1, 2]}, out=tmp_path, log=lambda line: None)
    with pytest.raises(GridError, match="w0: both swept and fixed"):
        sweep("stdp-window", {"w0": [1, 2]}, fixed={"w0": 3}, out=tmp_path, log=lambda line: None)
    assert not (tmp_path / "points").exists()   # nothing was started
