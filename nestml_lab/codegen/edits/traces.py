"""The speed rewrites of a co-generated neuron's postsynaptic traces, as its synapses read them.

R2 ``trace_lookup`` (co-generated neurons)
    For every presynaptic spike a plastic synapse asks the neuron for a
    postsynaptic trace; NESTML's getter recomputes *all* propagators of the
    neuron twice (18 ``exp`` each for the catalog's 3-synapse pair) and writes
    every trace into the neuron's state. Two levels:

    - pure lookup: the getter scans the history and returns
      ``P(t - t_i) * entry.trace`` with the trace's own propagator expression
      (NESTML's text with ``V_.__h`` replaced by the interval), writing
      nothing. Preconditions: the trace is self-coupled and linear
      (``X__tmp = V_.__P__X__X * S_.X``), its propagator depends only on the
      interval and parameters, the getter integrates analytically only (no
      GSL call), and nothing in the neuron's dynamics (update, onReceive,
      ODE right-hand sides) reads the trace's state variable.
    - propagators only: where the pure lookup is not allowed (a GSL neuron
      integrates the moved traces in its own ODE system, and NESTML's getter
      also drives that integrator, so its writes are part of the dynamics),
      each ``recompute_internal_variables(true)`` inside a getter or
      ``set_spiketime`` is replaced by the assignments of just the trace
      propagators the code between the two calls reads. Everything else the
      getter does is kept, so the results are bit-identical.


R10 ``post_values`` (co-generated neurons whose traces a synapse reads at post spikes)
    The triplet rule's post block reads the postsynaptic triplet trace just
    before that post spike's own increment: R2's lookup finds the previous
    history entry and computes ``P(t_i - t_(i-1)) * trace_(i-1)``, an ``exp``
    per post spike per synapse, the very value the neuron computed when it
    stored entry i. The neuron now keeps that value in the entry (8 B more
    per entry and trace so read), and the lookup at a post spike's own time
    returns it. NEST keeps it too (``Kminus_triplet_``; its rule subtracts
    1). Changes no value: the same expression of the same numbers,
    returned only where NESTML's lookup takes that branch (the previous
    entry exists and lies at least NEST's ``stdp_eps`` before). With R9, the
    triplet twin network calls ``exp`` as often as NEST's (159 M).
    Preconditions: R2's pure lookup for the trace; NESTML 9.0.0's history
    entry, ``set_spiketime`` and ``push_back`` found.

"""

from __future__ import annotations

import re

from nestml_lab.codegen.edits.cpp import (NoMatch, NotApplicable, block_end, definitions,
                                         depends_on_interval_and_parameters, one_definition, propagators)
from nestml_lab.codegen.edits.model import Model

# --------------------------------------------------------------------------- R2: trace lookup

def _trace_getters(cpp: str, cls: str) -> list[str]:
    """Names of the neuron's ``get_<trace>__for_<synapse>(double t, bool before_increment)`` lookups."""
    return [name for name, s, _ in definitions(cpp, cls, r"get_\w+__for_\w+")
            if cpp.startswith(f"{cls}::{name}( double t, const bool before_increment )", s)]


def _state_ref(var: str, cpp: str) -> str:
    return f"S_.ode_state[State_::{var}]" if f"S_.ode_state[State_::{var}]" in cpp else f"S_.{var}"


def _dynamics_text(cpp: str, cls: str) -> str:
    """update(), the onReceive blocks and the ODE right-hand sides: the code that *is* the neuron's dynamics."""
    parts = [cpp[s:e] for _, s, e in definitions(cpp, cls, r"update|on_receive_block_\w+")]
    for m in re.finditer(r'^extern "C" inline int \w+\(', cpp, re.M):
        parts.append(cpp[m.start():block_end(cpp, cpp.index("{", m.end()))])
    return "\n".join(parts)


