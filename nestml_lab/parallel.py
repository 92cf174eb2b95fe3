"""Experiments under ``mpirun``: every process ends with the whole result; only rank 0 writes and prints.

NEST distributes neurons over its MPI processes (round-robin over virtual
processes). A spike recorder in process ``r`` holds the spikes of the neurons
that process owns, and ``GetConnections`` returns the connections whose
targets it owns. The helpers below merge those parts across processes
(``mpi4py``'s allgather; NEST's Python API has no collective of its own), so
that an experiment analyses the same arrays whatever the layout of processes
and threads, and puts them in one canonical order: spikes by (time, sender),
connections by (source, target, weight). With one process they only sort.

Which process we are is read from the launcher's environment (OpenMPI, MPICH,
SLURM) by :func:`launcher_rank`, so the command line can silence ranks > 0
before NEST is imported; inside NEST, :func:`rank` and :func:`num_processes`
ask NEST itself.
"""

from __future__ import annotations

import os

import numpy as np

_RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID")
_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS")


def launcher_rank() -> int:
    """This process's rank as the MPI launcher set it in the environment (0 when not launched by one)."""
    for name in _RANK_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


def launcher_size() -> int:
    """Number of processes the MPI launcher started (1 when not launched by one)."""
    for name in _SIZE_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def num_processes() -> int:
    """NEST's number of MPI processes (``nest.NumProcesses()``)."""
    import nest

    return int(nest.NumProcesses())


def rank() -> int:
    """NEST's rank of this process (``nest.Rank()``)."""
    import nest

    return int(nest.Rank())


def is_root() -> bool:
    """True in the process that writes results: rank 0, or the only process.

    Asks NEST when it is imported, else the launcher's environment.
    """
    import sys

    if "nest" in sys.modules:
        return rank() == 0
    return launcher_rank() == 0


def _comm():
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError("NEST runs in several MPI processes, but mpi4py is not installed in this Python; "
                           "`make mpi-setup` installs it beside the MPI NEST") from None
    return MPI.COMM_WORLD


def allgather(value):
    """``[value of rank 0, value of rank 1, ...]`` in every process (``[value]`` with one process)."""
    if num_processes() == 1:
        return [value]
    return _comm().allgather(value)


def barrier() -> None:
    """Wait until every process reaches this point (nothing to wait for with one process)."""
    if num_processes() > 1:
        _comm().Barrier()


def merge(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each key's array concatenated over all processes, in rank order, in every process."""
    parts = allgather({k: np.atleast_1d(np.asarray(v)) for k, v in arrays.items()})
    # a process with nothing to give sends empty arrays of a default type: they must not change the others' type
    return {k: np.concatenate([p[k] for p in parts if p[k].size] or [parts[0][k]]) for k in arrays}


def events(recorder, keys: tuple[str, ...] = ("senders", "times")) -> dict[str, np.ndarray]:
    """A recorder's events from all processes, sorted by time, then sender (then the other keys)."""
    ev = recorder.events
    merged = merge({k: np.asarray(ev[k]) for k in keys})
    if not len(merged["times"]):
        return merged
    order = np.lexsort(tuple(merged[k] for k in reversed(keys) if k not in ("times", "senders"))
                       + (merged["senders"], merged["times"]))
    return {k: v[order] for k, v in merged.items()}


def connections(conns, keys: tuple[str, ...] = ("source", "target", "weight")) -> dict[str, np.ndarray]:
    """Fields of this process's part of ``conns`` (a ``nest.GetConnections`` result), from all processes.

    Sorted by source, then target, then the other keys, so that the order does
    not depend on how connections are spread over processes and threads.
    Read a bounded sample: every connection of a large network makes one
    Python object per field.
    """
    if len(conns) == 0:
        got = {k: np.array([]) for k in keys}
    else:
        values = conns.get(list(keys))
        got = {k: np.atleast_1d(np.asarray(values[k])) for k in keys}
    merged = merge(got)
    if not len(merged[keys[0]]):
        return merged
    order = np.lexsort(tuple(merged[k] for k in reversed(keys)))
    return {k: v[order] for k, v in merged.items()}


def layout() -> dict:
    """How NEST runs: processes, threads per process, virtual processes."""
    import nest

    return {"mpi_processes": num_processes(), "threads_per_process": int(nest.local_num_threads),
            "virtual_processes": int(nest.total_num_virtual_procs)}
