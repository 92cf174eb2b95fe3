"""The notebook loop: a modeller's cell that builds seed 001's neuron + STDP synapse with ``generate_code_for``,
installs it and simulates, run in a real Jupyter kernel, as the cell is edited.

    python -m benchmarks.notebook_loop        # or: python -m benchmarks.run --only notebook

Calls timed from the call to the new spikes (build or cache, ``nest.Install``, a 200 ms network): the first with
an empty module cache and an empty compiler cache (ccache, where there is one), then the same cell with one of the
neuron's parameter defaults edited, one of the synapse's, and one of the neuron's equations (each edit a new value
every repeat, so no cache holds it; the compiler cache is as the first call left it). Each call's stages are read from its build: NESTML's
(``STAGES.json``) and the compiler's (``compile-times.txt``). Nothing is asserted: the figures are printed and kept.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.common import ROOT, log, summary

#: The cell's edits: (what, old text, new text with {i} for the repeat) in seed 001's neuron.
EDITS = {
    "parameter default": ("NEURON", "V_th mV = 30 mV", "V_th mV = {v} mV", lambda i: 30 - 0.5 * (i + 1)),
    "synapse parameter default": ("SYNAPSE", "lambda real = .01", "lambda real = {v}", lambda i: 0.01 + 0.005 * (i + 1)),
    "equation": ("NEURON", "5.0 * V_m", "{v} * V_m", lambda i: 5.0 + 0.01 * (i + 1)),
}

_SETUP = '''
import json, time
from pathlib import Path
import nest
from nestml_lab import generate_code_for
from nestml_lab.cmake import compile_times
from nestml_lab.module_cache import cache_root
nest.set_verbosity("M_ERROR")
NEURON = Path({neuron!r}).read_text()
SYNAPSE = Path({synapse!r}).read_text()
RESULTS = []

def cell(neuron_text, label, synapse_text=SYNAPSE):
    t0 = time.perf_counter()
    module, neuron, synapse = generate_code_for(neuron_text, synapse_text, post_ports=["post_spikes"], logging_level="ERROR",
                                                codegen_opts={{"weight_variable": {{"seed001_stdp_synapse": "w"}}}})
    built = time.perf_counter() - t0
    nest.ResetKernel()
    nest.Install(module)
    pop = nest.Create(neuron, 2, params={{"I_e": 10.0}})
    nest.Connect(pop[0], pop[1], syn_spec={{"synapse_model": synapse, "weight": 1.0}})
    rec = nest.Create("spike_recorder")
    nest.Connect(pop, rec)
    nest.Simulate(200.0)
    total = time.perf_counter() - t0
    folder = cache_root() / module[len("nestml_"):-len("_module")] / "build"
    stages = json.loads((folder / "generated" / "STAGES.json").read_text())["totals"] \\
        if (folder / "generated" / "STAGES.json").is_file() else {{}}
    for times in folder.glob("nest-*/cmake/compile-times.txt"):
        t = compile_times(times)
        stages["compile, summed over translation units"] = sum(t.units.values())
        stages["slowest translation unit"] = max(t.units.values(), default=0.0)
        stages["link"] = t.link
    RESULTS.append({{"label": label, "seconds": total, "build_s": built, "spikes": len(rec.events["times"]),
                    "stages": stages}})
'''


def _notebook(neuron: Path, synapse: Path, repeats: int):
    import nbformat

    cells = [nbformat.v4.new_code_cell(_SETUP.format(neuron=str(neuron), synapse=str(synapse))),
             nbformat.v4.new_code_cell('cell(NEURON, "first call, empty caches")')]
    for i in range(repeats):
        for label, (model, old, new, value) in EDITS.items():
            new_text = new.format(v=round(value(i), 6))
            edited = f"{model}.replace({old!r}, {new_text!r})"
            call = f"cell(NEURON, {label!r}, {edited})" if model == "SYNAPSE" else f"cell({edited}, {label!r})"
            cells.append(nbformat.v4.new_code_cell(f"assert {old!r} in {model}\n{call}"))
    cells.append(nbformat.v4.new_code_cell('print("RESULT " + json.dumps(RESULTS))'))
    return nbformat.v4.new_notebook(cells=cells)


def _all_rewrites_but(name: str) -> str:
    from nestml_lab.codegen.edits import REWRITES

    return ",".join(r for r in REWRITES if r != name)


#: The levers measured side by side: (key, what turns the lever off, the section's text). Each is the same loop
#: in a new kernel with fresh caches, with that one lever off.
LEVERS = (
    ("without_relative_paths", lambda: {"CCACHE_BASEDIR": ""},
     "Lever: the compiler cache told to hash paths below the build folder as relative ones (`CCACHE_BASEDIR`, set "
     "by every build), so that a cell's edit, a new folder of the module cache, finds the translation units whose "
     "text did not change (the synapse's, 9 s):"),
    ("without_defaults_unit", lambda: {"NESTML_LAB_REWRITES": _all_rewrites_but("defaults_unit")},
     "Lever: R11 `defaults_unit`, a neuron's literal defaults in a translation unit of their own, so that an edited "
     "default leaves the neuron's unit (5-6 s, twice for a pair's plain and co-generated neuron) to the compiler "
     "cache:"),
    ("without_defaults_only", lambda: {"NESTML_LAB_DEFAULTS_ONLY": "0"},
     "Lever: an edit of parameter defaults alone made without NESTML, from the code of an earlier build of the same "
     "shape with its numbers printed anew (`codegen/defaults_only.py`):"),
    ("without_warm_worker", lambda: {"NESTML_LAB_WARM_WORKER": "0"},
     "Lever: the warm NESTML worker, a process of the kernel's that has imported NESTML and compiled its templates "
     "once and forks each run (`codegen/zygote.py`; without it each run is a fresh process):"),
    ("without_pch", lambda: {"NESTML_LAB_PCH": "0"},
     "Lever: NEST's headers precompiled once for the machine (`cmake/pch.py`; in these fresh caches the first call "
     "makes the `.gch` while NESTML runs), so that a neuron's unit, the registration and a synapse's parse no NEST "
     "header:"),
)


def bench_notebook_loop(quick: bool) -> dict:
    """The notebook cell: first call, a parameter default edited, an equation edited; medians and stages; then the
    same without each lever of :data:`LEVERS`.
    """
    res = _loop(quick)
    for key, off, _text in LEVERS:
        res[key] = _loop(quick, off())["calls"]
    return res


def _loop(quick: bool, off: dict | None = None) -> dict:
    """One kernel's run of the cell and its edits, in a fresh module cache and compiler cache; ``off``: the
    environment that turns a lever off (with every lever on, the build sets CCACHE_BASEDIR itself: none here).
    """
    import nbclient

    repeats = 1 if quick else 2
    models = ROOT / "models"
    work = Path(tempfile.mkdtemp(prefix="notebook-loop-"))
    env = {"NESTML_LAB_CACHE": str(work / "cache"), "CCACHE_DIR": str(work / "ccache"), "CCACHE_BASEDIR": None,
           "NESTML_LAB_REWRITES": None, "NESTML_LAB_DEFAULTS_ONLY": None, "NESTML_LAB_WARM_WORKER": None,
           "NESTML_LAB_PCH": None,
           **(off or {})}
    saved = {k: os.environ.get(k) for k in env}
    for k, v in env.items():   # the kernel inherits them
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        nb = _notebook(models / "seed001_izhikevich_neuron.nestml", models / "seed001_stdp_synapse.nestml", repeats)
        log(f"[bench/notebook] seed 001's neuron + synapse in a Jupyter kernel: first call, then {repeats} x "
            f"{' and '.join(EDITS)} edited" + (f"; a lever off: {off}" if off else ""))
        nbclient.NotebookClient(nb, timeout=1800, kernel_name="python3",
                                resources={"metadata": {"path": str(work)}}).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if c.cell_type == "code")
    runs = json.loads(text.split("RESULT ", 1)[1].splitlines()[0])
    shutil.rmtree(work, ignore_errors=True)
    res: dict = {"repeats": repeats, "ccache": bool(shutil.which("ccache")), "calls": {}}
    for label in ["first call, empty caches", *EDITS]:
        mine = [r for r in runs if r["label"] == label]
        res["calls"][label] = {"seconds": summary([r["seconds"] for r in mine]),
                               "build_s": summary([r["build_s"] for r in mine]),
                               "spikes": [r["spikes"] for r in mine], "stages": mine[-1]["stages"]}
        log(f"[bench/notebook]   {label}: median {res['calls'][label]['seconds']['median']:.1f} s to new spikes "
            f"(build {res['calls'][label]['build_s']['median']:.1f} s); stages of the last: "
            + ", ".join(f"{k} {v:.1f}" for k, v in mine[-1]["stages"].items()))
    return res


#: The issue's goals for the loop (seconds, this 2-core machine).
GOALS = {"first call, empty caches": 20.0, "parameter default": 5.0, "synapse parameter default": 5.0,
         "equation": 10.0}


def markdown(r: dict) -> list[str]:
    """The notebook loop's section of BENCHMARKS.md."""
    out = ["", "### The notebook loop", "",
           f"Seed 001's neuron + STDP synapse built by `generate_code_for` in a Jupyter kernel, installed and "
           f"simulated (200 ms): the time from the call to the new spikes; medians of {r['repeats']} edit(s), "
           f"each a new value (compiler cache: {'ccache, empty at the first call' if r['ccache'] else 'none'}).",
           "", "| the cell | to new spikes | of it, the build | goal | stages of the build (s) |", "|---|---|---|---|---|"]
    for label, c in r["calls"].items():
        goal = GOALS.get(label)
        met = "" if goal is None else (f"<= {goal:.0f} s, met" if c["seconds"]["median"] <= goal
                                       else f"<= {goal:.0f} s, **not met**")
        stages = ", ".join(f"{k} {v:.1f}" for k, v in c["stages"].items())
        out.append(f"| {label} | {c['seconds']['median']:.1f} s | {c['build_s']['median']:.1f} s | {met} | {stages} |")
    for key, _off, text in LEVERS:
        off = r.get(key)
        if not off:
            continue
        out += ["", text, "", "| the cell | with | without | without / with |", "|---|---|---|---|"]
        for label, c in r["calls"].items():
            a, b = c["seconds"]["median"], off[label]["seconds"]["median"]
            out.append(f"| {label} | {a:.1f} s | {b:.1f} s | {b / a:.2f} |")
    return out


if __name__ == "__main__":
    result = bench_notebook_loop("--quick" in sys.argv)
    print("\n".join(markdown(result)))
