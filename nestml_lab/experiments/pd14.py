"""The Potjans & Diesmann (2014) cortical microcircuit with NEST's or the catalog's iaf_psc_exp.

The network follows the paper (parameters in :mod:`pd14_params`) and is
described as an experiment tree (:func:`tree`, run by :mod:`nestml_lab.networks`): eight
populations, fixed total numbers of synapses between them (multapses
allowed), normally distributed weights and delays, Poisson background input,
downscaling with weight and DC compensation. The neuron implementation is a
parameter, so the same seed gives the same network with either.
Validation: per-population rate, ISI CV and spike-count correlation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nestml_lab.experiments.shared import common
from nestml_lab.experiments.shared import pd14_params as P
from nestml_lab.experiments.shared.contract import Experiment, param

#: The two neuron implementations: NEST's iaf_psc_exp and the catalog's iaf_psc_exp_neuron.
IMPLEMENTATIONS = ("nest", "nestml")


@dataclass(frozen=True)
class Pd14Params:
    """Parameters of the Potjans & Diesmann (2014) microcircuit."""

    neuron: str = param("both", "nest: NEST's iaf_psc_exp; nestml: the catalog's iaf_psc_exp_neuron; both: one "
                        "after the other with the same seed, compared", choices=IMPLEMENTATIONS + ("both",))
    scale: float = param(0.1, "N_scaling = K_scaling, in (0, 1]")
    t_presim_ms: float = param(500.0, "simulated first and discarded", "ms")
    t_sim_ms: float = param(1000.0, "analysed simulation time after the presimulation", "ms", flag="--t-sim")
    resolution_ms: float = param(0.1, "simulation step", "ms")
    threads: int = param(2, "threads per process; under `mpirun -np N` every process runs this many: use 1 per core")
    seed: int = param(55, "NEST's random seed")
    bin_ms: float = param(10.0, "bin of the spike-count correlation", "ms")
    corr_neurons: int = param(200, "neurons per population sampled for the correlation")

    def __post_init__(self):
        if self.neuron not in IMPLEMENTATIONS + ("both",):
            raise ValueError("neuron must be 'nest', 'nestml' or 'both'")
        if not 0 < self.scale <= 1:
            raise ValueError("scale must be in (0, 1]")

    def implementations(self) -> tuple[str, ...]:
        """The neuron implementations to run: one, or both for the comparison."""
        return IMPLEMENTATIONS if self.neuron == "both" else (self.neuron,)


@dataclass
class Pd14Result:
    """Spikes, timings and memory of one run of the microcircuit."""

    params: Pd14Params
    spikes: dict            # population -> (senders, times) after the presimulation
    first_ids: dict         # population -> first node id
    num_neurons: np.ndarray
    build_s: float
    simulate_s: float
    peak_rss_mb: float
    provenance: dict

    def timing(self) -> dict:
        """Build and simulation time, peak memory and real-time factor."""
        p = self.params
        return {"build_s": self.build_s, "simulate_s": self.simulate_s, "peak_rss_mb": self.peak_rss_mb,
                "rtf": self.simulate_s / ((p.t_presim_ms + p.t_sim_ms) / 1000.0)}

    def rates(self) -> np.ndarray:
        """Mean rate per population (Hz) over the analysed time."""
        return np.array([len(self.spikes[pop][0]) / n / (self.params.t_sim_ms / 1000.0)
                         for pop, n in zip(P.POPULATIONS, self.num_neurons)])

    def per_neuron_rates(self, pop: str) -> np.ndarray:
        """Firing rate of every neuron of population ``pop`` (Hz), silent ones included."""
        i = P.POPULATIONS.index(pop)
        senders = np.asarray(self.spikes[pop][0], dtype=int)   # an empty array comes back as float
        counts = np.bincount(senders - self.first_ids[pop], minlength=self.num_neurons[i])
        return counts / (self.params.t_sim_ms / 1000.0)

    def cv_isi(self) -> np.ndarray:
        """Mean coefficient of variation of the inter-spike intervals (neurons with >= 3 spikes)."""
        return np.array([common.mean_cv_isi(*self.spikes[pop]) for pop in P.POPULATIONS])

    def correlation(self) -> np.ndarray:
        """Mean pairwise correlation of spike counts in bins of ``bin_ms`` (sample of neurons)."""
        p = self.params
        edges = np.arange(p.t_presim_ms, p.t_presim_ms + p.t_sim_ms + p.bin_ms, p.bin_ms)
        out = []
        for i, pop in enumerate(P.POPULATIONS):
            senders, times = self.spikes[pop]
            ids = np.arange(min(p.corr_neurons, self.num_neurons[i])) + self.first_ids[pop]
            counts = np.array([np.histogram(times[senders == nid], edges)[0] for nid in ids], dtype=float)
            counts = counts[counts.std(axis=1) > 0]
            if len(counts) < 2:
                out.append(np.nan)
                continue
            c = np.corrcoef(counts)
            out.append(float(np.mean(c[np.triu_indices(len(c), 1)])))
        return np.array(out)


def tree(p: Pd14Params) -> dict:
    """The experiment tree (:mod:`nestml_lab.networks`) of the network at ``p.scale``: every number resolved."""
    if p.neuron not in IMPLEMENTATIONS:
        raise ValueError(f"the tree is of one implementation ({', '.join(IMPLEMENTATIONS)}), not {p.neuron!r}")
    d = P.derived(p.scale)
    model = {"nest_model": "iaf_psc_exp"} if p.neuron == "nest" else {"catalog": "iaf_psc_exp_neuron"}
    common = {"tau_syn_ex": P.NEURON["tau_syn"], "tau_syn_in": P.NEURON["tau_syn"], "E_L": P.NEURON["E_L"],
              "V_th": P.NEURON["V_th"], "V_reset": P.NEURON["V_reset"], "t_ref": P.NEURON["t_ref"],
              "C_m": P.NEURON["C_m"], "tau_m": P.NEURON["tau_m"]}
    neuron_models = {"params": model, "nest_params": common}
    populations, connections = {}, []
    for i, name in enumerate(P.POPULATIONS):
        neuron_models[name] = {"nest_params": {"I_e": float(d["dc_pA"][i]), "V_m": {"normal": {
            "mean": float(P.V0_MEAN_MV[i]), "std": float(P.V0_STD_MV[i])}}}}
        populations[name] = {"model": name, "n": int(d["num_neurons"][i])}
    for i, name in enumerate(P.POPULATIONS):
        populations[f"bg_{name}"] = {"model": "nest:poisson_generator", "n": 1,
                                     "nest_params": {"rate": float(P.BG_RATE_HZ * d["ext_indegree"][i])}}
    res = p.resolution_ms
    for i, target in enumerate(P.POPULATIONS):
        for j, source in enumerate(P.POPULATIONS):
            n_syn = int(d["num_synapses"][i][j])
            if n_syn <= 0:
                continue
            w, delay = float(d["weights"][i][j]), float(d["delays"][i][j])
            w_min, w_max = (-np.inf, 0.0) if w < 0 else (0.0, np.inf)
            connections.append({"source": source, "target": target, "synapse": "static",
                                "rule": {"rule": "fixed_total_number", "N": n_syn}, "nest_params": {
                                    "weight": {"redraw": {"normal": {"mean": w, "std": abs(w * P.WEIGHT_REL_STD)},
                                                          "min": w_min, "max": w_max}},
                                    "delay": {"redraw": {"normal": {"mean": delay, "std": delay * P.DELAY_REL_STD},
                                                         "min": res - 0.5 * res, "max": np.inf}}}})
        connections.append({"source": f"bg_{target}", "target": target, "synapse": "static",
                            "nest_params": {"weight": float(d["weight_ext"]), "delay": P.DELAY_EXC_MS}})
    return {
        "kernel": {"resolution_ms": res, "seed": p.seed, "threads": p.threads},
        "network": {"neuron_models": neuron_models,
                    "synapse_models": {"static": {"params": {"nest_model": "static_synapse"}}},
                    "populations": populations, "connections": connections,
                    "recorders": [{"name": name, "populations": [name]} for name in P.POPULATIONS]},
        "sessions": {"presim": {"simulation_time_ms": p.t_presim_ms, "record": False},
                     "sim": {"simulation_time_ms": p.t_sim_ms}},
    }


def run(p: Pd14Params, out_dir: str | Path | None = None, progress=None) -> Pd14Result:
    """Run the tree of :func:`tree`; the run folder (tree, versions, session times, spikes) goes to ``out_dir``."""
    from nestml_lab import networks

    data = networks.simulate(networks.parse(tree(p), f"pd14(scale={p.scale:g}, neuron={p.neuron})"), progress=progress)
    if out_dir is not None:
        networks.write(data, out_dir)
    first = {name: data.versions["first_ids"][name] for name in P.POPULATIONS}
    spikes = {name: tuple(np.asarray(a) for a in data.spikes["sim"][name]) for name in P.POPULATIONS}
    simulate_s = sum(t["wall_s"] for t in data.session_times.values())
    return Pd14Result(p, spikes, first, P.derived(p.scale)["num_neurons"], data.versions["build_s"], simulate_s,
                      data.versions["peak_rss_mb"], data.versions)


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance (largest gap between the empirical CDFs), by scipy.stats."""
    from scipy.stats import ks_2samp

    return float(ks_2samp(a, b).statistic)


