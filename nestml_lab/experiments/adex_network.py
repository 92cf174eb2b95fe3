"""The AdEx E/I network with short-term and spike-timing plasticity of seed notebook 004, rebuilt in NEST.

2000 excitatory AdEx cells of the "adapting" class and 500 interneurons of
the "tonic" class (parameters drawn around the class exemplars), conductance
synapses (E_e 0, E_i -80 mV, tau_e 5, tau_i 10 ms), a group of 25 Poisson
units (rates uniform in 0..20 Hz) onto 1 % of the excitatory cells, a 35 pA
step current (1-6 s) into half of the excitatory cells, recurrent
connections with probability 5 % (E) and 10 % (I), delay 10 ms, all through
the catalog's ``stp_stdp_synapse`` on the catalog's ``aeif_cond_exp_neuron``.
Each condition is an experiment tree (:func:`tree`, run by :mod:`nestml_lab.networks`).
The notebook's four conditions (no input; Poisson input; + recurrent
excitation; + inhibition) each start from the same network and initial state:
the same seed builds the same network, and a projection that is off
transmits nothing (its weight bounds are 0), as Brian2's ``active=False``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nestml_lab.codegen.manifest import SOLVERS
from nestml_lab.experiments.shared import common
from nestml_lab.experiments.shared.contract import Experiment, param

# AdEx exemplar classes: Gerstner, Kistler, Naud & Paninski (2014), Neuronal Dynamics, Table 6.1 (the table
# the notebook reads from adex_params.csv). Shared: R = 500 MOhm, E_L -70 mV, V_th -50 mV, Delta_T 2 mV.
ADEX_CLASSES = {  # tau_m (ms), a (nS), tau_w (ms), b (pA), V_reset (mV)
    "tonic": {"tau_m": 20.0, "a": 0.0, "tau_w": 30.0, "b": 60.0, "V_reset": -55.0},
    "adapting": {"tau_m": 20.0, "a": 0.0, "tau_w": 100.0, "b": 5.0, "V_reset": -55.0},
    "initial_burst": {"tau_m": 5.0, "a": 0.5, "tau_w": 100.0, "b": 7.0, "V_reset": -51.0},
    "bursting": {"tau_m": 5.0, "a": -0.5, "tau_w": 100.0, "b": 7.0, "V_reset": -46.0},
}

# the notebook's four conditions: which projections are on, and the plastic fraction of the recurrent weights
CONDITIONS = {
    "no_input": {"poisson": False, "exc": False, "inh": False, "stdp_value": 0.05},
    "poisson_input": {"poisson": True, "exc": False, "inh": False, "stdp_value": 0.05},
    "recurrent_excitation": {"poisson": True, "exc": True, "inh": False, "stdp_value": 0.1},
    "with_inhibition": {"poisson": True, "exc": True, "inh": True, "stdp_value": 0.1},
}


#: Brian2's method for each solver a network's AdEx may use (module.yaml ``solvers:``) where Brian2 has one
BRIAN2_METHODS = {"exponential-Euler": "exponential_euler", "rk4": "rk4", "forward-Euler": "euler"}


def solver_module(solver: str, progress=None):
    """The catalog's AdEx with its stp_stdp_synapse, built with ``solver`` (cached, beside the catalog)."""
    from nestml_lab import paths
    from nestml_lab.module_cache import build_models

    sources = {m: (paths.MODELS_DIR / f"{m}.nestml").read_text() for m in ("aeif_cond_exp_neuron", "stp_stdp_synapse")}
    return build_models(sources, solver=solver, suffix="_" + solver.replace("-", "_").lower(), log=progress,
                        synapses={"stp_stdp_synapse": {"weight_variable": "w", "post_ports": ["post_spikes"]}},
                        pairs=[{"neuron": "aeif_cond_exp_neuron", "synapses": ["stp_stdp_synapse"]}])


