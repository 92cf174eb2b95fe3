"""A run on disk: the run folder's layout (written whole by rank 0, :mod:`nestml_lab.atomic`), and reading it
back as :class:`RunData`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from nestml_lab import atomic


@dataclass
class RunData:
    """A run in memory (from :func:`~nestml_lab.networks.simulate`) or read back (:func:`load`).

    Under MPI every process holds the whole run: the spikes and weight samples
    of all processes, merged and sorted (see :mod:`nestml_lab.parallel`).
    """

    tree: dict
    versions: dict
    session_times: dict
    spikes: dict   # session -> recorder -> (senders, times)
    weights: dict  # session -> recorder -> (sources, targets, weights)
    analog: dict = field(default_factory=dict)   # session -> multimeter -> {"senders", "times", variable: values}
    positions: dict = field(default_factory=dict)   # spatial population -> (n, 2) positions, in node order

    def ids(self, population: str) -> np.ndarray:
        """Node ids of a population (for ``parrots: true``, the parrots)."""
        first = int(self.versions["first_ids"][population])
        return np.arange(first, first + int(self.versions["sizes"][population]))

    def gids(self, population: str, location=None) -> np.ndarray:
        """Node ids of ``population``; with ``location``, those at that place of a spatial population.

        On a grid, ``location`` is ``(column, row)`` (row 0 at the top, as NEST numbers them); on free
        positions, coordinates, which give the nearest node.
        """
        ids = self.ids(population)
        if location is None:
            return ids
        if population not in self.positions:
            raise KeyError(f"{population!r} has no spatial positions; spatial populations: "
                           f"{', '.join(self.positions) or 'none'}")
        pos = self.positions[population]
        spatial = self.tree["network"]["populations"][population]["spatial"]
        if "shape" in spatial:
            (cols, rows), (ex, ey), (cx, cy) = spatial["shape"], spatial["extent"], spatial["center"]
            col, row = location
            if not (0 <= col < cols and 0 <= row < rows):
                raise KeyError(f"{population!r} is a {cols} x {rows} grid: no location {tuple(location)}")
            where = np.array([cx - ex / 2 + (col + 0.5) * ex / cols, cy + ey / 2 - (row + 0.5) * ey / rows])
            return ids[np.all(np.isclose(pos, where, atol=1e-9), axis=1)]
        return ids[[int(np.argmin(np.sum((pos - np.asarray(location, dtype=float)) ** 2, axis=1)))]]


def spike_arrays(spikes: dict) -> dict:
    """``{name: (senders, times)}`` -> the arrays of the NPZ layout of run folders and of every experiment
    (``<name>.senders``, ``<name>.times`` in ms; docs/results.md).
    """
    out = {}
    for name, (senders, times) in spikes.items():
        out[f"{name}.senders"], out[f"{name}.times"] = np.asarray(senders), np.asarray(times)
    return out


def write(data: RunData, out_dir: str | Path) -> Path:
    """Write a run folder (the layout: :mod:`nestml_lab.networks`) and return it.

    Under MPI only rank 0 writes. The folder is assembled beside its place and
    renamed into it, so a run that fails leaves no folder that looks complete;
    an earlier run in the same place is replaced only once the new one is whole.

    Parameters
    ----------
    data : RunData
        From :func:`~nestml_lab.networks.simulate`.
    out_dir : str or Path
        The run folder (created; an earlier run there is replaced).

    Returns
    -------
    Path
        ``out_dir``.
    """
    def fill(folder: Path) -> None:
        (folder / "data").mkdir()
        (folder / "parameter_tree.yml").write_text(yaml.safe_dump(data.tree, sort_keys=False))
        for session, recs in data.spikes.items():
            arrays = spike_arrays(recs)
            for r, (src, tgt, w) in data.weights.get(session, {}).items():
                arrays[f"{r}.source"], arrays[f"{r}.target"], arrays[f"{r}.weight"] = src, tgt, w
            for r, values in data.analog.get(session, {}).items():
                arrays.update({f"{r}.{k}": v for k, v in values.items()})   # "." is in no name: no clash
            np.savez_compressed(folder / "data" / f"{session}.npz", **arrays)
        if data.positions:
            np.savez_compressed(folder / "positions.npz", **data.positions)
        (folder / "session_times.yml").write_text(yaml.safe_dump(data.session_times, sort_keys=False))
        (folder / "versions.json").write_text(json.dumps(data.versions, indent=1))

    return atomic.write_folder(out_dir, fill)


def load(run_dir: str | Path) -> RunData:
    """Read a run folder written by :func:`write`; the tree in it says which arrays belong to which recorder.

    Parameters
    ----------
    run_dir : str or Path
        A folder of :func:`~nestml_lab.networks.run` or :func:`write`.

    Returns
    -------
    RunData
        As :func:`~nestml_lab.networks.simulate` returned it (times in ms); sessions run with ``record: false``
        have no data.
    """
    run_dir = Path(run_dir)
    tree = yaml.safe_load((run_dir / "parameter_tree.yml").read_text())
    times = yaml.safe_load((run_dir / "session_times.yml").read_text())
    recorders = (tree.get("network") or {}).get("recorders") or []
    spikes, weights, analog = {}, {}, {}
    for session in times:
        f = run_dir / "data" / f"{session}.npz"
        if not f.exists():
            continue
        with np.load(f) as d:
            spikes[session], weights[session], analog[session] = {}, {}, {}
            for rec in recorders:
                r = rec["name"]
                if "multimeter" in rec:
                    keys = ("senders", "times", *rec["multimeter"]["record_from"])
                    analog[session][r] = {k: d[f"{r}.{k}"] for k in keys}
                elif "weights" in rec:
                    weights[session][r] = (d[f"{r}.source"], d[f"{r}.target"], d[f"{r}.weight"])
                else:
                    spikes[session][r] = (d[f"{r}.senders"], d[f"{r}.times"])
    positions = {}
    if (run_dir / "positions.npz").exists():
        with np.load(run_dir / "positions.npz") as d:
            positions = {k: d[k] for k in d.files}
    return RunData(tree, json.loads((run_dir / "versions.json").read_text()), times, spikes, weights, analog,
                   positions)
