"""What each solver costs: the catalog's Izhikevich and AdEx neurons built with every solver they take, side by
side, against NEST's built-in twin.

    python -m benchmarks.solvers            # or: python -m benchmarks.run --only solvers

N unconnected neurons, the same Poisson input, one thread, CPU time of ``Simulate`` in a child process per run
(A/B rounds alternating the contenders); spike counts and whether the spikes equal the twin's. Nothing is
asserted.
"""

from __future__ import annotations

import json

from benchmarks.common import PYTHON, ROOT, TIMED_RUN, child_json, env_for, log, summary

#: catalog neuron -> (NEST twin, Poisson rate (Hz), weight, solvers it takes)
MODELS = {
    "izhikevich_neuron": ("izhikevich", 3000.0, 1.5, ("rk45", "forward-Euler", "semi-implicit-Euler", "rk4")),
    "aeif_cond_exp_neuron": ("aeif_cond_exp", 20000.0, 4.0, ("rk45", "exponential-Euler", "rk4", "forward-Euler")),
}

_CHILD = """
import json, sys, time
import nest, numpy as np
import nestml_lab
from nestml_lab import paths
from nestml_lab.notebook import build_models
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
    """Per model: every solver's CPU time against the twin's, spikes, identical or not."""
    n, t_sim, rounds = (500, 200.0, 1) if quick else (2000, 500.0, 3)
    res: dict = {"neurons": n, "t_sim_ms": t_sim, "rounds": rounds, "models": {}}
    for model, (twin, rate, weight, solvers) in MODELS.items():
        runs: dict = {s: [] for s in ("nest", *solvers)}
        for _ in range(rounds):
            for s in runs:
                runs[s].append(child_json([PYTHON, "-c", _CHILD, model, twin, s, str(rate), str(weight), str(n),
                                           str(t_sim)], env=env_for(ROOT)))
        twin_cpu = summary([r["cpu_s"] for r in runs["nest"]])["median"]
        entry = {"twin": twin, "twin_cpu_s": twin_cpu, "twin_spikes": runs["nest"][0]["spikes"], "solvers": {}}
        for s in solvers:
            cpu = summary([r["cpu_s"] for r in runs[s]])["median"]
            entry["solvers"][s] = {"cpu_s": cpu, "ratio": cpu / twin_cpu, "spikes": runs[s][0]["spikes"],
                                   "identical": runs[s][0]["trains"] == runs["nest"][0]["trains"]}
            log(f"[bench/solvers] {model} {s}: {cpu / twin_cpu:.2f}x {twin}, spikes {runs[s][0]['spikes']} vs "
                f"{entry['twin_spikes']}, identical: {entry['solvers'][s]['identical']}")
        res["models"][model] = entry
    return res


def markdown(r: dict) -> list[str]:
    """The BENCHMARKS.md section of :func:`bench_solvers`."""
    out = ["## What each solver costs", "",
           f"{r['neurons']} unconnected neurons, the same Poisson input, {r['t_sim_ms']:g} ms, one thread; CPU time of "
           f"`Simulate` (median of {r['rounds']}) against NEST's twin (`benchmarks/solvers.py`).", "",
           "| catalog neuron | solver | time / twin's | spikes (twin's) | spike-identical to the twin |",
           "|---|---|---|---|---|"]
    for model, e in r["models"].items():
        for s, v in e["solvers"].items():
            out.append(f"| {model} | {s} | {v['ratio']:.2f} | {v['spikes']} ({e['twin_spikes']}) | "
                       f"{'yes' if v['identical'] else 'no'} |")
    return out + [""]


if __name__ == "__main__":
    result = bench_solvers(quick=False)
    print("\n".join(markdown(result)))
    print(json.dumps({m: e["solvers"] for m, e in result["models"].items()}, indent=1))
