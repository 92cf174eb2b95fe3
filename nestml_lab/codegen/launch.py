"""Start the NESTML worker (``codegen/worker.py``) in its own Python process: the one way the build and the
check stage run NESTML.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

#: the folder that holds the ``nestml_lab`` package: the worker imports it from there, installed or not
PACKAGE_PARENT = Path(__file__).resolve().parent.parent.parent
#: Set to 0 to run every NESTML run in a fresh process instead of forking it from the warm worker.
WARM_ENV = "NESTML_LAB_WARM_WORKER"


def _env() -> dict:
    # NESTML orders some declarations by iterating over sets of names (a synapse's variables moved into its
    # neuron): with Python's per-process string hashing the generated C++ changed from run to run
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(PACKAGE_PARENT), os.environ.get("PYTHONPATH", "")]),
                PYTHONHASHSEED="0")


class _Warm:
    """The warm worker of this process (codegen/zygote.py): started on first use, ended with the process."""

    lock = threading.Lock()
    proc: subprocess.Popen | None = None
    socket_path = ""
    code = None   # the modification times of the code it imported: changed code, a new warm worker
    ready = False
    owner = 0     # the process that started it, which alone ends it

    @classmethod
    def _code(cls) -> tuple:
        here = Path(__file__).resolve().parent
        return tuple((here / f).stat().st_mtime_ns for f in ("worker.py", "zygote.py", "launch.py"))

    @classmethod
    def start(cls) -> bool:
        """Start the warm worker unless it runs (and its code is the code on disk); False when not wanted."""
        if os.environ.get(WARM_ENV, "1") == "0" or not hasattr(os, "fork") or not hasattr(socket, "AF_UNIX"):
            return False
        with cls.lock:
            if cls.proc is not None and (cls.proc.poll() is not None or cls.code != cls._code()):
                cls.stop()
            if cls.proc is None:
                folder = tempfile.mkdtemp(prefix="nestml-lab-worker-")
                cls.socket_path = os.path.join(folder, "socket")
                cls.code = cls._code()
                cls.ready = False
                cls.owner = os.getpid()
                cls.proc = subprocess.Popen(
                    [sys.executable, "-m", "nestml_lab.codegen.zygote", cls.socket_path, str(os.getpid())],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(),
                    cwd=folder)
        return True

    @classmethod
    def get(cls) -> str | None:
        """The socket of a ready warm worker, or None (not wanted, not possible, or it would not start)."""
        if not cls.start():
            return None
        with cls.lock:
            if cls.proc is None:
                return None
            if not cls.ready:
                cls.ready = cls.proc.stdout.readline().strip() == b"ready"
                if not cls.ready:
                    cls.stop()
                    return None
            return cls.socket_path

    @classmethod
    def stop(cls) -> None:
        if cls.proc is not None and cls.owner == os.getpid():   # not from a process forked off this one
            cls.proc.kill()
            cls.proc.wait()
            shutil.rmtree(os.path.dirname(cls.socket_path), ignore_errors=True)
        cls.proc = None


atexit.register(_Warm.stop)


def prestart() -> None:
    """Start this process's warm worker now, so that its imports overlap the checks before the first NESTML run."""
    _Warm.start()


def _run_warm(path: str, spec_path: Path, folder: Path, log: Path) -> bool:
    """Run the worker as a child of the warm worker at ``path``; False when it could not be asked (not a failed run)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(path)
            conn.sendall((json.dumps({"spec": str(spec_path), "folder": str(folder), "log": str(log)}) + "\n").encode())
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = conn.recv(64)
                if not chunk:
                    break
                answer += chunk
    except OSError:
        return False
    return True


def run_worker(spec: dict, folder: Path | str, log: Path | str | None = None) -> tuple[dict | None, str]:
    """Write ``spec`` to ``folder/spec.json``, run the worker there and return ``(result, output)``: the
    result file's content (None when the worker died before writing it) and the worker's output (empty when
    ``log`` took it). The run is forked from this process's warm worker when there is one (codegen/zygote.py),
    else a process of its own.
    """
    folder = Path(folder).resolve()
    spec_path = folder / "spec.json"
    spec_path.write_text(json.dumps(spec, indent=1))
    warm = _Warm.get()
    if warm is not None:
        out = Path(log) if log is not None else folder / "worker.log"
        if _run_warm(warm, spec_path, folder, out):
            result = Path(spec["result"])
            output = "" if log is not None else out.read_text(errors="replace")[-4000:]
            if not result.is_file():
                return None, "the NESTML run ended without a result" + (f":\n{output}" if output else "")
            return json.loads(result.read_text()), output
    env = _env()
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
