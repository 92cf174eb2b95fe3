"""Results for the field's tools: a run (or a network experiment's result) as a Neo ``Block``, NIX, pandas.

Elephant and most analysis code read Neo. :func:`to_neo` turns a tree's run (:class:`nestml_lab.networks.RunData`,
in memory or read back with :func:`nestml_lab.networks.load`) into one ``Block``:

- a ``Segment`` per recorded session, ``t_start`` / ``t_stop`` the session's model time;
- a ``SpikeTrain`` per neuron of every population a spike recorder records, silent neurons included
  (annotated ``population`` and ``node_id``), in ms;
- a ``Group`` per population holding its trains of every session (``block.groups``);
- a multimeter's state variables as ``AnalogSignal`` s (time x recorded neuron, ``node_ids`` annotated);
- weight samples as the segment's annotation ``weights``: ``{recorder: {"source", "target", "weight"}}``.

:func:`experiment_to_neo` does it for a network experiment's result (one run, or a run per condition: Song
2000, the AdEx network), :func:`pd14_to_neo` for the PD14 experiment's. :func:`write_nix` writes a block where
``nixio`` is installed; :func:`spikes_table` and :func:`weights_table` give pandas tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _neo():
    try:
        import neo
        import quantities as pq
    except ImportError as exc:
        raise ImportError(f"the Neo export needs neo and quantities ({exc.name} is missing): "
                          "pip install neo") from None
    return neo, pq


def _trains(neo, pq, senders, times, ids, t_start: float, t_stop: float, population: str) -> list:
    """One SpikeTrain per node of ``ids`` (silent ones empty), times in ms."""
    senders, times = np.asarray(senders, dtype=int), np.asarray(times, dtype=float)
    order = np.lexsort((times, senders))
    senders, times = senders[order], times[order]
    out = []
    for node in ids:
        lo, hi = np.searchsorted(senders, node), np.searchsorted(senders, node, side="right")
        out.append(neo.SpikeTrain(times[lo:hi] * pq.ms, t_start=t_start * pq.ms, t_stop=t_stop * pq.ms,
                                  name=f"{population}:{node}", population=population, node_id=int(node)))
    return out


def to_neo(run) -> "neo.Block":  # noqa: F821
    """A run of a tree (:class:`nestml_lab.networks.RunData`) as a Neo Block (see the module docstring).

    Parameters
    ----------
    run : nestml_lab.networks.RunData
        From :func:`nestml_lab.networks.simulate` or :func:`nestml_lab.networks.load`.

    Returns
    -------
    neo.Block
        Spike times in ms; one Segment per recorded session, one Group per recorded population.
    """
    neo, pq = _neo()
    net = run.tree["network"]
    block = neo.Block(name=str(run.versions.get("tree", "run")), **{k: v for k, v in run.versions.items()
                                                                     if isinstance(v, (str, int, float))})
    groups: dict[str, neo.Group] = {}
    recorders = {r["name"]: r for r in net.get("recorders") or []}
    for session, times in run.session_times.items():
        if session not in run.spikes and session not in run.analog and session not in run.weights:
            continue   # a session that was not recorded
        t0, t1 = float(times["start_ms"]), float(times["end_ms"])
        seg = neo.Segment(name=session, t_start=t0 * pq.ms, t_stop=t1 * pq.ms)
        for name, (senders, spike_times) in run.spikes.get(session, {}).items():
            senders = np.asarray(senders, dtype=int)
            for pop in recorders[name]["populations"]:
                ids = run.ids(pop)
                mine = np.isin(senders, ids)
                trains = _trains(neo, pq, senders[mine], np.asarray(spike_times)[mine], ids, t0, t1, pop)
                for st in trains:
                    st.annotate(recorder=name, session=session)
                seg.spiketrains.extend(trains)
                groups.setdefault(pop, neo.Group(name=pop, population=pop)).add(*trains)
        for name, data in run.analog.get(session, {}).items():
            senders = np.asarray(data["senders"], dtype=int)
            stamps = np.asarray(data["times"], dtype=float)
            nodes, steps = np.unique(senders), np.unique(stamps)
            interval = float(recorders[name]["multimeter"].get("interval_ms", 1.0))
            for var in (k for k in data if k not in ("senders", "times")):
                values = np.full((len(steps), len(nodes)), np.nan)
                values[np.searchsorted(steps, stamps), np.searchsorted(nodes, senders)] = data[var]
                seg.analogsignals.append(neo.AnalogSignal(
                    values * pq.dimensionless, t_start=(steps[0] if len(steps) else t0) * pq.ms,
                    sampling_period=interval * pq.ms, name=f"{name}.{var}", variable=var, recorder=name,
                    node_ids=nodes))
        if run.weights.get(session):
            seg.annotate(weights={r: {"source": np.asarray(s), "target": np.asarray(t), "weight": np.asarray(w)}
                                  for r, (s, t, w) in run.weights[session].items()})
        block.segments.append(seg)
    block.groups.extend(groups.values())
    return block


def experiment_to_neo(result) -> "neo.Block":  # noqa: F821
    """A network experiment's result as one Neo Block.

    Parameters
    ----------
    result
        A result with the tree run behind it: ``tree_run`` (one run, e.g. :mod:`~nestml_lab.experiments.song2000`)
        or ``tree_runs`` (a run per condition, e.g. :mod:`~nestml_lab.experiments.adex_network`).

    Returns
    -------
    neo.Block
        One run: :func:`to_neo` of it. A run per condition: each condition's sessions as Segments named
        ``<condition>/<session>`` (annotated ``condition``), and a Group per condition and population named
        ``<condition>/<population>``; spike times in ms.
    """
    if getattr(result, "tree_run", None) is not None:
        return to_neo(result.tree_run)
    runs = getattr(result, "tree_runs", None)
    if not runs:
        raise ValueError(f"{type(result).__name__} holds no tree run (tree_run or tree_runs): nothing to export")
    neo, _ = _neo()
    block = neo.Block(name=type(result).__name__, conditions=list(runs))
    for condition, run in runs.items():
        part = to_neo(run)
        for seg in part.segments:
            seg.name = f"{condition}/{seg.name}"
            seg.annotate(condition=condition)
            block.segments.append(seg)
        for group in part.groups:
            group.name = f"{condition}/{group.name}"
            group.annotate(condition=condition)
            block.groups.append(group)
    return block


def pd14_to_neo(result) -> "neo.Block":  # noqa: F821
    """The PD14 experiment's result (:class:`nestml_lab.experiments.pd14.Pd14Result`) as a Neo Block: one
    Segment over the analysed time, one Group per population with a SpikeTrain per neuron (silent ones
    included).
    """
    neo, pq = _neo()
    from nestml_lab.experiments.shared import pd14_params as P

    p = result.params
    t0, t1 = p.t_presim_ms, p.t_presim_ms + p.t_sim_ms
    block = neo.Block(name="pd14", neuron=str(p.neuron), scale=float(p.scale))
    seg = neo.Segment(name="analysed", t_start=t0 * pq.ms, t_stop=t1 * pq.ms)
    for i, pop in enumerate(P.POPULATIONS):
        senders, times = result.spikes[pop]
        ids = np.arange(int(result.num_neurons[i])) + int(result.first_ids[pop])
        trains = _trains(neo, pq, senders, times, ids, t0, t1, pop)
        seg.spiketrains.extend(trains)
        block.groups.append(neo.Group(trains, name=pop, population=pop))
    block.segments.append(seg)
    return block


def write_nix(block, path: Path | str) -> Path:
    """Write a Neo block as a NIX file (needs ``nixio``: ``pip install nixio``); return the path."""
    try:
        from neo.io import NixIO
    except ImportError as exc:
        raise ImportError(f"NIX files need nixio ({exc}): pip install nixio") from None
    path = Path(path)
    with NixIO(str(path), mode="ow") as io:
        io.write_block(block)
    return path


def spikes_table(run):
    """Every recorded spike of a run as a pandas DataFrame: session, recorder, population, node_id, time_ms."""
    import pandas as pd

    rows = []
    pops = {r["name"]: r.get("populations", []) for r in run.tree["network"].get("recorders") or []}
    for session, recs in run.spikes.items():
        for name, (senders, times) in recs.items():
            senders = np.asarray(senders, dtype=int)
            population = np.full(len(senders), "", dtype=object)
            for pop in pops.get(name, []):
                population[np.isin(senders, run.ids(pop))] = pop
            rows.append(pd.DataFrame({"session": session, "recorder": name, "population": population,
                                      "node_id": senders, "time_ms": np.asarray(times, dtype=float)}))
    columns = ["session", "recorder", "population", "node_id", "time_ms"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)


def weights_table(run):
    """Every weight sample of a run as a pandas DataFrame: session, recorder, source, target, weight."""
    import pandas as pd

    rows = [pd.DataFrame({"session": session, "recorder": name, "source": np.asarray(s, dtype=int),
                          "target": np.asarray(t, dtype=int), "weight": np.asarray(w, dtype=float)})
            for session, recs in run.weights.items() for name, (s, t, w) in recs.items()]
    columns = ["session", "recorder", "source", "target", "weight"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)
