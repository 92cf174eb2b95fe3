"""NESTML's own build flow on the catalog, for the build benchmark.

``generate_nest_target`` generates all models in one process and then runs
NESTML's builder (cmake, make -j, make install). The wheel's nest-config
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


def main(work: str) -> int:
    """Time NESTML's own generate-and-build flow in ``work``; return the exit status."""
    work_dir = Path(work).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from nestml_lab.codegen.manifest import load_manifest
    from pynestml.frontend.pynestml_frontend import generate_nest_target

    m = load_manifest(os.environ.get("NESTML_FLOW_MODELS", str(Path(__file__).resolve().parent.parent / "models")))
    files = sorted({str(m.source(n)) for n in list(m.neurons) + list(m.synapses)})
    pairs = [{"neuron": p.neuron,
              "synapses": {s: {"post_ports": list(m.synapses[s].post_ports)} for s in p.synapses}}
             for p in m.pairs]
    opts = {"nest_path": str(fake_nest_prefix(work_dir)),
            "neuron_synapse_pairs": pairs,
            "weight_variable": {s: spec.weight_variable for s, spec in m.synapses.items()}}
    generate_nest_target(files, target_path=str(work_dir / "target"), install_path=str(work_dir / "install"),
                         module_name="nestmlflowmodule", suffix=m.suffix, logging_level="ERROR", codegen_opts=opts)
    built = list((work_dir / "install").rglob("nestmlflowmodule*.so"))
    if not built:
        print("NESTML's flow finished without installing nestmlflowmodule.so", file=sys.stderr)
        return 1
    print(f"installed {built[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
