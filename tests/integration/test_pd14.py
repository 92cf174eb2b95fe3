"""PD14 microcircuit: the catalog's iaf_psc_exp gives NEST's spike trains; rates near the published ones."""

import numpy as np
import pytest

from nestml_lab.experiments import pd14
from nestml_lab.experiments.shared import pd14_params as P


def test_derived_parameters_match_the_paper():
    # PSP 0.15 mV <-> PSC 87.8 pA for iaf_psc_exp with C_m 250 pF, tau_m 10 ms, tau_syn 0.5 ms
    assert P.PSP_EXC_MV * P.psc_over_psp() == pytest.approx(87.81, abs=0.01)
    # about 3 x 10^8 synapses at full scale (paper: "0.3 billion")
    assert 2.9e8 < P.num_synapses().sum() < 3.1e8
    d = P.derived(0.1)
    assert d["num_neurons"].sum() == 7717
    # the DC compensation includes the external input: without it the 0.1-scale network falls silent
    assert np.all(d["dc_pA"] > 0)


@pytest.mark.nest
def test_nestml_neuron_gives_identical_spike_trains(built_module, tmp_path):
    kw = dict(scale=0.03, t_presim_ms=50.0, t_sim_ms=250.0, threads=2)
    a = pd14.run(pd14.Pd14Params(neuron="nest", **kw))
    b = pd14.run(pd14.Pd14Params(neuron="nestml", **kw))
    total = 0
    for pop in P.POPULATIONS:
        (sa, ta), (sb, tb) = a.spikes[pop], b.spikes[pop]
        oa, ob = np.lexsort((sa, ta)), np.lexsort((sb, tb))
        np.testing.assert_array_equal(sa[oa], sb[ob], err_msg=pop)
        np.testing.assert_array_equal(ta[oa], tb[ob], err_msg=pop)
        total += len(sa)
    assert total > 500, "too few spikes to compare"
    figure = pd14.plot(a, tmp_path, other=b)   # raster, rates, ISI CV and correlation panels, both beside
    assert figure.stat().st_size > 30_000


@pytest.mark.nest
def test_rates_near_published_at_scale_0_1(built_module):
    """Downscaled to 0.1, rates stay near the full-scale ones; the state is asynchronous and irregular.

    Tolerance: max(0.5 Hz, 30 %) per population. Downscaling keeps the mean input
    (weights x 1/sqrt(k), DC for the rest) but not every second-order statistic, and
    the published 0.1-scale rates of NEST's example lie 5-45 % below the full-scale ones
    (L2/3 most), which is what this run shows too; sampling error of 1 s at these sizes
    is a few percent.
    """
    r = pd14.run(pd14.Pd14Params(neuron="nest", scale=0.1, t_presim_ms=500.0, t_sim_ms=1000.0))
    rates = r.rates()
    tol = np.maximum(0.5, 0.3 * P.FULL_MEAN_RATES_HZ)
    assert np.all(np.abs(rates - P.FULL_MEAN_RATES_HZ) <= tol), f"rates {np.round(rates, 2)}"
    cv = r.cv_isi()
    assert np.all((cv > 0.4) & (cv < 1.2)), f"ISI CV {np.round(cv, 2)}"
    assert np.all(np.abs(r.correlation()) < 0.05), "spike counts correlated: not asynchronous"
