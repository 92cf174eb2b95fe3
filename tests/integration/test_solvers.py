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
