"""NESTML's own build flow on the catalog, for the build benchmark.

``generate_nest_target`` generates the models in one process and then runs
NESTML's builder (cmake, make -j, make install); models that need another value
of an option NESTML takes once per call (gap junctions, a continuous port's
buffering) are another call, and the compartmental model is NESTML's
``generate_nest_compartmental_target`` (:func:`calls`). The wheel's nest-config
reports the wheel builder's paths, so the builder is pointed at a small
nest-config that answers with the wheel's real headers and the flags our own
build uses (-O2, the old string ABI, OpenMP at compile time). Everything else
is NESTML's: its CMakeLists.txt, its generation, its version probe.

Run as ``python -m benchmarks.nestml_flow WORKDIR``.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

NEST_CONFIG = """#!/bin/sh
# nest-config for NESTML's builder, made by benchmarks/nestml_flow.py
case "$1" in
  --compiler) echo "{cxx}" ;;
  --prefix) echo "{prefix}" ;;
  --cflags) echo "-std=c++20 -O2 -fopenmp -D_GLIBCXX_USE_CXX11_ABI={abi} -w" ;;
  --includes) echo "-I{include}" ;;
  --libs) echo "" ;;
  --libdir) echo "{libdir}" ;;
  --static-libraries) echo "OFF" ;;
  --version) echo "3.10.0" ;;
  *) echo "" ;;
esac
"""


def fake_nest_prefix(work: Path) -> Path:
    """A folder that looks like a NEST installation prefix to NESTML's builder (``nest-config`` and the headers of the
    wheel), so its flow can be timed against ours.
    """
    import importlib.util
    import shutil
    import subprocess

    pkg = Path(importlib.util.find_spec("nest").origin).parent
    symbols = subprocess.run(["nm", "-D", "-C", str(pkg / "nestkernel_api.so")], capture_output=True, text=True).stdout
    abi = "1" if "__cxx11" in symbols else "0"
    prefix = work / "fake_nest"
    (prefix / "bin").mkdir(parents=True, exist_ok=True)
    script = prefix / "bin" / "nest-config"
    script.write_text(NEST_CONFIG.format(cxx=shutil.which("g++") or "c++", prefix=prefix, abi=abi,
                                         include=pkg / "include" / "nest", libdir=pkg))
    script.chmod(script.stat().st_mode | stat.S_IEXEC | stat.S_IXGRP | stat.S_IXOTH)
    return prefix


#: options NESTML takes once per call: models that need another value of one of them are another call
PER_CALL = ("gap_junctions", "continuous_state_buffering_method", "numeric_solver")


def calls(models_dir: str) -> list[dict]:
    """The ``generate_*_target`` calls a NESTML user makes for the catalog: one for every set of the options NESTML
    takes once per call (gap junctions, a continuous port's buffering, the solver) and one for the compartmental
    model (NESTML's NEST_compartmental target), each with the catalog's pairs, weight and delay variables.
    """
    import json

    from nestml_lab.codegen.manifest import load_manifest
    from nestml_lab.codegen.units import plan_units

    m = load_manifest(models_dir)
    groups: dict[str, dict] = {}
    for unit in plan_units(m, "v3.10.0"):
        opts = unit.codegen_opts
        special = {k: opts[k] for k in PER_CALL if k in opts}
        key = json.dumps([unit.platform, special], sort_keys=True)
        g = groups.setdefault(key, {"platform": unit.platform, "files": set(), "opts": dict(special)})
        g["files"].update(str(m.source(name)) for name in unit.models)
        if unit.compartmental:
            g["opts"]["use_fast_math"] = opts.get("use_fast_math", "None")
        for name in ("neuron_synapse_pairs", "synapse_models"):
            g["opts"][name] = g["opts"].get(name, []) + list(opts.get(name, []))
        for name in ("weight_variable", "delay_variable"):
            g["opts"][name] = {**g["opts"].get(name, {}), **opts.get(name, {})}
    out = []
    for i, g in enumerate(groups.values()):
        opts = {k: v for k, v in g["opts"].items() if v not in ([], {})}
        out.append({"platform": g["platform"], "files": sorted(g["files"]), "opts": opts, "module": f"nestmlflow{i}module",
                    "suffix": m.suffix})
    return out


def run_call(work_dir: Path, call: dict) -> int:
    """One ``generate_nest_target`` (or compartmental) call with NESTML's builder; return the exit status."""
    from pynestml.frontend.pynestml_frontend import generate_nest_compartmental_target, generate_nest_target

    generate = generate_nest_compartmental_target if call["platform"] == "NEST_compartmental" else generate_nest_target
    folder = work_dir / call["module"]
    folder.mkdir(parents=True, exist_ok=True)
    generate(call["files"], target_path=str(folder / "target"), install_path=str(folder / "install"),
             module_name=call["module"], suffix=call["suffix"], logging_level="ERROR",
             codegen_opts={"nest_path": str(fake_nest_prefix(work_dir)), **call["opts"]})
    if not list((folder / "install").rglob(f"{call['module']}*.so")):
        print(f"NESTML's flow finished without installing {call['module']}.so", file=sys.stderr)
        return 1
    return 0


def main(work: str) -> int:
    """Time NESTML's own generate-and-build flow in ``work``, one process per call, each call's outcome and time in
    ``work/flow.json`` (a call NESTML cannot build is recorded and the others go on); return the exit status.
    """
    import json
    import re
    import subprocess
    import time

    work_dir = Path(work).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    models = os.environ.get("NESTML_FLOW_MODELS", str(Path(__file__).resolve().parent.parent / "models"))
    record = []
    for call in calls(models):
        t = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "benchmarks.nestml_flow", str(work_dir), "--call",
                               json.dumps(call)], capture_output=True, text=True)
        errors = [re.sub(r"\S*/(?=\S+\.(?:cpp|h):)", "", ln.strip())   # the file's name, not the work folder's
                  for ln in (done.stdout + done.stderr).splitlines() if ": error:" in ln]
        record.append({"module": call["module"], "files": [Path(f).name for f in call["files"]],
                       "options": sorted(call["opts"]), "seconds": time.perf_counter() - t,
                       "ok": done.returncode == 0, "error": "" if done.returncode == 0 else
                       (errors[0] if errors else (done.stderr.strip().splitlines() or [""])[-1])[:300]})
        print(f"{call['module']}: {', '.join(record[-1]['files'])}; {record[-1]['seconds']:.1f} s; "
              + ("built" if record[-1]["ok"] else f"FAILED: {record[-1]['error']}"), flush=True)
    (work_dir / "flow.json").write_text(json.dumps(record, indent=1))
    return 0 if any(r["ok"] for r in record) else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--call":
        import json

        sys.exit(run_call(Path(sys.argv[1]).resolve(), json.loads(sys.argv[3])))
    sys.exit(main(sys.argv[1]))