@dataclass(frozen=True)
class AdexNetworkParams:
    """Parameters of seed 004's AdEx network (defaults: the notebook's)."""

    n_inh: int = param(500, "interneurons; excitatory cells: 4 x n_inh")
    exc_class: str = param("adapting", "AdEx class of the excitatory cells", choices=tuple(ADEX_CLASSES))
    inh_class: str = param("tonic", "AdEx class of the interneurons", choices=tuple(ADEX_CLASSES))
    sigma_exc: float = param(0.05, "relative spread of the sampled parameters (E)")
    sigma_inh: float = param(0.01, "relative spread of the sampled parameters (I)")
    R_in_MOhm: float = param(500.0, "input resistance at rest", "MOhm")
    E_L_mV: float = param(-70.0, "leak reversal potential", "mV")
    V_th_mV: float = param(-50.0, "rheobase threshold", "mV")
    V_peak_mV: float = param(-20.0, "spike detection", "mV")
    Delta_T_mV: float = param(2.0, "slope factor", "mV")
    E_ex_mV: float = param(0.0, "excitatory reversal potential", "mV")
    E_in_mV: float = param(-80.0, "inhibitory reversal potential", "mV")
    tau_ex_ms: float = param(5.0, "excitatory synaptic time constant", "ms")
    tau_in_ms: float = param(10.0, "inhibitory synaptic time constant", "ms")
    epsilon: float = param(0.05, "connection probability of E; I: 2 epsilon")
    delay_ms: float = param(10.0, "recurrent delay, +- 0.1 ms jitter", "ms")
    w_e_nS: float = param(1.0, "excitatory weight (20 x 0.05 nS)", "nS")
    w_i_nS: float = param(20.0, "inhibitory weight", "nS")
    input_units: int = param(25, "Poisson input units")
    input_max_rate_hz: float = param(20.0, "input rates uniform in [0, max)", "Hz")
    input_p: float = param(0.01, "connection probability input -> E")
    input_weight_factor: float = param(10.0, "input weight = factor x w_e (short-term plasticity only)")
    step_pA: float = param(35.0, "step current into the first half of the E cells", "pA")
    step_start_ms: float = param(1000.0, "step current on", "ms")
    step_stop_ms: float = param(6000.0, "step current off", "ms")
    t_sim_ms: float = param(10000.0, "simulated time per condition", "ms", flag="--t-sim")
    seed: int = param(4022, "NEST's random seed")
    threads: int = param(2, "threads per process; under `mpirun -np N` every process runs this many: use 1 per core")
    conditions: tuple = param(tuple(CONDITIONS), "conditions to run, in order")
    # tau_stdp (20 ms) and Apost0 (-1.05 Apre0) are the model's defaults: NESTML moved them into the
    # co-generated neuron, so they are not per-connection parameters
    synapse_params: dict = param({"p_s0": 0.6, "tau_ps": 800.0, "tau_ns": 1500.0, "Apre0": 0.01},
                                 "the notebook's stp_stdp_synapse parameters NAME=VALUE", flag="--syn-param")
    brian2: bool = param(False, "also run the network in Brian2 and compare (needs `make brian2-setup`)")
    solver: str = param("exponential-Euler", "the AdEx cells' solver (module.yaml solvers:): the seed notebook's "
                        "exponential Euler by default (its 'exponential_euler'; 3-6 s a condition here, where RKF45, "
                        "--solver rk45, takes 10-15 s); not rk45: the catalog's models built with it (cached). Brian2 "
                        "runs the same method where it has one (exponential-Euler, rk4, forward-Euler), else the "
                        "seed's exponential_euler", choices=tuple(SOLVERS))
    brian2_target: str = param("numpy", "Brian2's code generation target", choices=("numpy", "cython",
                                                                                   "cpp_standalone"))

    @property
    def n_exc(self) -> int:
        """Number of excitatory cells (four per interneuron)."""
        return 4 * self.n_inh


@dataclass
class AdexNetworkResult:
    """Spikes, rates and timings of every condition, and the tree runs behind them."""

    params: AdexNetworkParams
    spikes: dict        # condition -> (senders - first id, times)
    input_spikes: dict  # condition -> (unit, times)
    provenance: dict
    tree_runs: dict | None = None   # condition -> the tree's run (networks.RunData), written by save()
    brian2: dict | None = None      # condition -> Brian2's rates, CV, wall time, memory (params.brian2)

    def rates(self) -> dict:
        """Mean rate (Hz) of the excitatory and the inhibitory cells, per condition."""
        p = self.params
        out = {}
        for cond, (ids, _t) in self.spikes.items():
            n_e = int(np.sum(ids < p.n_exc))
            out[cond] = (n_e / p.n_exc / (p.t_sim_ms / 1000.0), (len(ids) - n_e) / p.n_inh / (p.t_sim_ms / 1000.0))
        return out

    def cv_isi(self) -> dict:
        """Mean ISI CV of the excitatory cells with >= 3 spikes, per condition."""
        return {cond: common.mean_cv_isi(ids[ids < self.params.n_exc], t[ids < self.params.n_exc])
                for cond, (ids, t) in self.spikes.items()}


def _spread(value: float, sigma: float):
    """A parameter drawn per neuron around ``value`` with relative spread ``sigma`` (as the notebook does)."""
    return value if value == 0 or sigma == 0 else {"normal": {"mean": value, "std": abs(value) * sigma}}


