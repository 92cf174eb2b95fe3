"""The references of the STDP window: the event-driven Python rule of a synapse (``references.RULES``), its
curve on the protocol's spike schedule, and the same protocol on NEST's built-in twin, every parameter
translated. ``p`` is the window's parameters (``stdp_window.StdpWindowParams``).
"""

from __future__ import annotations

import numpy as np

from nestml_lab import catalog, references
from nestml_lab.experiments.shared import common


#: A catalog rule named as a reference: ``catalog:stdp_synapse`` (its Python reference, references.RULES).
CATALOG_PREFIX = "catalog:"


#: The catalog synapse's postsynaptic time constants (moved into the neuron) -> the NEST neuron's parameters.
POST_TIME_CONSTANTS = {"stdp_synapse": {"tau_tr_post": "tau_minus"},
                        "stdp_nn_symm_synapse": {"tau_tr_post": "tau_minus"},
                        "stdp_triplet_synapse": {"tau_minus": "tau_minus", "tau_y": "tau_minus_triplet"}}


def reference_rule(p, twin=None):
    """The event-driven reference for the window's synapse, as ``f(pre, post) -> final weight``, or None.

    Catalog synapses use their own parameters; a NEST built-in twin has its
    parameter names translated (the post-trace time constants are then the
    neuron's ``tau_minus`` / ``tau_minus_triplet``). A project's synapse has one
    where ``p.reference`` names it: ``catalog:<rule>`` with the rule's parameters
    from ``p.reference_map``, or ``nest:<built-in>`` with a Python reference (``twin``:
    :func:`nest_twin` of ``p`` when the caller has it already).
    """
    name = p.synapse
    params = dict(p.synapse_params)
    if p.reference is not None and not name.startswith(common.BUILTIN_PREFIX):
        if p.reference.startswith(common.BUILTIN_PREFIX):
            twin = twin if twin is not None else nest_twin(p)
            return None if twin is None else reference_rule(twin)
        rule = references.RULES[p.reference[len(CATALOG_PREFIX):]]
        values = mapped_values(p)
        return lambda pre, post: rule(pre, post, p.delay_ms, p.w0, values).final
    if name.startswith(common.BUILTIN_PREFIX):
        import nest

        builtin = name[len(common.BUILTIN_PREFIX):]
        twin = references.NEST_TWINS.get(builtin)
        if twin is None:
            return None
        name, mapping = twin
        if set(params) - set(mapping):
            return None
        # every parameter the rule uses, as NEST has it (defaults or the values given)
        syn = {**nest.GetDefaults(builtin), **params}
        params = {mapping[k]: syn[k] for k in mapping}
        mod = common.project_module(p.project)
        neuron_model = p.neuron[len(common.BUILTIN_PREFIX):] if p.neuron.startswith(common.BUILTIN_PREFIX) \
            else mod.neuron(p.neuron)
        neu = {**nest.GetDefaults(neuron_model), **p.neuron_params}
        params.update({ours: neu[theirs] for ours, theirs in POST_TIME_CONSTANTS[name].items()})
    elif p.project is None:
        # parameters NESTML moved into the co-generated neuron, e.g. tau_tr_post__for_stdp_synapse_nestml
        for key, value in p.neuron_params.items():
            variable = key.split("__for_")[0]
            if key == catalog.moved_parameter(name, variable):
                params[variable] = value
    else:
        return None   # a project's synapse without a named reference
    rule = references.RULES.get(name)
    if rule is None:
        return None
    return lambda pre, post: rule(pre, post, p.delay_ms, p.w0, params).final


