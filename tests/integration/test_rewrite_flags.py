"""A user's model whose onReceive block does more than accumulate keeps NESTML's "received" semantics.

``models_flags/counting_neuron`` counts the steps in which spikes arrived, weight-0
spikes included. Built with and without the rewrites (two small modules, side by
side in one kernel), both must count and integrate alike.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nestml_lab import paths, unrewritten

pytestmark = pytest.mark.nest

MODELS = Path(__file__).parent / "models_flags"


@pytest.fixture(scope="module")
def counting_modules(built_module):
    root = paths.NEST_MODULE_DIR / "test_modules" / "flags"   # git-ignored; cached between runs
    rw = unrewritten.build_copy(MODELS, root / "rw", "counting_module", "_rw", "all")
    raw = unrewritten.build_copy(MODELS, root / "raw", "countingraw_module", "_raw", "none")
    return root, rw, raw


@pytest.mark.slow   # two modules built (fifteen seconds from a fresh clone)
def test_flags_are_kept_and_weight_zero_spikes_still_count(nest_kernel, counting_modules):
    nest = nest_kernel
    root, rw, raw = counting_modules
    report = json.loads(next((root / "rw" / "build" / "generated" / "units").glob("*/REWRITES.json"))
                        .read_text())
    [r1] = [o for o in report if o["rewrite"] == "input_buffer"]
    assert r1["applied"] and "flags kept" in r1["detail"], r1

    rw.install()
    raw.install()
    gen = nest.Create("spike_generator", params={"spike_times": [5.0, 10.0, 10.0, 20.0, 30.0, 40.0],
                                                 "spike_weights": [1.0, 2.0, -2.0, 0.0, 3.0, 0.0]})
    neurons = [nest.Create("counting_neuron_rw"), nest.Create("counting_neuron_raw")]
    mms = []
    for n in neurons:
        nest.Connect(gen, n, syn_spec={"delay": 1.0})
        mm = nest.Create("multimeter", params={"record_from": ["V_m", "n_received"], "interval": 0.1})
        nest.Connect(mm, n)
        mms.append(mm)
    nest.Simulate(60.0)
    counts = [n.n_received for n in neurons]
    assert counts[0] == counts[1] == 5   # 5 steps with input; two of them sum to 0, they count all the same
    for key in ("V_m", "n_received"):
        np.testing.assert_array_equal(mms[0].events[key], mms[1].events[key])
