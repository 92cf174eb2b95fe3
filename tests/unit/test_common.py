"""Helpers the experiments share: the CSV + JSON pair they write, the ISI CV of the network experiments."""

import csv
import json

import numpy as np
import pytest

from nestml_lab.experiments.shared import common


def test_save_table_writes_header_rows_and_metadata(tmp_path):
    out = tmp_path / "new" / "folder"
    paths = common.save_table(out, "curve", ["dt_ms", "dw"], ((dt, 0.5 * dt) for dt in (-1.0, 2.0)),
                              {"params": {"n": 3}})
    assert paths == {"csv": out / "curve.csv", "json": out / "curve.json"}
    with open(paths["csv"], newline="") as f:
        assert list(csv.reader(f)) == [["dt_ms", "dw"], ["-1.0", "-0.5"], ["2.0", "1.0"]]
    assert json.loads(paths["json"].read_text()) == {"params": {"n": 3}}


def test_mean_cv_isi_per_sender_then_averaged():
    rng = np.random.default_rng(3)
    regular = np.arange(1, 201) * 10.0                        # CV 0
    poisson = np.cumsum(rng.exponential(10.0, 20000))          # CV close to 1
    senders = np.r_[np.full(200, 7), np.full(20000, 3), [9, 9]]  # sender 9: 2 spikes, left out
    times = np.r_[regular, poisson, [5.0, 50.0]]
    order = rng.permutation(len(times))                        # any order of events
    cv = common.mean_cv_isi(senders[order], times[order])
    isi = np.diff(poisson)
    assert cv == (0.0 + isi.std() / isi.mean()) / 2
    assert abs(cv - 0.5) < 0.01
    assert np.isnan(common.mean_cv_isi([1, 1, 2], [1.0, 2.0, 3.0]))


def test_ks_distance_is_the_largest_gap_between_the_empirical_cdfs():
    """scipy's two-sample KS statistic, checked against the definition on data with ties."""
    from nestml_lab.experiments.pd14 import ks_distance

    rng = np.random.default_rng(3)
    a, b = np.round(rng.normal(0, 1, 300), 1), np.round(rng.normal(0.3, 1.2, 200), 1)
    grid = np.concatenate([a, b])
    by_hand = np.max(np.abs(np.searchsorted(np.sort(a), grid, "right") / len(a)
                            - np.searchsorted(np.sort(b), grid, "right") / len(b)))
    assert ks_distance(a, b) == pytest.approx(by_hand, abs=1e-12)
    assert ks_distance(a, a) == 0.0


def test_a_save_that_fails_half_way_leaves_the_previous_file(tmp_path):
    """Experiments write through nestml_lab.atomic: an error while writing keeps the last good file whole."""
    common.save_table(tmp_path, "t", ["a"], [[1], [2]], {"run": 1})
    before = (tmp_path / "t.csv").read_text()

    def rows():
        yield [3]
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        common.save_table(tmp_path, "t", ["a"], rows(), {"run": 2})
    assert (tmp_path / "t.csv").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.json"], "no partial file left behind"
    json_path, npz_path = common.save_arrays(tmp_path, "a.json", {}, "a.npz", {"x.times": np.arange(3.0)})
    with np.load(npz_path) as d:
        assert list(d["x.times"]) == [0.0, 1.0, 2.0]
