"""Solver choice per model (module.yaml `solvers:`): the catalog's Izhikevich neuron with forward Euler is NEST's
izhikevich spike for spike, the generated code says which solver it uses, and each solver's error shrinks with
the step as its order says."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import nestml_lab
from nestml_lab import paths
from nestml_lab.project import make_module

pytestmark = pytest.mark.nest

MANIFEST = """module: solvers_module
suffix: _solvers
neurons: [izhikevich_neuron, euler_izhikevich_neuron, semi_izhikevich_neuron, rk4_izhikevich_neuron]
solvers:
  euler_izhikevich_neuron: forward-Euler
  semi_izhikevich_neuron: semi-implicit-Euler
  rk4_izhikevich_neuron: rk4
"""
#: the scratch project's variants of the catalog model, by solver
VARIANTS = {"euler": "forward-Euler", "semi": "semi-implicit-Euler", "rk4": "rk4"}
#: NEST's izhikevich defaults, set on both models (its regular spiking cell)
PARAMS = {"a": 0.02, "b": 0.2, "c": -65.0, "d": 8.0, "V_th": 30.0, "I_e": 5.0}


@pytest.fixture(scope="module")
def solvers(built_module, tmp_path_factory):
    folder = tmp_path_factory.mktemp("solvers")
    text = (paths.MODELS_DIR / "izhikevich_neuron.nestml").read_text()
    (folder / "izhikevich_neuron.nestml").write_text(text)
    for prefix in VARIANTS:
        (folder / f"{prefix}_izhikevich_neuron.nestml").write_text(
            text.replace("model izhikevich_neuron:", f"model {prefix}_izhikevich_neuron:"))
    (folder / "module.yaml").write_text(MANIFEST)
    made = make_module(folder, log=lambda line: None)
    return folder, made.module


def test_the_generated_code_names_its_solver(solvers):
    folder, _ = solvers
    units = folder / "build" / "generated" / "units"
    rk45 = (units / "neuron-izhikevich_neuron" / "izhikevich_neuron_solvers.cpp").read_text()
    assert "numeric ODE solver: rk45" in rk45 and "gsl_odeiv_evolve_apply" in rk45
    for prefix, solver in VARIANTS.items():
        code = (units / f"neuron-{prefix}_izhikevich_neuron" / f"{prefix}_izhikevich_neuron_solvers.cpp").read_text()
        assert f"numeric ODE solver: {solver} " in code and "gsl_odeiv_evolve_apply" not in code
    assert "semi-implicit Euler" in (units / "neuron-semi_izhikevich_neuron" / "semi_izhikevich_neuron_solvers.cpp").read_text()
    assert "Runge-Kutta" in (units / "neuron-rk4_izhikevich_neuron" / "rk4_izhikevich_neuron_solvers.cpp").read_text()


def test_forward_euler_izhikevich_fires_as_nests_izhikevich(solvers, spikes_under_one_input):
    model = nestml_lab.load(solvers[0]).neuron("euler_izhikevich_neuron")
    start = {**PARAMS, "V_m": -65.0, "U_m": -13.0}
    t_ours, t_theirs = spikes_under_one_input([(model, start), ("izhikevich", start)],
                                              rate_hz=3000.0, weight=1.5, t_sim_ms=3000.0, seed=5)
    assert len(t_theirs) > 50
    np.testing.assert_array_equal(t_ours, t_theirs)


def _subthreshold_v(nest, model: str, resolution: float) -> float:
    """V_m 20 ms after a start 10 mV above rest (I_e = 0: it relaxes back, below threshold)."""
    nest.ResetKernel()
    nestml_lab.reset_kernel()
    nest.resolution = resolution
    n = nest.Create(model, params={**PARAMS, "I_e": 0.0, "V_m": -60.0, "U_m": -14.0})
    nest.Simulate(20.0)
    return float(n.get("V_m"))


def test_each_solvers_error_shrinks_with_the_step_as_its_order_says(solvers, nest_kernel):
    """Against a tight scipy solution: both Euler schemes' error halves with the step (order 1), RK4's falls
    16-fold (order 4); RKF45's stays at its tolerance, far below Euler's."""
    from scipy.integrate import solve_ivp

    nest = nest_kernel
    mod = nestml_lab.load(solvers[0])

    def rhs(_t, y):
        v, u = y
        return [0.04 * v * v + 5.0 * v + 140.0 - u, 0.02 * (0.2 * v - u)]

    solution = solve_ivp(rhs, (0.0, 20.0), [-60.0, -14.0], method="DOP853", rtol=1e-12, atol=1e-12)
    assert solution.success
    exact = solution.y[0, -1]
    assert -71.0 < exact < -65.0   # relaxed back to rest (overshooting a little): the dynamics were exercised
    def errors(prefix, steps=(0.1, 0.05, 0.025)):
        return [abs(_subthreshold_v(nest, mod.neuron(f"{prefix}_izhikevich_neuron"), h) - exact) for h in steps]

    euler, semi = errors("euler"), errors("semi")
    for err in (euler, semi):
        assert 1.7 < err[0] / err[1] < 2.3 and 1.7 < err[1] / err[2] < 2.3, err
    assert semi != euler   # the other scheme ran
    rk4 = errors("rk4", (0.4, 0.2, 0.1))
    assert 12 < rk4[0] / rk4[1] < 20 and 12 < rk4[1] / rk4[2] < 20, rk4
    assert rk4[2] < 1e-5
    rk45 = abs(_subthreshold_v(nest, mod.neuron("izhikevich_neuron"), 0.1) - exact)
    assert rk45 < euler[2] / 100, (rk45, euler)


PAIR_MANIFEST = """module: euler_pair_module
suffix: _euler_pair
neurons: [izhikevich_neuron]
synapses:
  stdp_synapse: {weight_variable: w, post_ports: [post_spikes]}
