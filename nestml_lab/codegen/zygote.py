"""A warm NESTML worker: one process that has imported NESTML once and forks a child for every unit.

A NESTML run in a fresh process first spends about 1.2 s starting Python and importing NESTML, ODE-toolbox
and sympy (``STAGES.json``: "Python start-up", "NESTML's imports and set-up"). NESTML keeps global state, so
each unit still needs a process of its own; this one forks it from a process that has done the imports: the
child is a fresh copy of a process that has imported NESTML and nothing more, and runs ``worker.main`` exactly
as ``python -m nestml_lab.codegen.worker`` would (the same code, the same hash seed, the unit's folder as
working directory, its output into the unit's log).

Run as ``python -m nestml_lab.codegen.zygote SOCKET PARENT_PID`` by :mod:`nestml_lab.codegen.launch`, which
keeps one per Python process (a notebook kernel, ``nestml-lab module``). It prints ``ready`` once imported,
takes one request per connection (a JSON line: spec, folder, log), answers with the child's exit status, and
ends when its parent does.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys


def _child(conn: socket.socket) -> int:
    from nestml_lab.codegen import worker

    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            return 2
        data += chunk
    request = json.loads(data)
    os.chdir(request["folder"])
    out = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    try:
        status = worker.main(["worker", request["spec"]])
    except BaseException:   # what a worker process would print before dying
        import traceback

        traceback.print_exc()
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    conn.sendall(f"{status}\n".encode())
    return status


def serve(path: str, parent: int) -> None:
    """Import NESTML, then fork a child for each request on the Unix socket ``path`` until ``parent`` ends."""
    from nestml_lab.codegen import worker

    worker.warm()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # children are reaped by the kernel; they answer on the socket
    print("ready", flush=True)
    templates = False   # NESTML's templates compiled, once no run waits (the first runs compile their own)
    while os.getppid() == parent:
        readable, _, _ = select.select([server], [], [], 0.05 if not templates else 1.0)
        if not readable:
            if not templates:
                worker.compile_templates()
                templates = True
            continue
        conn, _ = server.accept()
        if os.fork() == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                status = _child(conn)
            except BaseException:
                status = 3
            os._exit(status)
        conn.close()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
