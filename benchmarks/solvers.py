"""What each solver costs: the catalog's Izhikevich and AdEx neurons built with every solver they take, side by
side, against NEST's built-in twin.

    python -m benchmarks.solvers            # or: python -m benchmarks.run --only solvers

N unconnected neurons, the same Poisson input, one thread, CPU time of ``Simulate`` in a child process per run,
each solver's run side by side with the twin's (A/B pairs, one core each, the cores swapped every pair); spike
counts and whether the spikes equal the twin's. Nothing is asserted.
"""

from __future__ import annotations

import json

from benchmarks.common import PYTHON, ROOT, TIMED_RUN, ab_pairs, child_json, env_for, log, summary
from benchmarks.twins import catalog_twin

#: catalog neuron -> (Poisson rate (Hz), weight, solvers it takes); its twin is the one the catalog's module.yaml
#: names (``twins:``)
MODELS = {
    "izhikevich_neuron": (3000.0, 1.5, ("rk45", "forward-Euler", "semi-implicit-Euler", "rk4")),
    "aeif_cond_exp_neuron": (20000.0, 4.0, ("rk45", "exponential-Euler", "rk4", "forward-Euler")),
}

_CHILD = """
import json, sys, time
import nest, numpy as np
import nestml_lab
from nestml_lab import paths
from nestml_lab.module_cache import build_models
model, twin, solver, rate, weight, n, t_sim = sys.argv[1:8]
n, t_sim, rate, weight = int(n), float(t_sim), float(rate), float(weight)
nest.set_verbosity("M_ERROR")
if solver == "nest":
    name = twin
else:
    mod = build_models({model: (paths.MODELS_DIR / f"{model}.nestml").read_text()}, solver=solver,
                       suffix="_" + solver.replace("-", "_").lower())
    mod.install()
    name = mod.neuron(model)
nestml_lab.reset_kernel()
declared = set(nest.GetDefaults(name)) if solver != "nest" else set()
shared = {k: v for k, v in nest.GetDefaults(twin).items() if k in declared and isinstance(v, float)
          and k not in ("Ca", "beta_Ca", "tau_Ca", "tau_minus", "tau_minus_triplet", "post_trace", "t_spike")}
nest.local_num_threads, nest.rng_seed = 1, 1
pop = nest.Create(name, n, params=shared)
noise = nest.Create("poisson_generator", params={"rate": rate})
nest.Connect(noise, pop, syn_spec={"weight": weight})
extra = dict
""" + TIMED_RUN


def bench_solvers(quick: bool) -> dict:
    """Per model: every solver against the twin, A/B pairs side by side (one core each, the cores swapped every
    pair, as ``benchmarks/twins.py``); the ratio of the medians, spikes, identical or not.
    """
    n, t_sim, rounds = (500, 200.0, 2) if quick else (2000, 500.0, 4)
    res: dict = {"neurons": n, "t_sim_ms": t_sim, "rounds": rounds, "models": {}}
    for model, (rate, weight, solvers) in MODELS.items():
        twin = catalog_twin(model)
        command = lambda s, n=n, t=t_sim: [PYTHON, "-c", _CHILD, model, twin, s, str(rate), str(weight), str(n),
                                           str(t)]
        nest_runs: list = []
        entry = {"twin": twin, "solvers": {}}
        for s in solvers:
            child_json(command(s, 10, 10.0), env=env_for(ROOT))   # builds (or finds) the variant, untimed
            pairs = ab_pairs(command(s), command("nest"), rounds, env=env_for(ROOT))
            ours, theirs = [p[0] for p in pairs], [p[1] for p in pairs]
            nest_runs += theirs
            cpu = summary([r["cpu_s"] for r in ours])["median"]
            ratio = cpu / summary([r["cpu_s"] for r in theirs])["median"]
            entry["solvers"][s] = {"cpu_s": cpu, "ratio": ratio, "ratios": [a["cpu_s"] / b["cpu_s"] for a, b in pairs],
                                   "spikes": ours[0]["spikes"], "identical": ours[0]["trains"] == theirs[0]["trains"]}
            log(f"[bench/solvers] {model} {s}: {ratio:.2f}x {twin} ("
                + ", ".join(f"{x:.2f}" for x in entry["solvers"][s]["ratios"]) + f"), spikes {ours[0]['spikes']} "
                f"vs {theirs[0]['spikes']}, identical: {entry['solvers'][s]['identical']}")
        entry["twin_cpu_s"] = summary([r["cpu_s"] for r in nest_runs])["median"]
        entry["twin_spikes"] = nest_runs[0]["spikes"]
        res["models"][model] = entry
    return res


def markdown(r: dict) -> list[str]:
    """The BENCHMARKS.md section of :func:`bench_solvers`."""
    out = ["## What each solver costs", "",
           f"{r['neurons']} unconnected neurons, the same Poisson input, {r['t_sim_ms']:g} ms, one thread; CPU time of "
           f"`Simulate`, {r['rounds']} A/B pairs per solver, each run side by side with the twin on the two cores, swapped "
           "every pair (`benchmarks/solvers.py`).", "",
           "| catalog neuron | solver | time / twin's (pairs) | spikes (twin's) | spike-identical to the twin |",
           "|---|---|---|---|---|"]
    for model, e in r["models"].items():
        for s, v in e["solvers"].items():
            out.append(f"| {model} | {s} | {v['ratio']:.2f} ({', '.join(f'{x:.2f}' for x in v['ratios'])}) | "
                       f"{v['spikes']} ({e['twin_spikes']}) | "
                       f"{'yes' if v['identical'] else 'no'} |")
    return out + [""]


if __name__ == "__main__":
    result = bench_solvers(quick=False)
    print("\n".join(markdown(result)))
    print(json.dumps({m: e["solvers"] for m, e in result["models"].items()}, indent=1))