pairs:
  - {neuron: izhikevich_neuron, synapses: [stdp_synapse]}
solvers:
  izhikevich_neuron: forward-Euler
"""


def test_forward_euler_on_a_co_generated_neuron_is_nests_izhikevich_with_stdp_synapse(built_module, tmp_path):
    """A neuron that carries a plastic synapse takes a fixed-step solver (NESTML's Euler code of its trace
    updates, which did not compile, is dropped): the pair fires and learns as NEST's izhikevich with
    stdp_synapse, spike for spike and weight for weight."""
    import nest

    for m in ("izhikevich_neuron", "stdp_synapse"):
        shutil.copy(paths.MODELS_DIR / f"{m}.nestml", tmp_path)
    (tmp_path / "module.yaml").write_text(PAIR_MANIFEST)
    mod = make_module(tmp_path, log=lambda line: None).module
    neuron, synapse = mod.pair("izhikevich_neuron", "stdp_synapse")
    rule = {"lambda": 0.01, "alpha": 1.0, "mu_plus": 0.0, "mu_minus": 0.0, "Wmax": 100.0}
    out = {}
    for label, (nrn, syn, nrn_extra, syn_extra) in {
            "ours": (neuron, synapse, {mod.moved_parameter("stdp_synapse", "tau_tr_post"): 33.7},
                     {"tau_tr_pre": 20.0}),
            "nest": ("izhikevich", "stdp_synapse", {"tau_minus": 33.7}, {"tau_plus": 20.0})}.items():
        nestml_lab.reset_kernel(also=mod)
        nest.rng_seed = 3
        post = nest.Create(nrn, 10, params={**PARAMS, "V_m": -65.0, "U_m": -13.0, "I_e": 4.0, **nrn_extra})
        pre = nest.Create("parrot_neuron", 40)
        nest.Connect(nest.Create("poisson_generator", params={"rate": 20.0}), pre)
        nest.Connect(pre, post, syn_spec={"synapse_model": syn, "weight": 2.0, "delay": 1.0, **rule, **syn_extra})
        rec = nest.Create("spike_recorder")
        nest.Connect(post, rec)
        nest.Simulate(2000.0)
        conns = nest.GetConnections(source=pre, synapse_model=syn)
        out[label] = (np.sort(rec.events["times"]), np.asarray(conns.get("weight"), float))
    assert len(out["nest"][0]) > 50
    np.testing.assert_array_equal(out["ours"][0], out["nest"][0])
    assert np.ptp(out["nest"][1]) > 0.1   # the weights moved
    np.testing.assert_allclose(out["ours"][1], out["nest"][1], rtol=0, atol=1e-12)


BRIAN2_PYTHON = paths.REPO_ROOT / ".venv-brian2" / "bin" / "python"
#: the catalog AdEx's defaults, and a start away from rest (conductances and adaptation decaying over the run)
ADEX = {"C_m": 281.0, "g_L": 30.0, "E_L": -70.6, "V_th": -50.4, "Delta_T": 2.0, "V_peak": 0.0, "V_reset": -60.0,
        "a": 4.0, "b": 80.5, "tau_w": 144.0, "E_ex": 0.0, "E_in": -85.0, "tau_syn_ex": 0.2, "tau_syn_in": 2.0,
        "I_e": 800.0}
ADEX_START = {"V_m": -65.0, "w": 50.0, "g_ex": 20.0, "g_in": 10.0}
BRIAN2_ADEX = """
import json, sys
from brian2 import *
p, start, t_ms = json.loads(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3])
prefs.codegen.target = "numpy"
defaultclock.dt = 0.1 * ms
ns = {"C_m": p["C_m"] * pF, "g_L": p["g_L"] * nS, "E_L": p["E_L"] * mV, "V_th": p["V_th"] * mV,
      "Delta_T": p["Delta_T"] * mV, "V_peak": p["V_peak"] * mV, "V_reset": p["V_reset"] * mV, "a": p["a"] * nS,
      "b": p["b"] * pA, "tau_w": p["tau_w"] * ms, "E_ex": p["E_ex"] * mV, "E_in": p["E_in"] * mV,
      "tau_syn_ex": p["tau_syn_ex"] * ms, "tau_syn_in": p["tau_syn_in"] * ms, "I_e": p["I_e"] * pA}
