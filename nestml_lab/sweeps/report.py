"""A sweep's table (CSV and Parquet, written whole) and its figures: one per summary number over the grid."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from nestml_lab import atomic


def table(axes, todo, records: dict, folder: Path):
    """One row per point, in grid order: the grid values (and seed), status, error, summary numbers, folder."""
    import pandas as pd

    rows = []
    for p in todo:
        r = records.get(p.key, {"status": "not run"})
        row = dict(p.values)
        row["status"] = r.get("status", "not run")
        row["error"] = r.get("error", "")
        row.update({f"{k}": v for k, v in (r.get("numbers") or {}).items()})
        row["seconds"] = r.get("seconds")
        row["folder"] = str(folder / "points" / p.key) if r.get("status") == "ok" else r.get("log", "")
        rows.append(row)
    return pd.DataFrame(rows)


def numbers(frame, axes) -> list[str]:
    """The columns that are the experiment's summary numbers."""
    own = {a.name for a in axes} | {"status", "error", "seconds", "folder"}
    return [c for c in frame.columns if c not in own]


def write(frame, axes, folder: Path, experiment: str) -> dict:
    """``sweep.csv``, ``sweep.parquet`` and one figure per summary number; return their paths."""
    out = {"csv": atomic.write_file(folder / "sweep.csv", lambda tmp: frame.to_csv(tmp, index=False))}
    try:
        out["parquet"] = atomic.write_file(folder / "sweep.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
    except ImportError:   # no pyarrow: the CSV says the same
        pass
    for name in numbers(frame, axes):
        path = figure(frame, axes, name, folder / "figures", experiment)
        if path is not None:
            out[f"figure {name}"] = path
    return out


def figure(frame, axes, name: str, folder: Path, experiment: str) -> Path | None:
    """``name`` over the grid: a line over one parameter (seeds: mean and standard deviation), a heatmap over
    two (the mean over seeds); None for more dimensions or no finished point.
    """
    from nestml_lab.experiments.shared.common import pyplot, save_figure

    swept = [a for a in axes if a.name != "seed"]
    ok = frame[frame["status"] == "ok"]
    if ok.empty or name not in ok or not np.isfinite(ok[name].astype(float)).any() or len(swept) not in (1, 2):
        return None
    plt = pyplot()
    mean = ok.groupby([a.name for a in swept])[name].agg(["mean", "std", "count"])
    fig, ax = plt.subplots(figsize=(5.5, 4))
    if len(swept) == 1:
        x = list(swept[0].values)
        m = mean.reindex(x)
        numeric = all(isinstance(v, (int, float)) for v in x)
        pos = np.asarray(x, float) if numeric else np.arange(len(x))
        ax.errorbar(pos, m["mean"], yerr=m["std"].fillna(0) if (m["count"] > 1).any() else None, fmt="o-",
                    capsize=3)
        if not numeric:
            ax.set_xticks(pos, [str(v) for v in x])
        ax.set_xlabel(swept[0].name)
        ax.set_ylabel(name)
    else:
        rows, cols = swept
        grid = mean["mean"].unstack(cols.name).reindex(index=list(rows.values), columns=list(cols.values))
        image = ax.imshow(grid.to_numpy(float), origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(cols.values)), [f"{v:g}" if isinstance(v, float) else str(v) for v in cols.values])
        ax.set_yticks(range(len(rows.values)), [f"{v:g}" if isinstance(v, float) else str(v) for v in rows.values])
        ax.set_xlabel(cols.name)
        ax.set_ylabel(rows.name)
        values = grid.to_numpy(float)
        low, high = np.nanmin(values), np.nanmax(values)
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):   # dark text on the bright end of the colour map
                bright = high > low and (v - low) / (high - low) > 0.6
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=7, color="k" if bright else "w")
        fig.colorbar(image, ax=ax, label=name)
    seeds = next((len(a.values) for a in axes if a.name == "seed"), 0)
    ax.set_title(f"{experiment}: {name}" + (f" (mean over {seeds} seeds)" if seeds else ""), fontsize=9)
    fig.tight_layout()
    return save_figure(fig, folder, re.sub(r"[^A-Za-z0-9_.-]+", "_", name) + ".png")
