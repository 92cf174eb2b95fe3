"""Conformance: each neuron of a project that names a NEST twin, run against that twin under the same inputs.

A project's ``module.yaml`` names the twins::

    twins:
      iaf_psc_alpha_neuron: nest:iaf_psc_alpha
      aeif_cond_exp_neuron: {twin: nest:aeif_cond_exp, map: {E_exc: E_ex, refr_T: t_ref}}

``nestml-lab validate PROJECT`` gives both models the twin's values of every parameter and state variable they
share (``map`` renames ours to the twin's where the names differ, or gives ours as arithmetic of the twin's
values: ``V_th: V_th - E_L`` where ours is relative to the resting potential), and drives one of each with the same
inputs: an excitatory and an inhibitory Poisson train (2000 and 500 Hz, the same spike times for both;
``weight`` in the twin's unit, by default 30 pA for current-, 2 nS for conductance-based and 0.5 mV for delta
synapses) for the whole run, plus a current step to the twin's rheobase estimate in the second third and to
twice that in the last (``current_pA``: the first step). It reports per model: *spike-identical*, *same
spikes* within a tolerance (same count, every time within ``tolerance_ms``), or *differs*, with the time of
the first spike that differs and by how much, and the largest V_m difference before it (away from the spike
steps, where each model records its own peak or reset); and the twin's
parameters that nothing maps (left at the twin's defaults on its side only).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nestml_lab.arith import evaluate

#: NEST's own bookkeeping on every neuron (calcium trace, STDP archiving, ...): never mapped, never reported.
_GENERIC = {"Ca", "beta_Ca", "tau_Ca", "tau_minus", "tau_minus_triplet", "post_trace", "t_spike", "gsl_error_tol",
            "ignore_and_spike_interval", "ignore_and_spike_offset", "vp", "global_id", "local_id", "thread",
            "node_uses_wfr", "frozen", "local", "synaptic_elements", "archiver_length", "recordables", "V_min",
            "model_id", "thread_local_id", "supports_precise_spikes", "has_connections", "ignore_and_spike",
            "elementsize", "capacity", "instantiations", "available", "sizeof", "type_id"}
RATES_HZ = (2000.0, 500.0)


@dataclass
class Comparison:
    """One neuron against its twin."""

    model: str
    twin: str
    verdict: str                  # "spike-identical", "same spikes", "differs", or "failed: <why>"
    spikes: tuple = (0, 0)        # (ours, twin's)
    first_difference_ms: float | None = None
    shift_ms: float | None = None          # time difference of the first differing spike (or None: one is missing)
    max_dv_mv: float | None = None         # largest |V_m - V_m twin| before the first difference, off spikes
    unmapped: list = field(default_factory=list)
    mapped: list = field(default_factory=list)
    weight: float = 0.0
    current_pA: float = 0.0
    not_settable: list = field(default_factory=list)    # our names the model refuses to set (kept at ours)
    refused_inputs: list = field(default_factory=list)  # inputs the models do not take

    def notes(self) -> str:
        """What the comparison could not map or set, as one text."""
        out = []
        if self.unmapped:
            out.append("twin only: " + ", ".join(self.unmapped))
        if self.not_settable:
            out.append("not settable on ours: " + ", ".join(self.not_settable))
        out += self.refused_inputs
        return "; ".join(out) or "-"

    def row(self) -> list:
        """This result as a row of the conformance table."""
        return [self.model, self.twin, self.verdict, self.spikes[0], self.spikes[1],
                "" if self.first_difference_ms is None else f"{self.first_difference_ms:g}",
                "" if self.shift_ms is None else f"{self.shift_ms:.4g}",
                "" if self.max_dv_mv is None else f"{self.max_dv_mv:.3g}", self.notes()]


HEADER = ["model", "twin", "verdict", "spikes", "spikes_twin", "first_difference_ms", "shift_ms", "max_dV_mV",
          "notes"]


def _default_weight(defaults: dict) -> float:
    """A default input weight from the twin's synapse kind: 2 nS (conductance), 0.5 mV (delta), else 30 pA."""
    if any(k in defaults for k in ("E_ex", "E_in", "E_rev_AMPA")):
        return 2.0
    if not any(k.startswith("tau_syn") for k in defaults):
        return 0.5
    return 30.0


