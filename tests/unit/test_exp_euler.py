"""The exponential-Euler rewrite's C++ without a build: the step it writes for an AdEx-like dynamics function,
evaluated here (the C++ read as Python), equals the step written out by hand, and is written for latency."""

import math
import re

import pytest

from nestml_lab.codegen.edits import exp_euler

#: an AdEx right-hand side as NESTML 9 writes it into the GSL dynamics function
BODY = {
    "V_m": "(-node.P_.g_L * (ode_state[State_::V_m] - node.P_.E_L) + node.P_.g_L * node.P_.Delta_T * "
           "std::exp((ode_state[State_::V_m] - node.P_.V_th) / node.P_.Delta_T) - ode_state[State_::g_ex] * "
           "(ode_state[State_::V_m] - node.P_.E_ex) - ode_state[State_::w] + node.P_.I_e + "
           "node.B_.continuous_inputs_grid_sum_[I_STIM]) / node.P_.C_m",
    "w": "(node.P_.a * (std::min(ode_state[State_::V_m], node.P_.V_peak) - node.P_.E_L) - ode_state[State_::w]) "
         "/ node.P_.tau_w",
    "g_ex": "(-ode_state[State_::g_ex]) / node.P_.tau_syn_ex",
}
P = {"g_L": 30.0, "E_L": -70.6, "Delta_T": 2.0, "V_th": -50.4, "E_ex": 0.0, "I_e": 100.0, "C_m": 281.0,
     "a": 4.0, "V_peak": 0.0, "tau_w": 144.0, "tau_syn_ex": 0.2}
H = 0.1


def _python(cxx: str) -> str:
    """The C++ the rewrite writes, as Python over the dicts P, V (internal variables), y (state), nxt."""
    out = cxx.replace("std::exp", "math.exp").replace("std::min", "min").replace("const double ", "")
    out = re.sub(r"node\.P_\.(\w+)", r"P['\1']", out)
    out = re.sub(r"node\.V_\.(\w+)", r"V['\1']", out)
    out = re.sub(r"nestml_lab_next\[State_::(\w+)\]", r"nxt['\1']", out)
    out = re.sub(r"(?:S_\.)?ode_state\[State_::(\w+)\]", r"y['\1']", out)
    return out.replace("node.B_.continuous_inputs_grid_sum_[I_STIM]", "I_stim").replace("__timestep", "H")


def _step(y: dict, i_stim: float) -> dict:
    code, constants = exp_euler.update_code(BODY, "", frozenset({"g_ex"}))
    V = {name: eval(_python(c), {"math": math, "P": P, "H": H}) for name, c in constants.items()}
    y = dict(y)
    scope = {"math": math, "P": P, "V": V, "H": H, "y": y, "nxt": {}, "I_stim": i_stim, "min": min}
    for line in code.splitlines():   # declarations and braces aside, each line is an assignment
        line = line.strip()
        if line and not line.startswith(("//", "{", "}", "double nestml_lab_next", "const auto&", "const double*")):
            exec(_python(line).rstrip(";"), scope)
    return scope["y"], code


def test_the_step_is_brian2s_exponential_euler():
    y0 = {"V_m": -55.0, "w": 20.0, "g_ex": 3.0}
    y1, _ = _step(y0, 50.0)
    v, w, g = y0["V_m"], y0["w"], y0["g_ex"]
    a_v = -(P["g_L"] + g) / P["C_m"]
    b_v = (P["g_L"] * P["E_L"] + P["g_L"] * P["Delta_T"] * math.exp((v - P["V_th"]) / P["Delta_T"])
           + g * P["E_ex"] - w + P["I_e"] + 50.0) / P["C_m"]
    a_w, b_w = -1.0 / P["tau_w"], P["a"] * (v - P["E_L"]) / P["tau_w"]
    assert y1["V_m"] == pytest.approx(-b_v / a_v + (v + b_v / a_v) * math.exp(a_v * H), rel=1e-13)
    assert y1["w"] == pytest.approx(-b_w / a_w + (w + b_w / a_w) * math.exp(a_w * H), rel=1e-13)
    assert y1["g_ex"] == g   # left to NESTML's exact propagator, which follows the step


def test_the_step_keeps_divisions_off_the_chain_through_v():
    _, code = _step({"V_m": -55.0, "w": 20.0, "g_ex": 3.0}, 0.0)
    line = {name: next(x.split("=", 1)[1] for x in code.splitlines() if f"nestml_lab_{name}_V_m =" in x)
            for name in ("inv", "g", "K", "c")}
    last = next(x.split("=", 1)[1] for x in code.splitlines() if "nestml_lab_next[State_::V_m] =" in x)
    assert "State_::V_m" not in line["inv"] + line["g"] + line["c"]  # the reciprocal, exp(A h), c: not on V_m
    assert "/" not in line["K"] + line["c"] + last                   # V_m / Delta_T became a product
    # from V_m to the next V_m: exp(V_m / Delta_T), one product, one sum (V_m g is beside the exponential)
    assert last.strip() == "nestml_lab_K_V_m + nestml_lab_c_V_m * std::exp(ode_state[State_::V_m]*node.V_.nestml_lab_c2);"
    assert "State_::g_ex] =" not in code                             # g_ex is not stepped


def test_an_equation_not_linear_in_its_variable_is_refused_with_its_terms():
    body = {"V_m": "0.04 * ode_state[State_::V_m] * ode_state[State_::V_m] + 5 * ode_state[State_::V_m] + 140 "
                   "- ode_state[State_::U_m]"}
    with pytest.raises(exp_euler.NotConditionallyLinear, match=r"terms in 1, V_m, V_m\*\*2"):
        exp_euler.update_code(body, "")
