"""A Brunel-style balanced random network, built with NEST's or the catalog's models (one run per process).

Run as ``python -m benchmarks.brunel '{"neuron": "nestml", "plastic": false, "scale": 1.0}'``; the
last stdout line is a JSON object with the build and Simulate() wall times, peak RSS, rates and
weight statistics. Parameters follow Brunel (2000), model A, with exponential currents as in
NEST's brunel_exp example: NE 8000, NI 2000, CE 800, CI 200, J 0.1 mV, g 5, eta 2, delay 1.5 ms.
"""

from __future__ import annotations

import json
import math
import sys
import time

DEFAULTS = {
    "neuron": "nest",        # "nest": built-in iaf_psc_exp; "nestml": the catalog's iaf_psc_exp_neuron;
                             # "nestml_raw": the same, NESTML's code without the rewrites (nestml_lab.unrewritten)
    "plastic": False,        # E->E through stdp_synapse (built-in, or the catalog's co-generated one)
    "scale": 1.0,            # multiplies NE, NI (CE, CI stay: the dynamics keep their regime)
    "threads": 2,
    "seed": 12345,
    "t_sim_ms": 1000.0,
    "NE": 8000, "NI": 2000, "CE": 800, "CI": 200,
    "J_mV": 0.1, "g": 5.0, "eta": 2.0, "delay_ms": 1.5,
    "tau_m_ms": 20.0, "C_m_pF": 250.0, "tau_syn_ms": 0.5, "theta_mV": 20.0, "V_reset_mV": 10.0, "t_ref_ms": 2.0,
    "weight_sample_sources": 100,
}


def psp_to_psc(p: dict) -> float:
    """PSC amplitude (pA) whose PSP in iaf_psc_exp peaks at J_mV."""
    tau_m, tau_s, c = p["tau_m_ms"], p["tau_syn_ms"], p["C_m_pF"]
    t_max = math.log(tau_s / tau_m) / (1.0 / tau_m - 1.0 / tau_s)
    peak = tau_s * tau_m / (c * (tau_m - tau_s)) * (math.exp(-t_max / tau_m) - math.exp(-t_max / tau_s))
    return p["J_mV"] / peak


def run(p: dict) -> dict:
    """Build and run the Brunel network of ``p`` in this process; timings, spike count and peak memory."""
    import nest
    import numpy as np

    from nestml_lab import catalog
    from nestml_lab.provenance import peak_rss_mb

    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    catalog.install_module()
    nest.local_num_threads = p["threads"]
    nest.rng_seed = p["seed"]
    nest.resolution = 0.1
    if p["neuron"] in ("nestml", "nestml_raw"):
        names = catalog
        if p["neuron"] == "nestml_raw":
            from nestml_lab import unrewritten as names

            names.install()
        if p["plastic"]:
            neuron, stdp = names.pair_models("iaf_psc_exp_neuron", "stdp_synapse")
        else:
            neuron, stdp = names.neuron_model("iaf_psc_exp_neuron"), None
    else:
        neuron, stdp = "iaf_psc_exp", "stdp_synapse"
    ne, ni = int(p["NE"] * p["scale"]), int(p["NI"] * p["scale"])
    j_ex = psp_to_psc(p)
    j_in = -p["g"] * j_ex
    nu_th = p["theta_mV"] / (p["J_mV"] * p["CE"] * p["tau_m_ms"])
    rate_ext = p["eta"] * nu_th * p["CE"] * 1000.0
    params = {"C_m": p["C_m_pF"], "tau_m": p["tau_m_ms"], "t_ref": p["t_ref_ms"], "E_L": 0.0,
              "V_reset": p["V_reset_mV"], "V_th": p["theta_mV"], "V_m": 0.0,
              "tau_syn_ex": p["tau_syn_ms"], "tau_syn_in": p["tau_syn_ms"]}
    t0 = time.perf_counter()
    exc = nest.Create(neuron, ne, params=params)
    inh = nest.Create(neuron, ni, params=params)
    noise = nest.Create("poisson_generator", params={"rate": rate_ext})
    sr = nest.Create("spike_recorder")
    d = p["delay_ms"]
    nest.Connect(noise, exc + inh, syn_spec={"weight": j_ex, "delay": d})
    if p["plastic"]:
        stdp_params = {"lambda": 0.01, "alpha": 2.02, "mu_plus": 0.0, "mu_minus": 0.0, "Wmax": 3.0 * j_ex}
        nest.Connect(exc, exc, {"rule": "fixed_indegree", "indegree": p["CE"]},
                     {"synapse_model": stdp, "weight": j_ex, "delay": d, **stdp_params})
        nest.Connect(exc, inh, {"rule": "fixed_indegree", "indegree": p["CE"]}, {"weight": j_ex, "delay": d})
    else:
        nest.Connect(exc, exc + inh, {"rule": "fixed_indegree", "indegree": p["CE"]}, {"weight": j_ex, "delay": d})
    nest.Connect(inh, exc + inh, {"rule": "fixed_indegree", "indegree": p["CI"]}, {"weight": j_in, "delay": d})
    nest.Connect(exc + inh, sr)
    nest.Prepare()
    nest.Run(1.0)   # connections are finalised in the first step: keep that out of the simulation time
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nest.Run(p["t_sim_ms"] - 1.0)
    sim_s = time.perf_counter() - t0
    nest.Cleanup()
    ev = sr.events
    senders = np.asarray(ev["senders"])
    n_exc = int(np.sum(senders <= exc[-1].global_id))
    out = {
        "build_s": build_s, "simulate_s": sim_s,
        "peak_rss_mb": peak_rss_mb(),
        "rate_exc_hz": n_exc / ne / (p["t_sim_ms"] / 1000.0),
        "rate_inh_hz": (len(senders) - n_exc) / ni / (p["t_sim_ms"] / 1000.0),
        "n_spikes": int(len(senders)),
        "n_connections": int(nest.num_connections),
        "neuron_model": neuron,
    }
    if p["plastic"]:
        conns = nest.GetConnections(source=exc[:p["weight_sample_sources"]], target=exc, synapse_model=stdp)
        c = conns.get(["source", "target", "weight"])
        w = np.asarray(c["weight"], dtype=float)
        w = w[np.lexsort((w, c["target"], c["source"]))]   # GetConnections' order is not the same for all models
        out.update(weight_mean=float(w.mean()), weight_std=float(w.std()), weight_n=int(len(w)),
                   weight_initial=j_ex, synapse_sizeof=int(nest.GetDefaults(stdp)["sizeof"]),
                   weight_sample=w.tolist())
    return out


if __name__ == "__main__":
    params = {**DEFAULTS, **json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")}
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        sys.exit(f"unknown parameter(s) {sorted(unknown)}")
    print(json.dumps({"params": params, **run(params)}))
