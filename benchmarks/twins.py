"""Every catalog neuron against its NEST built-in twin: the update itself, side by side.

    python -m benchmarks.twins            # or: python -m benchmarks.run --only twins

N unconnected neurons of each model, the catalog's set to the twin's parameter values (every parameter the two
share), the same Poisson input, one thread; the CPU time of ``Simulate`` in a child process per run, and whether
the spikes are identical. Each A/B pair runs side by side, one core each, the cores swapped every pair, so that
both meet the same load of a shared machine (run one after the other, single pairs spread by up to 1.3x here).
Nothing is asserted: the figures are printed and kept.
"""

from __future__ import annotations

import json

from benchmarks.common import PYTHON, ROOT, TIMED_RUN, ab_pairs, env_for, log, summary

#: catalog neuron -> (Poisson rate (Hz), weight of the input in its twin's unit); the twin is the one the
#: catalog's module.yaml names (``twins:``)
DRIVES = {
    "iaf_psc_exp_neuron": (8000.0, 87.8),
    "iaf_psc_alpha_neuron": (8000.0, 87.8),
    "iaf_cond_exp_neuron": (20000.0, 1.5),
    "izhikevich_neuron": (3000.0, 1.5),
    "aeif_cond_exp_neuron": (20000.0, 4.0),
}


def catalog_twin(neuron: str) -> str:
    """The NEST twin of a catalog neuron, as models/module.yaml names it (``twins:``)."""
    from nestml_lab import catalog

    twins = catalog.manifest().twins
    if neuron not in twins:
        raise KeyError(f"{neuron} has no twin in the catalog's module.yaml (twins:); it names: {', '.join(twins)}")
    return twins[neuron].twin

_CHILD = """
import json, sys, time
import nest, numpy as np
import nestml_lab
catalog_name, twin, rate, weight, n, t_sim, which = sys.argv[1:8]
n, t_sim, rate, weight = int(n), float(t_sim), float(rate), float(weight)
nest.set_verbosity("M_ERROR")
cat = nestml_lab.catalog.module()
model = cat.neuron(catalog_name) if which == "catalog" else twin
info = cat.models()[cat.neuron(catalog_name)]
declared = {**info.parameters, **info.state}   # the catalog model's own parameters and state
shared = {k: v for k, v in nest.GetDefaults(twin).items() if k in declared and isinstance(v, float)}
nestml_lab.reset_kernel()
nest.local_num_threads, nest.rng_seed = 1, 1
pop = nest.Create(model, n, params=shared if which == "catalog" else {})
noise = nest.Create("poisson_generator", params={"rate": rate})
nest.Connect(noise, pop, syn_spec={"weight": weight})
extra = lambda: {"shared": sorted(shared)}
""" + TIMED_RUN


def _ab_runs(command, pairs: int) -> dict:
    """``pairs`` A/B pairs of the child ``command(which)`` (which: "catalog", "nest"), each pair side by side,
    the cores swapped every pair: ``{"catalog": [result, ...], "nest": [...]}``.
    """
    results = ab_pairs(command("catalog"), command("nest"), pairs, env=env_for(ROOT))
    return {"catalog": [r[0] for r in results], "nest": [r[1] for r in results]}


def _side_by_side(twin: str, cat: list, nest: list) -> dict:
    """The A/B runs of the catalog model and its twin: CPU times, their ratio, spikes, identical or not."""
    entry = {"twin": twin, "catalog_cpu_s": summary([r["cpu_s"] for r in cat]),
             "nest_cpu_s": summary([r["cpu_s"] for r in nest]),
             "spikes": {"catalog": cat[0]["spikes"], "nest": nest[0]["spikes"]},
             "identical_spikes": cat[0]["trains"] == nest[0]["trains"]}
    entry["ratio"] = entry["catalog_cpu_s"]["median"] / entry["nest_cpu_s"]["median"]
    entry["ratios"] = [a["cpu_s"] / b["cpu_s"] for a, b in zip(cat, nest)]
    return entry


def bench_twins(quick: bool) -> dict:
    """Each catalog neuron and its twin, A/B pairs; ratio of the medians, identical spikes or not."""
    n, t_sim, pairs = (500, 200.0, 2) if quick else (2000, 500.0, 4)
    res: dict = {"neurons": n, "t_sim_ms": t_sim, "pairs": pairs, "models": {}}
    for catalog_name, (rate, weight) in DRIVES.items():
        twin = catalog_twin(catalog_name)
        runs = _ab_runs(lambda which: [PYTHON, "-c", _CHILD, catalog_name, twin, str(rate), str(weight), str(n),
                                       str(t_sim), which], pairs)
        entry = _side_by_side(twin, runs["catalog"], runs["nest"])
        entry["shared_parameters"] = runs["catalog"][0]["shared"]
        res["models"][catalog_name] = entry
        log(f"[bench/twins] {catalog_name} / {twin}: {entry['ratio']:.2f}x ("
            + ", ".join(f"{x:.2f}" for x in entry["ratios"]) + f"), spikes {entry['spikes']['catalog']} vs "
            f"{entry['spikes']['nest']}, identical: {entry['identical_spikes']}")
    res["synapses"] = bench_synapse_twins(quick)["synapses"]
    return res


#: catalog synapse -> NEST twin; the plastic ones run on their co-generated iaf_psc_exp_neuron (NEST's on
#: iaf_psc_exp), the others on NEST's iaf_psc_exp on both sides
SYNAPSE_TWINS = {"static_synapse": "static_synapse", "tsodyks_synapse": "tsodyks_synapse",
                 "stdp_synapse": "stdp_synapse", "stdp_nn_symm_synapse": "stdp_nn_symm_synapse",
                 "stdp_triplet_synapse": "stdp_triplet_synapse"}