def save(result: Pd14Result, out_dir: Path | str) -> dict[str, Path]:
    """Write the statistics, spikes, tree run and figure into ``out_dir``; return the paths."""
    from nestml_lab import networks

    stats = {"populations": list(P.POPULATIONS), "rate_hz": result.rates().tolist(),
             "cv_isi": result.cv_isi().tolist(), "correlation": result.correlation().tolist(),
             "published_full_scale_rate_hz": P.FULL_MEAN_RATES_HZ.tolist(), **result.timing()}
    json_path, npz = common.save_arrays(
        out_dir, "pd14.json", {"params": asdict(result.params), "statistics": stats, "provenance": result.provenance},
        "pd14_spikes.npz", networks.spike_arrays(result.spikes))
    return {"json": json_path, "spikes": npz}


def plot(result: Pd14Result, out_dir: Path | str, other: Pd14Result | None = None) -> Path:
    """Raster (200 ms), per-neuron rates against the published full-scale rates, ISI CV and spike-count
    correlation per population; ``other`` (the other neuron implementation) is drawn beside it.
    """
    plt = common.pyplot()

    results = [result] + ([other] if other is not None else [])
    fig, axes = plt.subplots(2, 2, figsize=(11, 8), gridspec_kw={"height_ratios": [3, 2]})
    ax = axes[0, 0]
    p = result.params
    t0 = p.t_presim_ms
    y = 0
    ticks = []
    for i, pop in enumerate(P.POPULATIONS):
        senders, times = result.spikes[pop]
        keep = times < t0 + 200.0
        n = result.num_neurons[i]
        ax.plot(times[keep], -(senders[keep] - result.first_ids[pop] + y), ",",
                color=common.EXC_COLOR if pop.endswith("E") else common.INH_COLOR)
        ticks.append(-(y + n / 2))
        y += n
    ax.set_yticks(ticks, P.POPULATIONS)
    ax.set_xlabel("time (ms)")
    ax.set_title(f"raster, {result.params.neuron} neurons, scale {p.scale:g} (excitatory blue, inhibitory red)",
                 fontsize=9)
    ax = axes[0, 1]
    width = 0.8 / len(results)
    offsets = [(k - (len(results) - 1) / 2) * width for k in range(len(results))]
    for k, r in enumerate(results):
        data = [r.per_neuron_rates(pop) for pop in P.POPULATIONS]
        bp = ax.boxplot(data, positions=np.arange(8) + offsets[k], widths=width * 0.9, showfliers=False,
                        patch_artist=True)
        for b in bp["boxes"]:
            b.set_facecolor("0.85" if k == 0 else "0.55")
        ax.plot([], [], "s", color="0.85" if k == 0 else "0.55", label=f"{r.params.neuron} neurons")
    ax.plot(np.arange(8), P.FULL_MEAN_RATES_HZ, "k*", ms=8, label="published, full scale")
    ax.plot(np.arange(8), result.rates(), "o", mfc="none", color="k", label="population mean")
    ax.set_xticks(np.arange(8), P.POPULATIONS)
    ax.set_ylabel("rate (Hz)")
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(f"per-neuron rates over {p.t_sim_ms:g} ms (published: the full-scale network)", fontsize=9)
    for ax, values, label, title in (
            (axes[1, 0], [r.cv_isi() for r in results], "ISI CV", "irregularity: mean CV of the inter-spike "
                                                                "intervals (neurons with >= 3 spikes)"),
            (axes[1, 1], [r.correlation() for r in results], "correlation",
             f"synchrony: mean pairwise correlation of spike counts in {p.bin_ms:g} ms bins")):
        for k, (r, v) in enumerate(zip(results, values)):
            ax.bar(np.arange(8) + offsets[k], v, width=width * 0.9,
                   color=[common.EXC_COLOR if pop.endswith("E") else common.INH_COLOR for pop in P.POPULATIONS],
                   alpha=1.0 if k == 0 else 0.5, label=f"{r.params.neuron} neurons")
        ax.set_xticks(np.arange(8), P.POPULATIONS)
        ax.set_ylabel(f"{label} (1)")
        ax.set_title(title, fontsize=9)
        ax.axhline(0, color="0.6", lw=0.8)
        if len(results) > 1:
            ax.legend(fontsize=7, frameon=False)
    axes[1, 0].axhline(1.0, color="0.4", lw=0.8, ls="--")   # a Poisson process has CV 1
    fig.tight_layout()
    return common.save_figure(fig, out_dir, "pd14.png", dpi=110)