def _pure_lookup(cpp: str, cls: str, getter: str, var: str, props: dict[str, str], dynamics: str
                 ) -> tuple[str, str | None]:
    """Replace ``getter`` by a lookup that computes only ``var``; return (cpp, why it was not allowed)."""
    start, end = one_definition(cpp, cls, getter)
    body = cpp[start:end]
    prop = f"__P__{var}__{var}"
    sref = _state_ref(var, cpp)
    if "gsl_odeiv_evolve_apply" in body:
        return cpp, "the lookup also runs the neuron's GSL integrator, whose step size is part of the dynamics"
    if f"const double {var}__tmp = V_.{prop} * {sref};" not in body:
        return cpp, f"{var} is not a self-decaying linear trace in NESTML's lookup"
    if prop not in props or not depends_on_interval_and_parameters(props[prop]):
        return cpp, f"the propagator of {var} depends on more than the interval and parameters"
    if sref in dynamics:
        return cpp, f"the neuron's dynamics read {var}, which NESTML's lookup writes"
    if f"return {var}__iv;" not in body or f"history_[ i ].{var}_" not in body:
        return cpp, "NESTML's lookup branches not found"
    expr = props[prop].replace("V_.__h", "__dt")
    expr0 = props[prop].replace("V_.__h", "t")
    new = (f"{cls}::{getter}( double t, const bool before_increment )\n{{\n"
           f"  // nestml-lab R2: the value of {var} at t, from the last post spike before t and the trace's\n"
           f"  // own propagator (NESTML's expression). No other propagator is recomputed and the neuron's state\n"
           f"  // is not written. Branches and comparisons are NESTML's.\n"
           f"  if ( history_.empty() )\n  {{\n    return {var}__iv;\n  }}\n"
           f"  const double eps = before_increment ? nest::kernel().connection_manager.get_stdp_eps() : 0.;\n"
           f"  for ( long i = static_cast< long >( history_.size() ) - 1; i >= 0; --i )\n  {{\n"
           f"    if ( t - history_[ i ].t_ >= eps )\n    {{\n"
           f"      if ( t - history_[ i ].t_ >= nest::kernel().connection_manager.get_stdp_eps() )\n      {{\n"
           f"        const double __dt = t - history_[ i ].t_;\n"
           f"        const double {prop} = {expr};\n"
           f"        return {prop} * history_[ i ].{var}_;\n      }}\n"
           f"      return history_[ i ].{var}_;\n    }}\n  }}\n"
           f"  if ( ( !before_increment ) and t == history_[ 0 ].t_ )\n  {{\n    return history_[ 0 ].{var}_;\n  }}\n"
           f"  if ( t == 0. )\n  {{\n    return 0.;\n  }}\n"
           f"  if ( t > 1E-12 )\n  {{\n    const double {prop} = {expr0};\n    return {prop} * 0.;\n  }}\n"
           f"  return 0.;\n}}")
    return cpp[:start] + new + cpp[end:], None


def _propagators_only(cpp: str, fn_start: int, fn_end: int, props: dict[str, str]) -> tuple[str, int]:
    """In one function, replace each pair of recompute_internal_variables(true) by the propagators read between."""
    body = cpp[fn_start:fn_end]
    call = "recompute_internal_variables(true);"
    parts = body.split(call)
    if len(parts) == 1:
        return cpp, 0
    if (len(parts) - 1) % 2:
        raise NoMatch("recompute_internal_variables(true) is not called in pairs")
    out = [parts[0]]
    for k in range(1, len(parts), 2):
        block = parts[k]
        used = sorted(set(re.findall(r"V_\.(\w+)", block)) - {"__h"})
        if any(u not in props or not depends_on_interval_and_parameters(props[u]) for u in used):
            raise NoMatch("a lookup's integration reads internals other than trace propagators")
        for fn in re.findall(r"B_\.__sys\.function = (\w+);", block):
            m = re.search(rf'^extern "C" inline int {re.escape(fn)}\(', cpp, re.M)
            if not m or "node.V_." in cpp[m.start():block_end(cpp, cpp.index("{", m.end()))]:
                raise NoMatch(f"{fn} reads internals")
        assign = " ".join(f"V_.{u} = {props[u]};" for u in used) + "  // nestml-lab R2: only these propagators"
        out += [assign, block, assign, parts[k + 1]]
    return cpp[:fn_start] + "".join(out) + cpp[fn_end:], (len(parts) - 1) // 2


def _trace_lookup(cpp: str, cls: str) -> tuple[str, str]:
    getters = _trace_getters(cpp, cls)
    if not getters:
        raise NoMatch("no postsynaptic trace lookups")
    props = propagators(cpp)
    dynamics = _dynamics_text(cpp, cls)   # the getters' rewrites below do not touch it
    pure, kept = [], []
    for getter in getters:
        var = getter[len("get_"):]
        cpp, why = _pure_lookup(cpp, cls, getter, var, props, dynamics)
        (kept.append(f"{var} ({why})") if why else pure.append(var))
    n_pairs = 0
    for name in [g for g in getters if g[len("get_"):] not in pure] + ["set_spiketime"]:
        s, e = one_definition(cpp, cls, name)
        cpp, n = _propagators_only(cpp, s, e, props)
        n_pairs += n
    detail = []
    if pure:
        detail.append(f"pure lookup for {', '.join(pure)}")
    if kept:
        detail.append(f"propagators only for {'; '.join(kept)}")
    detail.append(f"{n_pairs} recompute-all pair(s) replaced")
    return cpp, "; ".join(detail)