def _rheobase(d: dict) -> float:
    """A rough rheobase of the twin from its leak and threshold (200 pA when it has neither)."""
    if all(k in d for k in ("g_L", "V_th", "E_L")) and d["V_th"] > d["E_L"]:
        return float(d["g_L"] * (d["V_th"] - d["E_L"]))
    if all(k in d for k in ("C_m", "tau_m", "V_th", "E_L")) and d["V_th"] > d["E_L"]:
        return float(d["C_m"] * (d["V_th"] - d["E_L"]) / d["tau_m"])
    return 200.0


def compare(mod, model: str, spec, t_ms: float = 1500.0, resolution_ms: float = 0.1, seed: int = 1,
            tolerance_ms: float = 0.2) -> Comparison:
    """Run ``model`` of the installed module ``mod`` and its twin (``spec``: a manifest TwinSpec) side by side."""
    import nest

    from nestml_lab import module as modules
    from nestml_lab import parallel
    from nestml_lab.experiments.shared.common import spikes_by_sender

    ours = mod.neuron(model)
    modules.reset_kernel()
    nest.resolution = resolution_ms
    defaults = {k: v for k, v in nest.GetDefaults(spec.twin).items()
                if isinstance(v, (float, int, bool)) and k not in _GENERIC}   # numbers and switches (ahp_bug)
    info = mod.models()[ours]
    declared = [*info.parameters, *info.state]
    values, mapped = {}, []
    for name in declared:
        theirs = spec.map.get(name, name)
        if theirs in defaults:
            values[name] = defaults[theirs]
            mapped.append(theirs)
        elif name in spec.map and not theirs.isidentifier():   # arithmetic of the twin's values ("V_th - E_L")
            values[name] = evaluate(theirs, defaults, f"twins: {model}: map {name}={theirs!r}", "the twin")
            mapped += [n for n in defaults if re.search(rf"\b{n}\b", theirs)]
    unmapped = sorted(set(defaults) - set(mapped))
    weight = spec.weight if spec.weight is not None else _default_weight(defaults)
    current = spec.current_pA if spec.current_pA is not None else _rheobase(defaults)
    rng = np.random.default_rng(seed)
    trains = [np.unique(np.round(np.sort(rng.uniform(resolution_ms * 2, t_ms - 1, rng.poisson(r * t_ms / 1000)))
                                 / resolution_ms) * resolution_ms) for r in RATES_HZ]
    pair = nest.Create(ours) + nest.Create(spec.twin)
    refused = []
    for name, value in values.items():   # one at a time: a state NESTML keeps internal (a kernel's) refuses
        try:
            pair[0].set({name: value})
        except nest.NESTError:
            refused.append(name)
    inputs = []
    for train, sign, label in zip(trains, (1.0, -1.0), ("excitatory spikes", "inhibitory spikes")):
        gen = nest.Create("spike_generator", params={"spike_times": train})
        inputs.append(_connect(nest, gen, pair, {"weight": sign * weight, "delay": resolution_ms}, label))
    step = nest.Create("step_current_generator", params={
        "amplitude_times": [t_ms / 3, 2 * t_ms / 3], "amplitude_values": [current, 2 * current]})
    inputs.append(_connect(nest, step, pair, {"delay": resolution_ms}, "current steps"))
    sr = nest.Create("spike_recorder")
    nest.Connect(pair, sr)
    with_v = all("V_m" in nest.GetDefaults(m)["recordables"] for m in (ours, spec.twin))
    if with_v:
        mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": resolution_ms})
        nest.Connect(mm, pair)
    nest.Simulate(t_ms)
    s = spikes_by_sender(sr, pair)
    mev = parallel.events(mm, ("senders", "times", "V_m")) if with_v else {k: np.zeros(0) for k in
                                                                            ("senders", "times", "V_m")}
    v = [mev["V_m"][mev["senders"] == n.global_id] for n in pair]
    t_v = mev["times"][mev["senders"] == pair[0].global_id]
    out = Comparison(model, spec.twin, "", (len(s[0]), len(s[1])), unmapped=unmapped, mapped=mapped,
                     weight=weight, current_pA=current, not_settable=refused,
                     refused_inputs=[i for i in inputs if i])
    if len(s[0]) == len(s[1]) and np.array_equal(s[0], s[1]):
        out.verdict = "spike-identical"
    elif len(s[0]) == len(s[1]) and np.all(np.abs(s[0] - s[1]) <= tolerance_ms + 1e-9):
        out.verdict = f"same spikes (within {tolerance_ms:g} ms)"
    else:
        out.verdict = "differs"
        n = min(len(s[0]), len(s[1]))
        off = np.flatnonzero(np.abs(s[0][:n] - s[1][:n]) > tolerance_ms + 1e-9)
        i = int(off[0]) if len(off) else n
        if i < n:
            out.first_difference_ms, out.shift_ms = float(min(s[0][i], s[1][i])), float(s[0][i] - s[1][i])
        else:
            out.first_difference_ms = float((s[0] if len(s[0]) > n else s[1])[n])
    # V_m before the first difference, away from spikes (a spike step records peak or reset by each model's
    # own convention); ours shifted by the difference of the start values (a V_m relative to E_L)
    offset = defaults.get("V_m", 0.0) - values.get("V_m", defaults.get("V_m", 0.0))
    quiet = t_v < (out.first_difference_ms if out.first_difference_ms is not None else np.inf)
    for t_spike in np.concatenate(s):
        quiet &= ~((t_v >= t_spike - resolution_ms / 2) & (t_v < t_spike + 1.0))
    if quiet.any():
        out.max_dv_mv = float(np.max(np.abs(v[0][quiet] + offset - v[1][quiet])))
    return out