@dataclass
class Pd14Comparison:
    """The network run with one or both neuron implementations (``params.neuron``), same seed."""

    params: Pd14Params
    results: dict   # implementation -> Pd14Result

    def identical_spikes(self) -> bool | None:
        """Whether both implementations gave the same spike trains (None with one implementation)."""
        if len(self.results) < 2:
            return None
        a, b = (self.results[i] for i in IMPLEMENTATIONS)
        return all(np.array_equal(np.sort(a.spikes[p][1]), np.sort(b.spikes[p][1])) for p in P.POPULATIONS)

    def ks_distances(self) -> dict | None:
        """Per population, the KS distance between the two implementations' per-neuron rates."""
        if len(self.results) < 2:
            return None
        a, b = (self.results[i] for i in IMPLEMENTATIONS)
        return {pop: ks_distance(a.per_neuron_rates(pop), b.per_neuron_rates(pop)) for pop in P.POPULATIONS}


def compare(p: Pd14Params, progress=None) -> Pd14Comparison:
    """Run the network with each implementation of ``p.neuron`` (both: NEST's first)."""
    from dataclasses import replace

    return Pd14Comparison(p, {impl: run(replace(p, neuron=impl), progress=progress)
                              for impl in p.implementations()})


def save_comparison(c: Pd14Comparison, out_dir: Path | str) -> dict[str, Path]:
    """Each implementation's :func:`save` into ``out_dir/<implementation>/``."""
    files = {}
    for impl, r in c.results.items():
        files.update({f"{impl}_{k}": v for k, v in save(r, Path(out_dir) / impl).items()})
    return files