eqs = '''
dv/dt = (-g_L*(v-E_L) + g_L*Delta_T*exp((v-V_th)/Delta_T) - g_ex*(v-E_ex) - g_in*(v-E_in) - w + I_e)/C_m : volt
dw/dt = (a*(v-E_L) - w)/tau_w : amp
dg_ex/dt = -g_ex/tau_syn_ex : siemens
dg_in/dt = -g_in/tau_syn_in : siemens
'''
G = NeuronGroup(1, eqs, threshold="v > V_peak", reset="v = V_reset; w += b", method="exponential_euler",
                namespace=ns)
G.v, G.w, G.g_ex, G.g_in = start["V_m"] * mV, start["w"] * pA, start["g_ex"] * nS, start["g_in"] * nS
mon = StateMonitor(G, "v", record=0, when="end")
spikes = SpikeMonitor(G)
run(t_ms * ms)
print(json.dumps({"v": list(map(float, mon.v[0] / mV)), "spikes": list(map(float, spikes.t / ms))}))
"""


@pytest.mark.skipif(not BRIAN2_PYTHON.is_file(), reason="no Brian2 environment (make brian2-setup)")
@pytest.mark.slow   # twenty seconds: a module built and Brian2's run
def test_exponential_euler_adex_is_brian2s_exponential_euler(built_module, tmp_path):
    """The catalog AdEx with exponential-Euler against Brian2's exponential_euler on the same neuron and start:
    the same spike steps, V_m within 1e-6 mV (the arithmetic's order differs)."""
    import json
    import subprocess

    import nest

    shutil.copy(paths.MODELS_DIR / "aeif_cond_exp_neuron.nestml", tmp_path)
    (tmp_path / "module.yaml").write_text("module: expeuler_module\nsuffix: _expeuler\nneurons: [aeif_cond_exp_neuron]\n"
                                          "solvers:\n  aeif_cond_exp_neuron: exponential-Euler\n")
    mod = make_module(tmp_path, log=lambda line: None).module
    t_ms = 500.0
    done = subprocess.run([str(BRIAN2_PYTHON), "-c", BRIAN2_ADEX, json.dumps(ADEX), json.dumps(ADEX_START),
                           str(t_ms)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    brian = json.loads(done.stdout.strip().splitlines()[-1])
    nestml_lab.reset_kernel(also=mod)
    nest.resolution = 0.1
    neuron = nest.Create(mod.neuron("aeif_cond_exp_neuron"), params={**ADEX, **ADEX_START})
    mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 0.1})
    rec = nest.Create("spike_recorder")
    nest.Connect(mm, neuron)
    nest.Connect(neuron, rec)
    nest.Simulate(t_ms)
    ours_spikes = np.asarray(rec.events["times"]) - 0.1   # NEST stamps the step's end, Brian2 its start
    assert len(brian["spikes"]) > 5
    np.testing.assert_allclose(ours_spikes, brian["spikes"], rtol=0, atol=1e-9)
    v_ours, v_brian = np.asarray(mm.events["V_m"]), np.asarray(brian["v"])
    n = min(len(v_ours), len(v_brian))
    assert n > 4000
    np.testing.assert_allclose(v_ours[:n], v_brian[:n], rtol=0, atol=1e-6)


def test_exponential_euler_refuses_an_equation_not_linear_in_its_variable(built_module, tmp_path):
    """Izhikevich's dV/dt has V^2: exponential Euler cannot take it (Brian2 refuses it too); the build says so."""
    from nestml_lab.codegen.errors import CodegenError

    shutil.copy(paths.MODELS_DIR / "izhikevich_neuron.nestml", tmp_path)
    (tmp_path / "module.yaml").write_text("module: x_module\nsuffix: _x\nneurons: [izhikevich_neuron]\n"
                                          "solvers:\n  izhikevich_neuron: exponential-Euler\n")
    with pytest.raises(CodegenError, match=r"neuron izhikevich_neuron: solvers: exponential-Euler: dV_m/dt is not "
                                           r"linear in V_m .*use rk45, rk4 or an Euler"):
        make_module(tmp_path, log=lambda line: None)


def test_exponential_euler_is_first_order(built_module, tmp_path, nest_kernel):
    """The AdEx below threshold against a tight scipy solution: exponential Euler's error halves with the step
    (order 1: the exponential term and the adaptation current are frozen over the step)."""
    from scipy.integrate import solve_ivp

    nest = nest_kernel
    shutil.copy(paths.MODELS_DIR / "aeif_cond_exp_neuron.nestml", tmp_path)
    (tmp_path / "module.yaml").write_text("module: expe_module\nsuffix: _expe\nneurons: [aeif_cond_exp_neuron]\n"
                                          "solvers:\n  aeif_cond_exp_neuron: exponential-Euler\n")
    mod = make_module(tmp_path, log=lambda line: None).module
    p = {**ADEX, "I_e": 400.0, "b": 0.0}

    def rhs(_t, y):
        v, w = y
        dv = (-p["g_L"] * (v - p["E_L"]) + p["g_L"] * p["Delta_T"] * np.exp((v - p["V_th"]) / p["Delta_T"])
              - w + p["I_e"]) / p["C_m"]
        return [dv, (p["a"] * (v - p["E_L"]) - w) / p["tau_w"]]

    exact = solve_ivp(rhs, (0.0, 20.0), [-65.0, 0.0], method="DOP853", rtol=1e-12, atol=1e-12).y[0, -1]
    errors = []
    for h in (0.2, 0.1, 0.05):
        nestml_lab.reset_kernel(also=mod)
        nest.resolution = h
        n = nest.Create(mod.neuron("aeif_cond_exp_neuron"), params={**p, "V_m": -65.0, "w": 0.0})
        nest.Simulate(20.0)
        errors.append(abs(float(n.get("V_m")) - exact))
    assert -66.0 < exact < -50.0   # below threshold, the exponential term at work
    assert 1.6 < errors[0] / errors[1] < 2.4 and 1.6 < errors[1] / errors[2] < 2.4, errors
