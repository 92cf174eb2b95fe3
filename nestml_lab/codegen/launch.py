"""Start the NESTML worker (``codegen/worker.py``) in its own Python process: the one way the build and the
check stage run NESTML.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

#: the folder that holds the ``nestml_lab`` package: the worker imports it from there, installed or not
PACKAGE_PARENT = Path(__file__).resolve().parent.parent.parent


def run_worker(spec: dict, folder: Path | str, log: Path | str | None = None) -> tuple[dict | None, str]:
    """Write ``spec`` to ``folder/spec.json``, run the worker there and return ``(result, output)``: the
    result file's content (None when the worker died before writing it) and the worker's output (empty when
    ``log`` took it).
    """
    folder = Path(folder)
    spec_path = folder / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=1))
    # NESTML orders some declarations by iterating over sets of names (a synapse's variables moved into its
    # neuron): with Python's per-process string hashing the generated C++ changed from run to run
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PACKAGE_PARENT), os.environ.get("PYTHONPATH", "")]),
               PYTHONHASHSEED="0")
    cmd = [sys.executable, "-m", "nestml_lab.codegen.worker", str(spec_path)]
    if log is not None:
        with open(log, "w") as out:
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=folder, env=env)
        output = ""
    else:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=folder, env=env)
        output = proc.stdout[-2000:] + proc.stderr[-2000:]
    result = Path(spec["result"])
    if not result.is_file():
        return None, f"exit {proc.returncode}" + (f":\n{output}" if output else "")
    return json.loads(result.read_text()), output