def plot_comparison(c: Pd14Comparison, out_dir: Path | str) -> Path:
    """The comparison's figure (both implementations' statistics side by side) in ``out_dir``; return its path."""
    first, *other = c.results.values()
    return plot(first, out_dir, other=other[0] if other else None)


def summary(c: Pd14Comparison) -> list[str]:
    """Per implementation its real-time factor and per population rate (against the published), CV and
    correlation; then whether both gave the same spikes.
    """
    lines = []
    for impl, r in c.results.items():
        t = r.timing()
        lines.append(f"{impl}: real-time factor {t['rtf']:.2f}, peak RSS {t['peak_rss_mb']:.0f} MB")
        lines.append("  pop     rate (Hz)  published  ISI CV  corr")
        for pop, rate, pub, cv, corr in zip(P.POPULATIONS, r.rates(), P.FULL_MEAN_RATES_HZ, r.cv_isi(),
                                            r.correlation()):
            lines.append(f"  {pop:6s} {rate:9.2f} {pub:10.2f} {cv:7.2f} {corr:6.3f}")
    if len(c.results) == 2:
        lines.append(f"NESTML vs NEST spike trains identical: {c.identical_spikes()}; KS distance of per-neuron "
                     "rates: " + ", ".join(f"{k} {v:.3f}" for k, v in c.ks_distances().items()))
    return lines


def numbers(c: Pd14Comparison) -> dict:
    """Each implementation's mean rate per population, and whether the two gave the same spikes."""
    out = {f"rate_{pop}_{impl}": float(rate) for impl, r in c.results.items()
           for pop, rate in zip(P.POPULATIONS, r.rates())}
    same = c.identical_spikes()
    if same is not None:
        out["identical_spikes"] = float(same)
    return out


EXPERIMENT = Experiment(Pd14Params, compare, save_comparison, plot_comparison, summary, numbers=numbers,
                        help="Potjans & Diesmann 2014 microcircuit: rates, CV, correlation, figures")
