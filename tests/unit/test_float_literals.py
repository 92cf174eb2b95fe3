"""Float constants reach the C++ code with their value (NESTML 9.0.0 drops zeros off exponents)."""

import pytest

from nestml_lab.codegen.worker import format_float


@pytest.mark.parametrize("value", [5e-10, 1e-20, 2.5e10, 1e10, 1e-5, 3e20, 1e100, 6.2e-3, 0.5, 100.0, 1.0, -7e-30])
def test_format_float_round_trips(value):
    text = format_float(value)
    assert float(text) == value
    assert "." in text   # a C++ double literal, never an int


def test_exponent_zeros_kept():
    assert format_float(5e-10) == "5.e-10"
    assert format_float(6.2e-3) == "0.0062"