def synapse_values(p) -> dict:
    """The synapse's parameters as the window runs it, by their names in the synapse: NEST's defaults, the
    values given, and the ones NESTML moved into the co-generated neuron (read there).
    """
    import nest

    mod = common.project_module(p.project)
    neuron, synapse = common.resolve_models(p.synapse, p.neuron, mod)
    values = {**nest.GetDefaults(synapse), **p.synapse_params}
    info = mod.models().get(synapse)
    if info is not None and info.pair:
        neu = {**nest.GetDefaults(neuron), **p.neuron_params}
        for orig, here in mod.moved(*info.pair).items():
            values[orig] = neu[here]
    return {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def mapped_values(p, wanted=()) -> dict:
    """``p.reference_map`` evaluated on the synapse's parameters (:func:`synapse_values`), plus every name of
    ``wanted`` the synapse has under the same name.
    """
    own = synapse_values(p)
    out = {name: own[name] for name in wanted if name in own}
    for name, expr in p.reference_map.items():
        out[name] = float(expr) if isinstance(expr, (int, float)) else _evaluate(expr, own, name)
    return out


def _evaluate(expr: str, names: dict, target: str) -> float:
    """An arithmetic expression (numbers, names, + - * / **, parentheses) over ``names``."""
    from nestml_lab.arith import evaluate

    return evaluate(expr, names, f"reference_map {target}={expr!r}")


def reference_curve(p, dts: np.ndarray) -> np.ndarray | None:
    """The reference rule's dw on the protocol's own spike schedule, for any dt (ms); None without a reference.

    The pairings are placed as :func:`_simulate` places them (on the grid, a pairing period apart, the
    flushing presynaptic spike included), so the curve is what the simulation would give at each dt.
    """
    rule = reference_rule(p)
    if rule is None:
        return None
    period = 1000.0 / p.frequency_hz
    t0 = float(np.max(np.abs(dts))) + p.silent_start_ms
    base = t0 + np.arange(p.n_pairings) * period
    pre = common.on_grid(base, p.resolution_ms)
    if p.flush_pre_spike:
        pre = np.append(pre, common.on_grid(t0 + p.n_pairings * period, p.resolution_ms))
    return np.array([rule(pre, common.on_grid(base + dt, p.resolution_ms)) for dt in dts]) - p.w0


def nest_twin(p):
    """The same protocol with a NEST built-in, every parameter translated; None where there is none.

    For a catalog synapse (no ``reference``): its built-in twin on NEST's iaf_psc_exp (the postsynaptic
    time constants become the NEST neuron's tau_minus...); None where the synapse has no twin, the neuron
    is not iaf_psc_exp_neuron, or a parameter has no NEST counterpart. For ``reference="nest:<name>"``:
    that built-in on ``reference_neuron``, its parameters from ``reference_map`` (and the synapse's
    parameters of the same name); names that are the neuron's (tau_minus) are set on the neuron.
    """
    import nest

    if p.synapse.startswith(common.BUILTIN_PREFIX):
        return None
    if p.reference is not None:
        if not p.reference.startswith(common.BUILTIN_PREFIX):
            return None
        builtin = p.reference[len(common.BUILTIN_PREFIX):]
        common.check_builtin(builtin, "synapse")
        neuron = p.reference_neuron[len(common.BUILTIN_PREFIX):] if p.reference_neuron.startswith(
            common.BUILTIN_PREFIX) else p.reference_neuron
        common.check_builtin(neuron, "neuron")
        syn_keys, neu_keys = set(nest.GetDefaults(builtin)), set(nest.GetDefaults(neuron))
        rule_names = set(references.NEST_TWINS.get(builtin, (None, {}))[1]) - {"weight"}
        post_names = set(POST_TIME_CONSTANTS.get(references.NEST_TWINS.get(builtin, ("",))[0], {}).values())
        values = mapped_values(p, wanted=rule_names | post_names)
        unknown = sorted(set(values) - syn_keys - neu_keys)
        if unknown:
            raise KeyError(f"reference_map: {', '.join(unknown)} is neither a parameter of NEST's {builtin} nor "
                           f"of {neuron}")
        return type(p)(**{**p.__dict__, "synapse": common.BUILTIN_PREFIX + builtin,
                                   "neuron": common.BUILTIN_PREFIX + neuron, "project": p.project,
                                   "synapse_params": {k: v for k, v in values.items() if k in syn_keys},
                                   "neuron_params": {k: v for k, v in values.items()
                                                     if k in neu_keys and k not in syn_keys},
                                   "drive_weight": None, "nest_twin": False, "reference": None,
                                   "reference_map": {}})
    if p.project is not None or p.neuron != "iaf_psc_exp_neuron":
        return None
    builtin = next((b for b, (ours, _) in references.NEST_TWINS.items() if ours == p.synapse), None)
    if builtin is None or p.synapse not in POST_TIME_CONSTANTS:
        return None
    to_nest = {ours: theirs for theirs, ours in references.NEST_TWINS[builtin][1].items()}
    post = POST_TIME_CONSTANTS[p.synapse]
    moved = {catalog.moved_parameter(p.synapse, v): v for v in post}
    if set(p.synapse_params) - set(to_nest) or set(p.neuron_params) - set(moved):
        return None
    neuron, synapse = catalog.pair_models(p.neuron, p.synapse)
    syn = {**nest.GetDefaults(synapse), **p.synapse_params}
    neu = {**nest.GetDefaults(neuron), **p.neuron_params}
    return type(p)(**{**p.__dict__, "synapse": common.BUILTIN_PREFIX + builtin,
                               "neuron": common.BUILTIN_PREFIX + "iaf_psc_exp",
                               "synapse_params": {theirs: float(syn[ours]) for ours, theirs in to_nest.items()},
                               "neuron_params": {post[v]: float(neu[m]) for m, v in moved.items()},
                               "drive_weight": None, "nest_twin": False})


def unmapped_parameters(twin) -> list[str]:
    """Parameters of the built-in's rule that the twin leaves at NEST's defaults."""
    builtin = twin.synapse[len(common.BUILTIN_PREFIX):]
    rule, mapping = references.NEST_TWINS.get(builtin, (None, {}))
    used = (set(mapping) - {"weight"}) | set(POST_TIME_CONSTANTS.get(rule, {}).values())
    return sorted(used - set(twin.synapse_params) - set(twin.neuron_params))
