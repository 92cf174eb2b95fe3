"""Brian2 version of seed 004's AdEx E/I network, for the cross-check against the NEST run.

Standalone on purpose: it runs in its own environment (``make brian2-setup``:
brian2 with numpy < 2.4, which brian2 still needs; no NEST) and imports
nothing of the toolkit. It reads the network parameters from a JSON file
(written from :class:`AdexNetworkParams` by :func:`adex_network.brian2_crosscheck`)
and writes rates, ISI CVs and timings per condition:

    .venv-brian2/bin/python nestml_lab/experiments/shared/adex_brian2.py params.json out.json

The equations are the notebook's: AdEx with conductance synapses, the
Tsodyks-Markram release (p_s, n_s) and the additive clipped STDP of the
recurrent synapses; the Poisson group acts through short-term plasticity only.
"""

from __future__ import annotations

import json
import sys
import time


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB): VmHWM, which a forked child does not inherit (ru_maxrss does)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cv(trains) -> float:
    import numpy as np

    cvs = []
    for t in trains:
        isi = np.diff(np.sort(np.asarray(t)))
        if len(isi) >= 2 and isi.mean() > 0:
            cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else float("nan")


def run_condition(p: dict, condition: dict, classes: dict) -> dict:
    """Build and run one condition of the network in Brian2; rates, ISI CV and timings."""
    import numpy as np
    from brian2 import (Equations, Hz, Mohm, NeuronGroup, Network, PoissonGroup, SpikeMonitor, Synapses, TimedArray,
                        defaultclock, mV, ms, nS, pA, prefs, second, seed, start_scope)

    t_start = time.perf_counter()          # wall time counts building too, as NEST's does
    target = p.get("brian2_target", "numpy")
    standalone = target == "cpp_standalone"
    if standalone:   # one C++ project per condition; code generation + compile timed apart from the run
        from brian2 import device, set_device

        device.reinit()
        device.activate()
        set_device("cpp_standalone", directory=None, build_on_run=False)
        prefs.devices.cpp_standalone.openmp_threads = int(p.get("threads", 1))
    else:
        prefs.codegen.target = target
    start_scope()
    seed(p["seed"])
    rng = np.random.default_rng(p["seed"])
    defaultclock.dt = 0.1 * ms
    n_exc, n_inh = 4 * p["n_inh"], p["n_inh"]
    n = n_exc + n_inh
    el, vth, dt_, vcut = p["E_L_mV"] * mV, p["V_th_mV"] * mV, p["Delta_T_mV"] * mV, p["V_peak_mV"] * mV
    rin = p["R_in_MOhm"] * Mohm
    e_e, e_i = p["E_ex_mV"] * mV, p["E_in_mV"] * mV
    tau_e, tau_i = p["tau_ex_ms"] * ms, p["tau_in_ms"] * ms
    steps = np.zeros(int(p["t_sim_ms"]) + 1)
    steps[int(p["step_start_ms"]):int(p["step_stop_ms"])] = 1.0
    stim = TimedArray(steps * pA, dt=1 * ms)
    eqs = Equations("""
    dv/dt = (-(v - el) + dt_ * exp((v - vth) / dt_) + rin * (Isyn + stim_amp * stim(t) - w)) / tau_m : volt
    dw/dt = (a * (v - el) - w) / tau_w : amp
    Isyn = -g_e * (v - e_e) - g_i * (v - e_i) : amp
    dg_e/dt = -g_e / tau_e : siemens
    dg_i/dt = -g_i / tau_i : siemens
    a : siemens
    b : amp
    tau_m : second
    tau_w : second
    Vreset : volt
    stim_amp : 1
    """)
    method = p.get("brian2_method", "exponential_euler")
    g = NeuronGroup(n, eqs, threshold="v > vcut", reset="v = Vreset; w += b", method=method)
    g.v = el
    g.w = 0 * pA
    for lo, hi, cls, sigma in ((0, n_exc, classes["exc"], p["sigma_exc"]), (n_exc, n, classes["inh"], p["sigma_inh"])):
        k = hi - lo
        m = 1.0 + sigma * rng.standard_normal((5, k))
        g.tau_m[lo:hi] = cls["tau_m"] * m[0] * ms
        g.a[lo:hi] = cls["a"] * m[1] * nS
        g.tau_w[lo:hi] = cls["tau_w"] * m[2] * ms
        g.b[lo:hi] = cls["b"] * m[3] * pA
        g.Vreset[lo:hi] = cls["V_reset"] * m[4] * mV
    g.stim_amp[:n_exc // 2] = p["step_pA"]
    rates = rng.uniform(0, p["input_max_rate_hz"], p["input_units"])
    poisson = PoissonGroup(p["input_units"], rates * Hz)
    s = p["synapse_params"]
    ns = {"p_s0": s["p_s0"], "tau_ps": s["tau_ps"] * ms, "tau_ns": s["tau_ns"] * ms, "tau_stdp": 20.0 * ms,
          "Apre0": s["Apre0"], "Apost0": -s["Apre0"] * 1.05, "stdp_value": condition["stdp_value"],
          "w_e": p["w_e_nS"] * nS, "w_i": p["w_i_nS"] * nS, "w_in": p["input_weight_factor"] * p["w_e_nS"] * nS}
    tm = """
    dp_s/dt = (p_s0 - p_s) / tau_ps : 1 (event-driven)
    dn_s/dt = (1 - n_s) / tau_ns : 1 (event-driven)
    """
    stdp = """
    dApre/dt = -Apre / tau_stdp : 1 (event-driven)
    dApost/dt = -Apost / tau_stdp : 1 (event-driven)
    w_syn : 1
    """
    release = "p_s += p_s0 * (1 - p_s)\nr_s = p_s * n_s\nn_s -= r_s\n"
    syns = []
    if condition["poisson"]:
        s_in = Synapses(poisson, g[:n_exc], model=tm, on_pre=release + "g_e_post += w_in * r_s", namespace=ns)
        s_in.connect(p=p["input_p"])
        syns.append(s_in)
    for on, source, prob, wname, gname in ((condition["exc"], g[:n_exc], p["epsilon"], "w_e", "g_e"),
                                           (condition["inh"], g[n_exc:], 2 * p["epsilon"], "w_i", "g_i")):
        if not on:
            continue
        clip = f"(1 - stdp_value) * {wname} / nS, {wname} / nS"
        syn = Synapses(source, g, model=tm + stdp,
                       on_pre=release + f"Apre += Apre0\nw_syn = clip(w_syn + Apost, {clip})\n"
                                        f"{gname}_post += w_syn * r_s * nS",
                       on_post=f"Apost += Apost0\nw_syn = clip(w_syn + Apre, {clip})", namespace=ns)
        syn.connect(p=prob)
        syn.delay = f"{p['delay_ms']}*ms + 0.1*randn()*ms"
        syns.append(syn)
    for syn in syns:
        syn.p_s = s["p_s0"]
        syn.n_s = 1.0
    mon = SpikeMonitor(g)
    net = Network(g, poisson, mon, *syns)
    t0 = time.perf_counter()
    build = t0 - t_start
    net.run(p["t_sim_ms"] * ms, namespace={**ns, "el": el, "vth": vth, "dt_": dt_, "vcut": vcut, "rin": rin,
                                           "e_e": e_e, "e_i": e_i, "tau_e": tau_e, "tau_i": tau_i, "stim": stim})
    compile_s = None
    if standalone:
        import tempfile

        folder = tempfile.mkdtemp(prefix="brian2_standalone_")
        device.build(directory=folder, compile=True, run=False, with_output=False)
        compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        device.run(directory=folder, with_output=False)
    simulate = time.perf_counter() - t0
    trains = mon.spike_trains()
    i = np.asarray(mon.i)
    t_s = p["t_sim_ms"] / 1000.0
    return {"rate_exc_hz": float(np.sum(i < n_exc) / n_exc / t_s), "rate_inh_hz": float(np.sum(i >= n_exc) / n_inh / t_s),
            "cv_exc": _cv(trains[k] / second for k in range(n_exc)), "build_s": build, "simulate_s": simulate,
            "wall_s": build + simulate, "compile_s": compile_s, "target": target,
            "method": method, "peak_rss_mb": peak_rss_mb()}


def main(argv: list[str]) -> int:
    """Run every condition of the job file ``argv[1]`` and write the results to ``argv[2]``; return 0."""
    with open(argv[1]) as f:
        job = json.load(f)
    out = {name: run_condition(job["params"], cond, job["classes"]) for name, cond in job["conditions"].items()}
    with open(argv[2], "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