def _connect(nest, source, pair, syn_spec: dict, label: str) -> str:
    """Connect ``source`` to both models; the reason when one of them does not take it (else '')."""
    try:
        nest.Connect(source, pair[1], syn_spec=syn_spec)
        nest.Connect(source, pair[0], syn_spec=syn_spec)
    except nest.NESTError:
        return f"no {label} (a model refuses them)"
    return ""


def validate(project, log=print, **kwargs) -> list[Comparison]:
    """Every neuron of ``project`` (a folder or module.yaml) that names a twin, against it."""
    import nest

    from nestml_lab import module as modules
    from nestml_lab.experiments.shared.common import check_builtin

    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.ResetKernel()   # a module is installed before any node exists
    mod = modules.load(project)
    twins = mod.manifest.twins
    if not twins:
        raise ValueError(f"{mod.manifest.path}: no 'twins:' entry; name each neuron's NEST twin, e.g.\n"
                         "twins:\n  my_neuron: nest:iaf_psc_alpha")
    for model, spec in twins.items():   # every twin named right before the first run
        try:
            check_builtin(spec.twin, "neuron")
        except KeyError as exc:
            raise KeyError(f"{mod.manifest.path}: twins: '{model}': {exc.args[0]}") from None
    results = []
    for k, (model, spec) in enumerate(twins.items(), 1):
        result = compare(mod, model, spec, **kwargs)
        log(f"[validate] {k}/{len(twins)} {model} vs {spec.twin}: {result.verdict}"
            + (f" (first at {result.first_difference_ms:g} ms)" if result.first_difference_ms is not None else ""))
        results.append(result)
    return results


def markdown(results: list[Comparison], without_twin: list[str] = ()) -> str:
    """The conformance table, as the docs show it."""
    lines = ["| model | NEST twin | verdict | spikes (ours / twin) | first difference | max dV before (mV) "
             "| notes |", "|---|---|---|---|---|---|---|"]
    for r in results:
        first = "-" if r.first_difference_ms is None else (
            f"{r.first_difference_ms:g} ms" + (f" ({r.shift_ms:+.3g} ms)" if r.shift_ms is not None else
                                                " (a spike missing)"))
        dv = "-" if r.max_dv_mv is None else f"{r.max_dv_mv:.2g}"
        lines.append(f"| {r.model} | {r.twin} | {r.verdict} | {r.spikes[0]} / {r.spikes[1]} | {first} | {dv} | "
                     f"{r.notes()} |")
    lines += [f"| {m} | (none in NEST) | not compared | | | | |" for m in without_twin]
    return "\n".join(lines) + "\n"


def save(results: list[Comparison], out_dir: Path | str, without_twin: list[str] = ()) -> dict[str, Path]:
    """``conformance.csv``, ``conformance.json`` and ``conformance.md`` in ``out_dir``, each written whole (a
    file is replaced only when its new version is complete; under MPI rank 0 writes).
    """
    from nestml_lab import atomic
    from nestml_lab.experiments.shared.common import save_table

    out = Path(out_dir)
    files = save_table(out, "conformance", HEADER, [r.row() for r in results], [asdict(r) for r in results])
    return {**files, "markdown": atomic.write_text(out / "conformance.md", markdown(results, without_twin))}
