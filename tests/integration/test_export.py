"""Results as Neo: a tree's run and the PD14 result convert to Neo Blocks that Elephant reads directly and that
give back the experiment's own statistics; pandas tables of spikes."""

from __future__ import annotations

import numpy as np
import pytest

from nestml_lab import export, networks
from nestml_lab.experiments import pd14
from nestml_lab.experiments.shared import common
from nestml_lab.experiments.shared import pd14_params as P

neo = pytest.importorskip("neo")
pq = pytest.importorskip("quantities")
elephant = pytest.importorskip("elephant")

pytestmark = [pytest.mark.nest,
              pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::PendingDeprecationWarning")]
EXAMPLE = networks.EXAMPLES / "brunel_sessions.yml"


@pytest.fixture(scope="module")
def run(built_module):
    return networks.simulate(networks.read(EXAMPLE))


def test_a_run_becomes_a_block_with_every_neuron_and_the_sessions_times(run):
    block = export.to_neo(run)
    assert [s.name for s in block.segments] == ["high_input", "low_input"]   # warmup was not recorded
    high = block.segments[0]
    assert high.t_start == 200.0 * pq.ms and high.t_stop == 700.0 * pq.ms
    assert len(high.spiketrains) == 1000, "one train per neuron, silent ones included"
    assert {g.name: len(g.spiketrains) for g in block.groups} == {"E": 1600, "I": 400}
    e_ids = run.ids("E")
    assert [st.annotations["node_id"] for st in high.spiketrains[:800]] == e_ids.tolist()
    senders, times = run.spikes["high_input"]["spikes"]
    assert sum(len(st) for st in high.spiketrains) == len(times)
    [vm] = [a for a in high.analogsignals if a.annotations["variable"] == "V_m"]
    assert vm.shape[1] == 10 and vm.sampling_period == 1.0 * pq.ms
    # Elephant on the exported trains gives the experiments' own ISI CV
    from elephant.statistics import cv, isi

    theirs = np.mean([cv(isi(st)) for st in high.spiketrains[:800] if len(st) >= 3])
    mine = np.isin(senders, e_ids)
    assert common.mean_cv_isi(senders[mine], times[mine]) == pytest.approx(float(theirs), rel=1e-12)


def test_pd14_result_to_neo_gives_elephant_our_correlation_and_cv(tmp_path):
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import correlation_coefficient
    from elephant.statistics import cv, isi

    rng = np.random.default_rng(4)
    params = pd14.Pd14Params(neuron="nest", t_presim_ms=500.0, t_sim_ms=1000.0, corr_neurons=15)
    spikes, first, sizes = {}, {}, []
    for i, pop in enumerate(P.POPULATIONS):
        n = 15 + i
        shared = np.sort(rng.uniform(500.0, 1500.0, 10 + 3 * i))
        trains = [np.unique(np.round(np.concatenate([rng.uniform(500.0, 1500.0, 12), shared[rng.random(len(shared))
                                                                                              < 0.3]]), 1))
                  for _ in range(n - 1)] + [np.array([])]   # the last neuron is silent
        first[pop], sizes = 1 + 100 * i, sizes + [n]
        spikes[pop] = (np.concatenate([np.full(len(t), first[pop] + k) for k, t in enumerate(trains)]),
                       np.concatenate(trains))
    result = pd14.Pd14Result(params, spikes, first, np.array(sizes), 0.0, 0.0, 0.0, {})
    block = export.pd14_to_neo(result)
    corr, cvs = result.correlation(), result.cv_isi()
    for i, group in enumerate(block.groups):
        assert group.name == P.POPULATIONS[i] and len(group.spiketrains) == sizes[i]
        active = [st for st in group.spiketrains[:params.corr_neurons] if len(st)]
        c = correlation_coefficient(BinnedSpikeTrain(active, bin_size=params.bin_ms * pq.ms))
        assert corr[i] == pytest.approx(float(np.mean(c[np.triu_indices(len(c), 1)])), abs=1e-12)
        assert cvs[i] == pytest.approx(float(np.mean([cv(isi(st)) for st in group.spiketrains if len(st) >= 3])),
                                       rel=1e-12)


def test_spikes_table(run):
    pytest.importorskip("pandas")
    table = export.spikes_table(run)
    senders, _ = run.spikes["low_input"]["spikes"]
    assert len(table[table.session == "low_input"]) == len(senders)
    assert set(table.population) == {"E", "I"}
    assert export.weights_table(run).empty
