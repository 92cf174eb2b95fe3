"""The plasticity experiments still give the golden curves (tests/regression/golden/, README beside this file)."""

import pytest

from nestml_lab import golden

pytestmark = pytest.mark.nest


#: the curves that take half a minute each: in the slow suite (CI runs it after the default one)
_SLOW = {"pairing_frequency_triplet"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in _SLOW else n
                                  for n in sorted(golden.CURVES)])
def test_curve_unchanged(built_module, name):
    assert golden.path_of(name).exists(), f"no golden file for {name}: run `make golden` and commit it"
    problems = golden.compare(name, golden.compute(name), golden.load(name))
    assert not problems, "\n".join(problems + ["If the change is intended: `make golden`, review, commit."])


def test_compare_sees_drift():
    want = {"dt_ms": golden.np.array([-1.0, 1.0]), "dw": golden.np.array([-0.5, 0.5])}
    same = {k: v.copy() for k, v in want.items()}
    assert golden.compare("x", same, want) == []
    drifted = {k: v.copy() for k, v in want.items()}
    drifted["dw"][1] += 1e-6
    assert golden.compare("x", drifted, want)