def _cell_class(p: AdexNetworkParams, name: str, sigma: float) -> dict:
    ex = ADEX_CLASSES[name]
    g_l = 1000.0 / p.R_in_MOhm          # nS
    return {"nest_params": {"C_m": _spread(ex["tau_m"] * g_l, sigma), "a": _spread(ex["a"], sigma),
                            "b": _spread(ex["b"], sigma), "tau_w": _spread(ex["tau_w"], sigma),
                            "V_reset": _spread(ex["V_reset"], sigma)}}


def tree(p: AdexNetworkParams, condition: str, module_folder: str | None = None) -> dict:
    """The experiment tree of one condition; every condition builds the same network from the same seed.
    ``module_folder``: a project with the AdEx and its synapse (:func:`solver_module`), else the catalog.
    """
    c = CONDITIONS[condition]
    where = "nestml" if module_folder else "catalog"
    g_l = 1000.0 / p.R_in_MOhm
    syn = dict(p.synapse_params)
    w_in = p.input_weight_factor * p.w_e_nS if c["poisson"] else 0.0
    w_e = p.w_e_nS if c["exc"] else 0.0
    w_i = p.w_i_nS if c["inh"] else 0.0
    delay = {"redraw": {"normal": {"mean": p.delay_ms, "std": 0.1}, "min": 0.1}}
    return {
        **({"modules": [module_folder]} if module_folder else {}),
        "kernel": {"resolution_ms": 0.1, "seed": p.seed, "threads": p.threads},
        "network": {
            "neuron_models": {
                "params": {where: "aeif_cond_exp_neuron", "partner": "stp_stdp_synapse"},
                "nest_params": {"g_L": g_l, "E_L": p.E_L_mV, "V_th": p.V_th_mV, "Delta_T": p.Delta_T_mV,
                                "V_peak": p.V_peak_mV, "t_ref": 0.0, "E_ex": p.E_ex_mV, "E_in": p.E_in_mV,
                                "tau_syn_ex": p.tau_ex_ms, "tau_syn_in": p.tau_in_ms, "V_m": p.E_L_mV, "w": 0.0},
                "exc_cell": _cell_class(p, p.exc_class, p.sigma_exc),
                "inh_cell": _cell_class(p, p.inh_class, p.sigma_inh),
            },
            "synapse_models": {
                "params": {where: "stp_stdp_synapse", "partner": "aeif_cond_exp_neuron"},
                "nest_params": syn,
                # input: short-term plasticity only (no plastic fraction)
                "input": {"nest_params": {"w_max": w_in, "weight": w_in, "stdp_value": 0.0, "delay": 1.0}},
                # recurrent: a projection that is off has weight bounds 0 and transmits nothing; Brian2's w_syn
                # starts at 0 and is clipped to the lower bound at the first spike, so start there
                "exc_syn": {"nest_params": {"w_max": w_e, "weight": (1 - c["stdp_value"]) * w_e,
                                            "stdp_value": c["stdp_value"], "w_sign": 1.0, "delay": delay}},
                "inh_syn": {"nest_params": {"w_max": w_i, "weight": (1 - c["stdp_value"]) * w_i,
                                            "stdp_value": c["stdp_value"], "w_sign": -1.0, "delay": delay}},
            },
            "populations": {
                "E": {"model": "exc_cell", "n": p.n_exc},
                "I": {"model": "inh_cell", "n": p.n_inh},
                "input_rates": {"model": "nest:poisson_generator", "n": p.input_units,
                                "nest_params": {"rate": {"uniform": {"min": 0.0, "max": p.input_max_rate_hz}}}},
                "input": {"model": "nest:parrot_neuron", "n": p.input_units},
                "step": {"model": "nest:dc_generator", "n": 1,
                         "nest_params": {"amplitude": p.step_pA, "start": p.step_start_ms, "stop": p.step_stop_ms}},
            },
            "connections": [
                {"source": "step", "target": "E", "target_range": [0, p.n_exc // 2]},
                {"source": "input_rates", "target": "input", "rule": {"rule": "one_to_one"}},
                {"source": "input", "target": "E", "synapse": "input",
                 "rule": {"rule": "pairwise_bernoulli", "p": p.input_p}},
                {"source": "E", "target": ["E", "I"], "synapse": "exc_syn",
                 "rule": {"rule": "pairwise_bernoulli", "p": p.epsilon}},
                {"source": "I", "target": ["E", "I"], "synapse": "inh_syn",
                 "rule": {"rule": "pairwise_bernoulli", "p": 2 * p.epsilon}},
            ],
            "recorders": [{"name": "network", "populations": ["E", "I"]},
                          {"name": "input", "populations": ["input"]},
                          {"name": "exc_weights", "weights": {"source": "E", "synapse": "exc_syn", "max_sources": 50}}],
        },
        "sessions": {"run": {"simulation_time_ms": p.t_sim_ms}},
    }


def run(p: AdexNetworkParams, progress=None) -> AdexNetworkResult:
    """Run every condition's tree; spikes relative to the first cell. With ``p.brian2``, Brian2 runs the same
    network afterwards (rank 0 under MPI). Nothing is written: :func:`save` writes the run folders.
    """
    import tempfile

    from nestml_lab import networks, parallel

    unknown = set(p.conditions) - set(CONDITIONS)
    if unknown:
        raise KeyError(f"unknown condition(s) {sorted(unknown)}; there are: {', '.join(CONDITIONS)}")
    spikes, inputs, info, runs = {}, {}, {}, {}
    folder = str(solver_module(p.solver, progress).project) if p.solver != "rk45" else None
    for name in p.conditions:
        data = runs[name] = networks.simulate(networks.parse(tree(p, name, folder), f"adex_network[{name}]"),
                                           progress=progress)
        first = data.versions["first_ids"]
        ids, times = data.spikes["run"]["network"]
        spikes[name] = (np.asarray(ids) - first["E"], np.asarray(times))
        uid, ut = data.spikes["run"]["input"]
        inputs[name] = (np.asarray(uid) - first["input"], np.asarray(ut))
        wall = sum(v["wall_s"] for v in data.session_times.values())
        info[name] = {"build_s": data.versions["build_s"], "simulate_s": wall,
                      "peak_rss_mb": data.versions["peak_rss_mb"]}
        if progress:
            e = spikes[name][0] < p.n_exc
            progress(f"[adex] {name}: E {np.sum(e) / p.n_exc / p.t_sim_ms * 1e3:.2f} Hz, "
                     f"I {np.sum(~e) / p.n_inh / p.t_sim_ms * 1e3:.2f} Hz, {wall:.1f} s")
    theirs = None
    if p.brian2 and parallel.is_root():
        if progress:
            progress("[adex] the same network in Brian2 (its own environment) ...")
        with tempfile.TemporaryDirectory() as scratch:
            theirs = brian2_crosscheck(p, scratch)
    return AdexNetworkResult(p, spikes, inputs, {"conditions": info, **data.versions}, runs, theirs)


def save(result: AdexNetworkResult, out_dir: Path | str) -> dict[str, Path]:
    """``adex_network.json`` (parameters, rates, CV, Brian2's figures if run, provenance),
    ``adex_network_spikes.npz`` (``<condition>.senders``: cell index from 0, E cells first; ``.times`` in ms)
    and one tree run folder per condition under ``runs/``.
    """
    from nestml_lab import networks

    files = {f"run_{c}": networks.write(data, Path(out_dir) / "runs" / c) for c, data in (result.tree_runs or {}).items()}
    js, npz = common.save_arrays(
        out_dir, "adex_network.json", {"params": asdict(result.params), "rates_hz": result.rates(),
                                       "cv_isi_exc": result.cv_isi(), "brian2": result.brian2,
                                       "senders": "cell index from 0: E cells, then I cells",
                                       "provenance": result.provenance},
        "adex_network_spikes.npz", networks.spike_arrays(result.spikes))
    return {"json": js, "spikes": npz, **files}


def plot(result: AdexNetworkResult, out_dir: Path | str) -> Path:
    """The raster and rates of every condition as one figure in ``out_dir``; return its path."""
    plt = common.pyplot()

    p = result.params
    conds = list(result.spikes)
    fig, axes = plt.subplots(2 * len(conds), 1, figsize=(12, 3.2 * len(conds)), sharex=True,
                             gridspec_kw={"height_ratios": [5, 1] * len(conds)})
    rates = result.rates()
    for k, cond in enumerate(conds):
        ax, ax_in = axes[2 * k], axes[2 * k + 1]
        ids, t = result.spikes[cond]
        e = ids < p.n_exc
        ax.plot(t[e], ids[e], ",", color=common.EXC_COLOR)
        ax.plot(t[~e], ids[~e], ",", color=common.INH_COLOR)
        ax.set_ylim(0, p.n_exc + p.n_inh)
        ax.set_ylabel("neuron")
        ax.set_title(f"{cond}: E {rates[cond][0]:.2f} Hz, I {rates[cond][1]:.2f} Hz", fontsize=9)
        if p.step_start_ms < p.t_sim_ms:   # the step current, where it falls inside the simulated time
            ax.axvspan(p.step_start_ms, min(p.step_stop_ms, p.t_sim_ms), color="0.9", zorder=-1,
                       label="step current" if k == 0 else None)
        uid, ut = result.input_spikes[cond]
        ax_in.plot(ut, uid, ",", color="C2")
        ax_in.set_ylabel("input")
    axes[-1].set_xlabel("time (ms)")
    axes[-1].set_xlim(0, p.t_sim_ms)   # the simulated time, whatever the step current's band says
    axes[0].plot([], [], "s", color=common.EXC_COLOR, label="excitatory")
    axes[0].plot([], [], "s", color=common.INH_COLOR, label="inhibitory")
    axes[0].legend(fontsize=7, frameon=False, loc="upper right", ncol=3)
    fig.tight_layout()
    return common.save_figure(fig, out_dir, "adex_network.png", dpi=100)


def summary(r: AdexNetworkResult) -> list[str]:
    """One line per condition: rates, CV, time; and Brian2's beside them where it ran."""
    lines = []
    for cond, (e, i) in r.rates().items():
        c = r.provenance["conditions"][cond]
        lines.append(f"{cond:22s} E {e:6.2f} Hz  I {i:6.2f} Hz  CV(E) {r.cv_isi()[cond]:.2f}  "
                     f"wall {c['build_s'] + c['simulate_s']:.1f} s  peak RSS {c['peak_rss_mb']:.0f} MB")
    if r.brian2:
        lines.append(f"{'condition':22s} {'rate E (Hz)':>18s} {'rate I (Hz)':>18s} {'CV(E)':>12s} "
                     f"{'wall (s)':>14s} {'peak RSS (MB)':>14s}")
        lines.append(f"{'':22s} {'NEST  Brian2':>18s} {'NEST  Brian2':>18s} {'NEST Brian2':>12s} "
                     f"{'NEST Brian2':>14s} {'NEST Brian2':>14s}")
        for cond, (e, i) in r.rates().items():
            c, b = r.provenance["conditions"][cond], r.brian2[cond]
            lines.append(f"{cond:22s} {e:8.2f} {b['rate_exc_hz']:8.2f}  {i:8.2f} {b['rate_inh_hz']:8.2f}  "
                         f"{r.cv_isi()[cond]:5.2f} {b['cv_exc']:5.2f}  {c['build_s'] + c['simulate_s']:6.1f} "
                         f"{b['wall_s']:6.1f}  {c['peak_rss_mb']:6.0f} {b['peak_rss_mb']:6.0f}")
        lines.append("(Brian2's peak RSS is its process's peak so far: the conditions run one after another)")
    return lines


EXPERIMENT = Experiment(AdexNetworkParams, run, save, plot, summary,
                        help="seed 004's AdEx E/I network with STP+STDP, four conditions")


BRIAN2_PYTHON = "BRIAN2_PYTHON"   # environment variable naming the Python of the Brian2 environment


def brian2_python() -> str | None:
    """The Python of the optional Brian2 environment (``make brian2-setup``), or None when there is none."""
    import os

    from nestml_lab import paths

    path = os.environ.get(BRIAN2_PYTHON) or str(paths.REPO_ROOT / ".venv-brian2" / "bin" / "python")
    return path if Path(path).is_file() else None


def brian2_crosscheck(p: AdexNetworkParams, out_dir: str | Path, python: str | None = None) -> dict:
    """Run the same network in Brian2 (its own environment); return condition -> rates, CV, wall, memory."""
    import subprocess

    python = python or brian2_python()
    if python is None:
        raise RuntimeError("no Brian2 environment: run `make brian2-setup` (brian2 needs numpy < 2.4, so it "
                           "lives in .venv-brian2, apart from NEST)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    job = {"params": {**asdict(p), "conditions": list(p.conditions),
                      "brian2_method": BRIAN2_METHODS.get(p.solver, "exponential_euler")},
           "classes": {"exc": ADEX_CLASSES[p.exc_class], "inh": ADEX_CLASSES[p.inh_class]},
           "conditions": {c: CONDITIONS[c] for c in p.conditions}}
    (out / "brian2_job.json").write_text(json.dumps(job, indent=1))
    script = Path(__file__).parent / "shared" / "adex_brian2.py"
    proc = subprocess.run([python, str(script), str(out / "brian2_job.json"), str(out / "brian2_result.json")],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the Brian2 run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads((out / "brian2_result.json").read_text())