# --------------------------------------------------------------------------- R10: post values

def post_loop_lookups(synapse_header: str) -> set[str]:
    """The neuron traces a co-generated synapse looks up inside its loop over post spikes."""
    at = synapse_header.find("while ( start != finish )")
    if at < 0:
        return set()
    loop = synapse_header[at:block_end(synapse_header, synapse_header.index("{", at))]
    return set(re.findall(r"->get_(\w+)\(", loop)) - {"history__"}


def _post_values(cpp: str, header: str, cls: str, wanted: set[str]) -> tuple[str, str, str]:
    if not wanted:
        raise NotApplicable("no synapse looks up a trace at its post spikes")
    pure = [v for v in sorted(wanted) if f"// nestml-lab R2: the value of {v} at t," in cpp]
    if not pure:
        raise NoMatch(f"no pure lookup (R2) for {', '.join(sorted(wanted))}")
    m = re.search(rf"^class histentry__{cls}\n\{{", header, re.M)
    if not m:
        raise NoMatch("the history entry class not found")
    end = block_end(header, m.end() - 1)
    entry = header[m.start():end]
    for pat in (r"\n  \)\n  : t_\( t \)\n", r"\n  \{\n  \}\n"):
        if len(re.findall(pat, entry)) != 1:
            raise NoMatch("the history entry's constructor is not NESTML 9.0.0's")
    entry = entry.replace("\n  )\n  : t_( t )\n", "".join(f"\n      , double {v}_before" for v in pure)
                          + "\n  )\n  : t_( t )\n")
    entry = entry.replace("\n  {\n  }\n", "".join(f"\n  , {v}_before_( {v}_before )" for v in pure) + "\n  {\n  }\n")
    entry = entry[:-1] + "".join(f"  double {v}_before_;  //!< nestml-lab R10: the value just before this spike's "
                                 "increment\n" for v in pure) + "}"
    header = header[:m.start()] + entry + header[end:]
    start, stop = one_definition(cpp, cls, "set_spiketime")
    body = cpp[start:stop]
    emit = "    /**\n     * print extra on-emit statements transferred from synapse\n    **/"
    push = re.search(rf"history_\.push_back\( histentry__{cls}\( last_spike_\n.*?\n(\s*)\) \);", body, re.S)
    if body.count(emit) != 1 or not push:
        raise NoMatch("set_spiketime's increments or push_back not found")
    body = (body[:push.start(1) - 1] + "".join(f"\n        , __{v}_before" for v in pure) + body[push.start(1) - 1:])
    body = body.replace(emit, "".join(f"    const double __{v}_before = {_state_ref(v, cpp)};   // nestml-lab R10\n"
                                      for v in pure) + emit)
    cpp = cpp[:start] + body + cpp[stop:]
    for v in pure:
        start, stop = one_definition(cpp, cls, f"get_{v}")
        body = cpp[start:stop]
        hit = f"      return history_[ i ].{v}_;\n    }}\n"
        if body.count(hit) != 1:
            raise NoMatch(f"R2's lookup of {v} not as written")
        body = body.replace(hit, hit + (
            "    if ( t == history_[ i ].t_ and i >= 1\n"
            "         and t - history_[ i - 1 ].t_ >= nest::kernel().connection_manager.get_stdp_eps() )\n    {\n"
            "      // nestml-lab R10: what the loop computes next from entry i - 1, kept by set_spiketime\n"
            f"      return history_[ i ].{v}_before_;\n    }}\n"))
        cpp = cpp[:start] + body + cpp[stop:]
    return cpp, header, f"the value before the increment kept for {', '.join(pure)}"


# --------------------------------------------------------------------------- the passes

def trace_lookup(m: Model) -> str:
    """R2: a synapse's lookup of a postsynaptic trace computes that trace, not every propagator."""
    m.cpp, detail = _trace_lookup(m.cpp, m.name)
    return detail


def post_values(m: Model) -> str:
    """R10: the neuron keeps, in its history, the trace values its synapses read at post spikes."""
    wanted = set().union(*(post_loop_lookups(m.texts[f"{s}.h"]) for s in m.unit.synapses))
    m.cpp, m.header, detail = _post_values(m.cpp, m.header, m.name, wanted)
    return detail
