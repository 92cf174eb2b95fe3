"""Published firing patterns: Izhikevich (2004) Fig. 1 on the catalog's Izhikevich neuron with his scripts'
integration, spike for spike as his figure1.m; Naud et al. (2008) Fig. 4 on the catalog's AdEx and NEST's,
each classified as the paper shows it."""

from __future__ import annotations

import numpy as np
import pytest

from nestml_lab.experiments import firing_patterns as fp
from nestml_lab.experiments.shared.patterns_data import IZHIKEVICH_2004, NAUD_2008


@pytest.fixture(scope="module")
def patterns(built_module):
    return fp.run(fp.FiringPatternsParams())


@pytest.mark.nest
def test_every_izhikevich_panel_shows_its_feature_spike_for_spike_as_his_script(patterns):
    assert len(patterns.izhikevich) == 20
    for panel in IZHIKEVICH_2004:
        runs = patterns.izhikevich[panel.key]
        assert runs["script"].ok, (panel.key, panel.criterion, runs["script"].verdict)
        assert runs["nest"].ok, (panel.key, panel.criterion, runs["nest"].verdict)
        assert fp.same_spikes(runs["nest"], runs["script"]), (panel.key, runs["nest"].spikes, runs["script"].spikes)
        assert fp.v_gap(runs["nest"], runs["script"]) < 1e-3, panel.key   # the arithmetic's order differs


@pytest.mark.nest
def test_every_naud_pattern_is_classified_as_published_on_both_adex_implementations(patterns):
    assert set(patterns.naud) == set(NAUD_2008)
    for name, runs in patterns.naud.items():
        for impl in ("catalog", "nest", "euler"):
            assert runs[impl].ok, (name, impl, runs[impl].verdict, NAUD_2008[name][1])
        assert len(runs["catalog"].spikes) > 0


@pytest.mark.nest
def test_the_results_and_one_figure_per_family_are_written(patterns, tmp_path):
    files = fp.save(patterns, tmp_path)
    text = files["csv"].read_text()
    assert text.count("izhikevich_2004,") == 20 and text.count("naud_2008,") == 8
    assert fp.plot(patterns, tmp_path) == tmp_path / "izhikevich_2004.png"
    assert (tmp_path / "naud_2008.png").stat().st_size > 10_000
    assert all("not reproduced" not in line for line in fp.summary(patterns))


def test_the_integration_order_matters_for_six_panels():
    """Forward Euler (u from the old V, NEST's izhikevich) loses panels the script's order shows: the
    criteria tell the two schemes apart."""
    lost = []
    for panel in IZHIKEVICH_2004:
        if not fp.izhikevich_script(panel, simultaneous=True).ok:
            lost.append(panel.key)
    assert set(lost) >= {"N", "P", "S", "T"}, lost


@pytest.mark.parametrize("spikes, expected", [
    (10.0 + 10.0 * np.arange(50), ("", "tonic")),
    (np.cumsum([10.0, 12, 15, 19, 24, 30, 37, 45, 54, 64, 75]), ("", "adapting")),
    (np.cumsum([35.0, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10]), ("delayed", "accelerating")),
    (np.cumsum([5.0, 3, 4, 60, 61, 60, 61, 60, 61, 60]), ("initial burst", "tonic")),
    (np.cumsum([10.0] + [4, 5, 100] * 5), ("", "bursting")),
    (np.cumsum([10.0] + [4, 30, 5, 5, 40, 4, 25, 6, 6, 6, 35]), ("", "irregular")),
    (np.array([12.0, 20.0]), ("", "transient")),
    (np.array([]), ("", "silent")),
])
def test_the_classifier_reads_the_published_features(spikes, expected):
    onset, steady, _ = fp.classify(np.asarray(spikes, float), 600.0)
    assert (onset, steady) == expected