_SYNAPSE_CHILD = """
import json, sys, time
import nest, numpy as np
import nestml_lab
from nestml_lab import references
from nestml_lab.experiments.shared.stdp_references import POST_TIME_CONSTANTS as _POST_TIME_CONSTANTS
ours_name, twin, which, n, t_sim = sys.argv[1:6]
n, t_sim = int(n), float(t_sim)
nest.set_verbosity("M_ERROR")
cat = nestml_lab.catalog.module()
plastic = ours_name in _POST_TIME_CONSTANTS
if plastic:
    neuron, syn = cat.pair("iaf_psc_exp_neuron", ours_name)
    to_nest = {o: th for th, o in references.NEST_TWINS[twin][1].items()}
    syn_defaults, neu_defaults = nest.GetDefaults(syn), nest.GetDefaults(neuron)
    rule = {to_nest[o]: float(syn_defaults[o]) for o in to_nest}             # the catalog rule's values
    post = {v: float(neu_defaults[cat.moved_parameter(ours_name, m)]) for m, v in _POST_TIME_CONSTANTS[ours_name].items()}
    if which == "nest":
        neuron, syn, syn_params, neuron_params = "iaf_psc_exp", twin, rule, post
    else:
        syn_params, neuron_params = {}, {}
else:
    neuron, syn_params, neuron_params = "iaf_psc_exp", {}, {}
    syn = cat.synapse(ours_name) if which == "catalog" else twin
nestml_lab.reset_kernel()
nest.local_num_threads, nest.rng_seed = 1, 1
pop = nest.Create(neuron, n, params=neuron_params)
noise = nest.Create("poisson_generator", params={"rate": 8000.0})
nest.Connect(noise, pop, syn_spec={"weight": 87.8})
nest.Connect(pop, pop, {"rule": "fixed_indegree", "indegree": 100},
             {"synapse_model": syn, "weight": 5.0, "delay": 1.5, **syn_params})
extra = lambda: {"weights": np.asarray(nest.GetConnections(source=pop[:20], synapse_model=syn).get("weight"),
                                      float).tolist()}
""" + TIMED_RUN


def bench_synapse_twins(quick: bool) -> dict:
    """Each catalog synapse and its NEST twin in a recurrent network, A/B pairs; identical spikes and weights."""
    n, t_sim, pairs = (500, 200.0, 2) if quick else (1000, 1000.0, 4)
    res: dict = {"neurons": n, "t_sim_ms": t_sim, "pairs": pairs, "synapses": {}}
    for ours, twin in SYNAPSE_TWINS.items():
        runs = _ab_runs(lambda which: [PYTHON, "-c", _SYNAPSE_CHILD, ours, twin, which, str(n), str(t_sim)], pairs)
        cat, nest = runs["catalog"], runs["nest"]
        entry = _side_by_side(twin, cat, nest)
        entry["max_weight_difference"] = (max((abs(a - b) for a, b in zip(cat[0]["weights"], nest[0]["weights"])),
                                              default=0.0) if len(cat[0]["weights"]) == len(nest[0]["weights"])
                                          else None)
        res["synapses"][ours] = entry
        log(f"[bench/twins] {ours} / {twin}: {entry['ratio']:.2f}x ("
            + ", ".join(f"{x:.2f}" for x in entry["ratios"]) + f"), identical spikes {entry['identical_spikes']}, "
            f"largest weight difference {entry['max_weight_difference']}")
    return res


def markdown(t: dict) -> list[str]:
    """The BENCHMARKS.md section of :func:`bench_twins`."""
    out = ["## Every catalog neuron against its NEST twin", "",
           f"{t['neurons']} unconnected neurons, the catalog's set to the twin's parameter values, the same Poisson "
           f"input, {t['t_sim_ms']:g} ms, one thread; CPU time of `Simulate`, {t['pairs']} A/B pairs, each run side by "
           "side on the two cores, swapped every pair (`benchmarks/twins.py`).", "",
           "| catalog neuron | NEST twin | catalog | NEST | ratio (pairs) | spikes | identical |",
           "|---|---|---|---|---|---|---|"]
    for name, e in t["models"].items():
        out.append(f"| {name} | {e['twin']} | {e['catalog_cpu_s']['median']:.3f} s | {e['nest_cpu_s']['median']:.3f} s "
                   f"| {e['ratio']:.2f} ({', '.join(f'{x:.2f}' for x in e['ratios'])}) | {e['spikes']['catalog']} / "
                   f"{e['spikes']['nest']} | {'yes' if e['identical_spikes'] else 'no'} |")
    if t.get("synapses"):
        s = t["synapses"]
        out += ["", "Synapses: a recurrent network of iaf_psc_exp neurons (the plastic "
                "synapses on their co-generated catalog neuron, NEST's on iaf_psc_exp), 100 inputs per neuron "
                "through the synapse, the catalog rule's parameter values on both sides; CPU time of `Simulate`.", "",
                "| catalog synapse | NEST twin | ratio (pairs) | spikes | identical | largest weight difference |",
                "|---|---|---|---|---|---|"]
        for name, e in s.items():
            diff = "-" if e["max_weight_difference"] is None else f"{e['max_weight_difference']:.1e}"
            out.append(f"| {name} | {e['twin']} | {e['ratio']:.2f} ({', '.join(f'{x:.2f}' for x in e['ratios'])}) | "
                       f"{e['spikes']['catalog']} / {e['spikes']['nest']} | {'yes' if e['identical_spikes'] else 'no'} "
                       f"| {diff} |")
    return out + [""]


if __name__ == "__main__":
    result = bench_twins(quick=False)
    print("\n".join(markdown(result)))
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "shared_parameters"}
                      for k, v in result["models"].items()}, indent=1))
