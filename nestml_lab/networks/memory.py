"""How much memory a tree's network needs, estimated before NEST builds it, and the refusal of one that does
not fit (a network that runs out of memory half-built takes the machine with it).
"""

from __future__ import annotations

from nestml_lab.networks.checks import TreeError, check_kernel, whole_number

#: Rough bytes per neuron in NEST (an upper estimate, to refuse before NEST runs out of memory in the middle
#: of building the network).
BYTES_PER_NODE = 2_000
#: Bytes of one connection beyond its synapse object (NEST's source table and connector bookkeeping), measured:
#: 2e6 connections of static_synapse (sizeof 32) took 44 B each, stdp_synapse (96) 108 B, the catalog's
#: stdp_triplet_synapse (120) 132 B (NEST 3.10, 1 thread).
BYTES_PER_CONNECTION_OVERHEAD = 16
#: ``sizeof`` of NEST's synapse objects (GetDefaults(model)["sizeof"], NEST 3.10), for the estimate before NEST
#: is imported; a model not listed counts as :data:`BYTES_PER_SYNAPSE_UNKNOWN` until simulate() reads its size.
SYNAPSE_SIZEOF = {"static_synapse": 32, "stdp_synapse": 96, "tsodyks_synapse": 96, "stdp_triplet_synapse": 108}
BYTES_PER_SYNAPSE_UNKNOWN = 128
#: At most this many connections of one synapse model per virtual process (NEST 3.10 refuses more).
MAX_CONNECTIONS_PER_VP = 134_217_726


def connection_count(rule: dict, n_src: int, n_tgt: int, where: str) -> int:
    """The number of connections one rule makes between ``n_src`` sources and ``n_tgt`` targets (expected value
    for the random rules, the worst case for a rule NEST alone knows).
    """
    kind = rule.get("rule", "all_to_all")
    if kind == "all_to_all":
        return n_src * n_tgt
    if kind == "one_to_one":
        if n_src != n_tgt:
            raise TreeError(f"{where}: one_to_one needs populations of one size, got {n_src} and {n_tgt}")
        return n_tgt
    if kind == "fixed_indegree":
        return whole_number(rule.get("indegree"), f"{where}.indegree", 0) * n_tgt
    if kind == "fixed_outdegree":
        return whole_number(rule.get("outdegree"), f"{where}.outdegree", 0) * n_src
    if kind == "fixed_total_number":
        return whole_number(rule.get("N"), f"{where}.N", 0)
    if kind == "pairwise_bernoulli":
        p = rule.get("p")
        if isinstance(p, dict):   # a distance-dependent kernel: at most p_center everywhere
            return int(check_kernel(p, f"{where}.p") * n_src * n_tgt)
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 <= p <= 1:
            raise TreeError(f"{where}.p: expected a probability in [0, 1], got {p!r}")
        return int(p * n_src * n_tgt)
    return n_src * n_tgt   # another rule: NEST checks it; count the worst case


def available_memory_bytes() -> int | None:
    """Memory a network built in this process may use: the machine's MemAvailable plus what this process
    holds already (a network built before and reset leaves its memory with the process, which reuses it:
    PD14 at full scale twice in one process). None where /proc is missing.
    """
    def field(path: str, name: str) -> int | None:
        try:
            for line in open(path):
                if line.startswith(name):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return None

    available = field("/proc/meminfo", "MemAvailable:")
    if available is None:
        return None
    return available + (field("/proc/self/status", "VmRSS:") or 0)


def connection_counts(populations: dict, connections: list) -> list[int]:
    """The number of connections each entry of ``connections`` makes (expected value for random rules)."""
    out = []
    for i, conn in enumerate(connections):
        size = {end: sum(populations[n]["n"] for n in (conn[end] if isinstance(conn[end], list) else [conn[end]]))
                for end in ("source", "target")}
        if "target_range" in conn:
            size["target"] = int(conn["target_range"][1]) - int(conn["target_range"][0])
        out.append(connection_count(conn.get("rule", {}), size["source"], size["target"],
                                    f"network.connections[{i}].rule"))
    return out


def estimate_memory_bytes(populations: dict, connections: list, synapse_bytes=None) -> int:
    """An estimate of the memory NEST needs for a tree's network: nodes, and each connection as its synapse
    object plus :data:`BYTES_PER_CONNECTION_OVERHEAD`.

    ``synapse_bytes(conn) -> int``: the size of a connection's synapse object (default: 128 B each).
    """
    nodes = sum(p["n"] for p in populations.values())
    size = synapse_bytes or (lambda conn: BYTES_PER_SYNAPSE_UNKNOWN)
    total = sum(count * (size(conn) + BYTES_PER_CONNECTION_OVERHEAD)
                for conn, count in zip(connections, connection_counts(populations, connections)))
    return nodes * BYTES_PER_NODE + total


def check_memory(populations: dict, connections: list, source: str, synapse_bytes=None) -> int:
    """Refuse a network that would not fit into this machine's available memory; return the estimate (B)."""
    need, have = estimate_memory_bytes(populations, connections, synapse_bytes), available_memory_bytes()
    if have is not None and need > 0.9 * have:
        raise TreeError(f"{source}: network: this network needs about {need / 1e9:.1f} GB (estimate: "
                        f"{BYTES_PER_NODE} B per node, each connection its synapse's size + "
                        f"{BYTES_PER_CONNECTION_OVERHEAD} B), but this machine has {have / 1e9:.1f} GB available: "
                        "make it smaller, or run it under MPI on more machines")
    return need
