"""Our spike statistics agree with Elephant's (the field's kept library) on the same spike trains."""

import numpy as np
import pytest

from nestml_lab.experiments import pd14
from nestml_lab.experiments.shared import common
from nestml_lab.experiments.shared import pd14_params as P

elephant = pytest.importorskip("elephant")
neo = pytest.importorskip("neo")
pq = pytest.importorskip("quantities")

# Elephant 1.2 on numpy 2.4 warns about its own use of numpy.matrix and quantities' copy argument
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::PendingDeprecationWarning")


def _trains(rng, n, t_start, t_stop, rate_hz, shared=0.0):
    """n Poisson trains (ms); ``shared``: the fraction of each train's spikes copied from a common train."""
    common_train = np.sort(rng.uniform(t_start, t_stop, rng.poisson(rate_hz * (t_stop - t_start) / 1000)))
    out = []
    for _ in range(n):
        own = np.sort(rng.uniform(t_start, t_stop, rng.poisson(rate_hz * (t_stop - t_start) / 1000)))
        keep = rng.random(len(common_train)) < shared
        out.append(np.unique(np.round(np.concatenate([own[rng.random(len(own)) >= shared], common_train[keep]]), 1)))
    return out


def test_mean_isi_cv_equals_elephants():
    from elephant.statistics import cv, isi

    rng = np.random.default_rng(1)
    trains = _trains(rng, 30, 0.0, 2000.0, 8.0)
    trains[3] = trains[3][:2]   # two spikes: one interval, left out by both
    senders = np.concatenate([np.full(len(t), k + 1) for k, t in enumerate(trains)])
    times = np.concatenate(trains)
    ours = common.mean_cv_isi(senders, times)
    theirs = np.mean([cv(isi(neo.SpikeTrain(t * pq.ms, t_stop=2000 * pq.ms))) for t in trains if len(t) >= 3])
    assert ours == pytest.approx(float(theirs), rel=1e-12)


def test_pd14_spike_count_correlation_equals_elephants():
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import correlation_coefficient

    rng = np.random.default_rng(2)
    params = pd14.Pd14Params(neuron="nest", t_presim_ms=500.0, t_sim_ms=1000.0, corr_neurons=20)
    spikes, first, trains_of = {}, {}, {}
    for i, pop in enumerate(P.POPULATIONS):
        trains = _trains(rng, 20, 500.0, 1500.0, 10.0, shared=0.1 * (i % 3))
        first[pop] = 1 + 100 * i
        trains_of[pop] = trains
        spikes[pop] = (np.concatenate([np.full(len(t), first[pop] + k) for k, t in enumerate(trains)]),
                       np.concatenate(trains))
    result = pd14.Pd14Result(params, spikes, first, np.full(8, 20), 0.0, 0.0, 0.0, {})
    ours = result.correlation()
    for i, pop in enumerate(P.POPULATIONS):
        binned = BinnedSpikeTrain([neo.SpikeTrain(t * pq.ms, t_start=500 * pq.ms, t_stop=1500 * pq.ms)
                                   for t in trains_of[pop]], bin_size=params.bin_ms * pq.ms)
        c = correlation_coefficient(binned)
        theirs = np.mean(c[np.triu_indices(len(c), 1)])
        assert ours[i] == pytest.approx(float(theirs), abs=1e-12), pop
    assert ours[2] > ours[0] + 0.05, "the shared spikes show up as correlation"
