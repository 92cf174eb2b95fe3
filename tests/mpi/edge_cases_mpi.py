"""Every catalog plastic synapse's edge cases (tests/integration/edge_cases.py) in this NEST, with the virtual
processes given: ``python edge_cases_mpi.py OUT.json THREADS``, under ``mpirun -np 2`` or not. Rank 0 writes
``{synapse: {case: {"w": [...], "expected": [...]}}}``: the final weights and the reference's."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from edge_cases import SYNAPSES, cases, run_case  # noqa: E402

from nestml_lab import parallel  # noqa: E402


def main(out: str, threads: int) -> None:
    import nest

    nest.verbosity = nest.VerbosityLevel.ERROR
    results = {}
    for synapse in SYNAPSES:
        for name, (pairs, delay) in cases(synapse).items():
            w, expected, *_ = run_case(synapse, pairs, delay, threads=threads)
            results.setdefault(synapse, {})[name] = {"w": [float(x) for x in w],
                                                     "expected": [float(x) for x in expected]}
    if parallel.is_root():
        Path(out).write_text(json.dumps({"processes": parallel.num_processes(), "results": results}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
