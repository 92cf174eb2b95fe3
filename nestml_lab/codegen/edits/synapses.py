"""The speed rewrites of a synapse: its size per connection and its work per spike.

R3 ``synapse_layout`` (every synapse)
    Per-synapse scratch values (``V_.__h``, ``V_.__P__*``) become locals of
    ``update_internal_state_``, and parameters NESTML moved into the neuron
    lose their unused copy in the synapse: 120 B -> 96 B per ``stdp_synapse``.
    A synapse without state variables keeps no room for its empty state
    (``[[no_unique_address]]``: 8 B, ``static_synapse``).
    Preconditions: every internal is timestep scratch whose propagator
    depends only on the interval and parameters; after the edit no
    reference to a removed member is left.


R7 ``no_history`` (synapses without post ports)
    NESTML's synapses all call ``register_stdp_connection`` on their target
    when connected, as NEST's STDP synapses do. A neuron with registered
    inputs keeps a history of its spikes (and updates two traces with an
    ``exp`` each per spike) for them to read, and drops an entry only when
    every registered input has read it. A synapse without post ports
    (``static_synapse``, ``tsodyks_synapse``) never reads it: the history
    grows by an entry per spike for the whole simulation (~32 B each: 640 MB
    for 1000 neurons at 20 Hz over 1000 s), and a neuron that also has STDP
    inputs never prunes its history for them either. The rewrite drops the
    call, as NEST's static and Tsodyks synapses make none. Changes no value
    of a network connected before it is simulated: the history, its traces
    and the pruning serve only synapses that read them. A plastic synapse
    connected to such a target after a ``Simulate`` no longer reads the
    post spikes from before it existed (it did with NESTML's code, not with
    NEST's static synapse). Preconditions: the synapse uses its target only to
    deliver the spike (``get_target``, ``e.set_receiver``), nothing reads a
    history or trace of it.


R8 ``no_last_spike`` (synapses without post ports whose update does nothing)
    NESTML's ``send()`` keeps the time of the synapse's last spike in every
    connection and advances the synapse's own dynamics over the interval
    since then, on every spike: a synapse without dynamics
    (``static_synapse``) still reads and writes 8 bytes per connection on
    each delivery, where NEST's delivers from read-only memory. The rewrite
    removes the member and its uses. With R3's empty state taking no room,
    ``static_synapse`` is 32 B as NEST's (56 B unrewritten): 1.07x -> 1.00x of
    NEST's in a recurrent network, measured side by side. Changes no value.
    Preconditions: ``update_internal_state_`` does nothing (comments, debug
    output, the interval's locals only), ``send()`` reads the interval
    nowhere else (no ``timestep()``), and nothing else reads the member (R7
    has removed the registration that passes it).


R9 ``lazy_traces`` (co-generated synapses)
    For every postsynaptic spike since its last presynaptic one, NESTML's
    ``send()`` advances *all* of the synapse's state to that spike's time
    (one ``exp`` per decaying variable), then runs the post onReceive block.
    A variable that block never reads or writes (the triplet rule's
    presynaptic triplet trace ``tr_r2``) need not be there: it is advanced
    once, over the whole interval since the last presynaptic spike, before
    the pre block reads it, as NEST's ``stdp_triplet_synapse`` advances its
    ``Kx_``. Counted with a uprobe on libm's ``exp`` (the twin benchmark's
    network, 1 s): NESTML's triplet rule 236 M calls, NEST's 159 M, with R9
    198 M. When no post spike came in between, NESTML's own update runs,
    unchanged. Otherwise the lazy variable changes by rounding only:
    exp(-h1/tau) exp(-h2/tau) becomes exp(-(h1 + h2)/tau), NEST's arithmetic
    (``test_rewrites.py`` still finds the weights within 1e-9 and the
    neuron's V_m and spikes bit for bit NESTML's).
    Preconditions: R3 has made the propagators locals; the update is only
    decays ``X = __P__X__X * X`` and other variables' propagation, and the
    lazy variable couples to no other; one post loop, one update call in it
    and one after it; nothing in the loop or the same-time post block reads
    or writes the variable.

"""

from __future__ import annotations

import re

from nestml_lab.codegen.edits.cpp import (NoMatch, NotApplicable, block_end, depends_on_interval_and_parameters,
                                         function, replace_once)
from nestml_lab.codegen.edits.model import Model

# --------------------------------------------------------------------------- R3: synapse layout

def _synapse_layout(header: str, moved: list[str]) -> tuple[str, str]:
    m = re.search(r"struct Variables_\n  \{(.*?)\n  \};\n", header, re.S)
    if not m:
        raise NoMatch("struct Variables_ not found")
    members = re.findall(r"^\s*(?:double|long|int|bool) (\w+);", m.group(1), re.M)
    if not members or any(v != "__h" and not v.startswith("__P__") for v in members):
        raise NoMatch(f"internals other than timestep scratch: {[v for v in members if v != '__h']}")
    rec = re.search(r"::recompute_internal_variables\(\)\n\{\n(.*?)\n\}\n", header, re.S)
    if not rec:
        raise NoMatch("recompute_internal_variables() not found")
    assigns = re.findall(r"^\s*V_\.(\w+) = (.*?); // as \w+$", rec.group(1), re.M)
    rest = re.sub(r"^\s*V_\.\w+ = .*?; // as \w+$|^\s*const double __timestep = .*$|^\s*$", "", rec.group(1), flags=re.M)
    if rest.strip() or any(not depends_on_interval_and_parameters(e) for _, e in assigns):
        raise NoMatch("recompute_internal_variables() computes more than propagators of the interval")
    if "__timestep" in "".join(e for _, e in assigns):
        raise NoMatch("a propagator reads the timestep() function")
    # update_internal_state_: locals instead of members
    step = "    V_.__h = timestep;\n    assert(V_.__h > 0);\n    recompute_internal_variables();\n"
    locals_ = ("    // nestml-lab R3: the interval and its propagators are locals, not per-synapse members\n"
               "    const double __h = timestep;\n    assert(__h > 0);\n"
               + "".join(f"    const double {v} = {e.replace('V_.__h', '__h')};\n" for v, e in assigns))
    n_steps = header.count(step)
    if n_steps > 1:
        raise NoMatch("update_internal_state_'s recompute found more than once")
    if n_steps == 1:
        s = header.index(step)
        e = header.index("\n}\n", s)
        body = re.sub(r"V_\.(\w+)", r"\1", header[s:e].replace(step, locals_))
        header = header[:s] + body + header[e:]
    # everything else that touched V_: constructor, copy constructor, set_status, the recompute function
    header = header.replace(m.group(0), "")
    header = replace_once(header, "  Variables_  V_;  //!< Internal Variables\n", "", "the V_ member")
    header = re.sub(r"^[ \t]*V_\.\w+ = [^\n]*\n", "", header, flags=re.M)
    header = re.sub(r"^[ \t]*recompute_internal_variables\(\);\n", "", header, flags=re.M)
    header = re.sub(r"^\s*// initial values for internal variables\s*\n", "", header, flags=re.M)
    header = replace_once(header, "  void recompute_internal_variables();\n", "", "recompute's declaration")
    start, end = function(header, r"^void \w+< targetidentifierT >::recompute_internal_variables\(\)")
    header = header[:start - len("template < typename targetidentifierT >\n")] + header[end:] \
        if header[:start].endswith("template < typename targetidentifierT >\n") else header[:start] + header[end:]
    header = header.replace("   * These variables must be initialized by recompute_internal_variables().\n",
                            "   * nestml-lab R3: none are kept per synapse; update_internal_state_ computes them.\n")
    if re.search(r"\bV_\.|recompute_internal_variables", header):
        raise NoMatch("internals are still read outside update_internal_state_")
    # copies of moved parameters
    dropped = []
    for var in moved:
        trial = header
        for p in (rf"^(?:[ \t]*//![^\n]*\n)?[ \t]*double {var};\n",
                  rf"^[ \t]*inline double get_{var}\(\) const\n\s*\{{\n\s*return P_\.{var};\n\s*\}}",
                  rf"^[ \t]*inline void set_{var}\(const double __v\)\n\s*\{{\n\s*P_\.{var} = __v;\n\s*\}}\n",
                  rf"^[ \t]*P_\.{var} = [^\n]*\n",
                  rf"^[ \t]*double tmp_{var} = get_{var}\(\);\n",
                  rf"^[ \t]*set_{var}\(tmp_{var}\);\n"):
            trial = re.sub(p, "", trial, flags=re.M)
        if trial == header or re.search(rf"P_\.{var}\b|get_{var}\(|set_{var}\(|tmp_{var}\b|double {var};", trial):
            continue   # not a parameter copy, or the synapse still uses it: keep it
        header = trial
        dropped.append(var)
    detail = f"{len(members)} scratch internal(s) as locals"
    if re.search(r"^  struct State_\{\s*State_\(\) \{\};\n  \};\n", header, re.M):   # no state: no room for it
        header = replace_once(header, "  State_      S_;  //!< Dynamic state.\n",
                               "  [[no_unique_address]] State_ S_;  //!< Dynamic state (none: takes no room).\n",
                               "the S_ member")
        detail += "; the empty state takes no room"
    detail += f"; moved parameter copies removed: {', '.join(dropped)}" if dropped else ""
    return header, detail



# --------------------------------------------------------------------------- R7: no history

_REGISTER = "    t.register_stdp_connection( t_lastspike_ - get_delay(), get_delay() );\n"
#: the only lines of a synapse that touches its target just to deliver a spike
_DELIVERY_ONLY = re.compile(r"^\s*Node\* __target = get_target\( tid \);\n|^\s*e\.set_receiver\( \*__target \);\n"
                            r"|^\s*using ConnectionBase::get_target;\n", re.M)


def _no_history(header: str) -> tuple[str, str]:
    if header.count(_REGISTER) != 1:
        raise NoMatch(f"register_stdp_connection found {header.count(_REGISTER)} times (expected once)")
    rest = _DELIVERY_ONLY.sub("", header.replace(_REGISTER, ""))
    reads = sorted(set(re.findall(r"__target\b|get_target\b|\w*history\w*|get_\w*(?:trace|K_value|LTD_value)\w*",
                                  rest)))
    if reads:
        raise NoMatch(f"the synapse reads its target beyond delivering spikes: {', '.join(reads)}")
    header = header.replace(_REGISTER, "    // nestml-lab R7: reads no spike history of the target: not registered for one\n")
    return header, "not registered for the target's spike history"



# --------------------------------------------------------------------------- R8: no last spike

_FIRST_SPIKE = ("    if (t_lastspike_ < 0.)\n    {\n        // this is the first presynaptic spike to be processed\n"
                "        t_lastspike_ = 0.;\n    }\n")
_ADVANCE = ("    /**\n     * update synapse internal state from `t_lastspike_` to `__t_spike`\n    **/\n\n"
            "    update_internal_state_(t_lastspike_, __t_spike - t_lastspike_, cp);\n")
_INTERVAL = re.compile(r"^    double __timestep;[^\n]*\n\s*if \(t_lastspike_ < 0\.\)\n    \{\n\s*__timestep = __t_spike;\n"
                       r"    \}\n    else\n    \{\n\s*__timestep = __t_spike - t_lastspike_;\n    \}\n", re.M)
#: what an update_internal_state_ that does nothing consists of (R3 having made its interval a local)
_NO_OP = re.compile(r"/\*\*.*?\*\*/|#ifdef DEBUG\n.*?#endif\n|^\s*//[^\n]*$"
                    r"|^\s*if \(timestep < 1E-12\)\s*\{\s*(?:#ifdef DEBUG\n.*?#endif\n)?\s*return;\s*\}"
                    r"|^\s*const double __timestep = timestep;[^\n]*$|^\s*auto get_t = \[t_start\]\(\)\{ return t_start; \};[^\n]*$"
                    r"|^\s*const double __h = timestep;$|^\s*assert\(__h > 0\);$", re.S | re.M)


def _update_body(header: str, cls: str) -> tuple[int, int]:
    """(start, end) of the body of the synapse's ``update_internal_state_`` definition, between its braces."""
    m = re.search(rf"^{cls}< targetidentifierT >::update_internal_state_\(double t_start[^\n]*\n\{{", header, re.M)
    if not m:
        raise NoMatch("update_internal_state_'s definition not found")
    return m.end(), block_end(header, m.end() - 1) - 1


_SEND = r"^  send\( Event& e, const nest_thread_t tid, "


def _no_last_spike(header: str, cls: str) -> tuple[str, str]:
    start, end = _update_body(header, cls)
    if _NO_OP.sub("", header[start:end]).strip():
        raise NoMatch("update_internal_state_ advances the synapse's own dynamics")
    start, stop = function(header, _SEND)
    send = header[start:stop]
    for what, old in (("the interval", _INTERVAL), ("the first spike's time", _FIRST_SPIKE), ("the update", _ADVANCE),
                      ("the time's store", "    t_lastspike_ = __t_spike;\n")):
        found = len(old.findall(send)) if isinstance(old, re.Pattern) else send.count(old)
        if found != 1:
            raise NoMatch(f"send(): {what} found {found} times (expected once)")
        send = old.sub("", send) if isinstance(old, re.Pattern) else send.replace(old, "")
    if re.search(r"\b(?:t_lastspike_|__timestep)\b", send):
        raise NoMatch("send() reads the time of the last spike or the interval elsewhere")
    header = header[:start] + send + header[stop:]
    for line in ("  double t_lastspike_;\n", "  t_lastspike_ = 0.;\n", "  t_lastspike_ = rhs.t_lastspike_;\n"):
        header = replace_once(header, line, "", line.strip())
    if "t_lastspike_" in header:
        raise NoMatch("t_lastspike_ is still read (register_stdp_connection: R7 not applied?)")
    return header, "keeps no time of its last spike (its update does nothing)"



# --------------------------------------------------------------------------- R9: lazy traces

_LOOP_UPDATE = "        update_internal_state_(t_lastspike_, (start->t_ + __dendritic_delay) - t_lastspike_, cp);\n"
_FINAL_UPDATE = "    update_internal_state_(t_lastspike_, __t_spike - t_lastspike_, cp);\n"
_H = re.compile(r"\b__h\b")
_UPDATE_STATEMENT = re.compile(r"^\s*(?:const double (__P__\w+) = (.*);|const double (\w+)__tmp = (.*);|S_\.(\w+) = (\w+)__tmp;)$")


def _lazy_traces(header: str, cls: str) -> tuple[str, str]:
    body_start, body_end = _update_body(header, cls)
    body = header[body_start:body_end]
    if "const double __h = timestep;" not in body:
        raise NoMatch("the propagators are not locals (R3 not applied)")
    props, tmps, stores = {}, {}, {}
    for ln in [ln for ln in _NO_OP.sub("", body).splitlines() if ln.strip()]:
        sm = _UPDATE_STATEMENT.match(ln)
        if not sm:
            raise NoMatch(f"the update does more than propagate: {ln.strip()!r}")
        if sm.group(1):
            props[sm.group(1)] = sm.group(2)
        elif sm.group(3):
            tmps[sm.group(3)] = sm.group(4)
        else:
            stores[sm.group(5)] = sm.group(6)
    start, stop = function(header, _SEND)
    send = header[start:stop]
    if send.count(_LOOP_UPDATE) != 1 or send.count(_FINAL_UPDATE) != 1 or send.count("while ( start != finish )") != 1:
        raise NoMatch("send() is not one post loop with one update in it and one after it")
    loop_at = send.index("while ( start != finish )")
    loop = send[loop_at:block_end(send, send.index("{", loop_at))]
    flag_at = send.find("if (pre_before_post_flag)")
    same_time = send[flag_at:block_end(send, send.index("{", flag_at))] if flag_at >= 0 else ""
    lazy = []
    for var, expr in tmps.items():
        prop = f"__P__{var}__{var}"
        if (expr != f"{prop} * S_.{var}" or stores.get(var) != var or prop not in props
                or re.search(rf"\bS_\.{var}\b", " ".join(e for v, e in tmps.items() if v != var))
                or re.search(rf"__P__{var}__\w+|__P__\w+__{var}\b", " ".join(p for p in props if p != prop))
                or re.search(rf"\b{var}\b", loop + same_time)):
            continue
        if not depends_on_interval_and_parameters(_H.sub("V_.__h", props[prop])):
            continue
        lazy.append(var)
    if not lazy:
        raise NotApplicable("every variable of the update is read or written at post spikes (or coupled)")
    # update_internal_state_ skips the lazy variables when told to
    for var in lazy:
        prop = f"__P__{var}__{var}"
        lines = (f"    const double {prop} = {props[prop]};\n", f"    const double {var}__tmp = {tmps[var]};\n",
                 f"    S_.{var} = {var}__tmp;\n")
        if any(body.count(line) != 1 for line in lines):
            raise NoMatch(f"the update's lines of {var} not found once each")
        body = body.replace(lines[0], "").replace(lines[1], "").replace(
            lines[2], f"    if (__lazy_too)   // nestml-lab R9\n    {{\n"
                      f"      S_.{var} = {_H.sub('timestep', props[prop])} * S_.{var};\n    }}\n")
    header = header[:body_start] + body + header[body_end:]
    decl = re.search(r"^(  update_internal_state_\(double t_start, double timestep, const \w+& cp)\);$", header, re.M)
    sig = re.search(rf"^({cls}< targetidentifierT >::update_internal_state_\(double t_start[^\n]*& cp)\)\n\{{",
                    header, re.M)
    if not decl or not sig:
        raise NoMatch("update_internal_state_'s declaration or signature is not NESTML 9.0.0's")
    header = header.replace(decl.group(0), decl.group(1) + ", bool __lazy_too = true);", 1)
    header = header.replace(sig.group(0), sig.group(1) + ", bool __lazy_too)\n{", 1)
    # send(): the post loop advances the others only; after it, the lazy ones over the whole interval
    advance = "".join(f"        const double __P__{v}__{v} = {_H.sub('__h_lazy', props[f'__P__{v}__{v}'])};\n"
                      f"        S_.{v} = __P__{v}__{v} * S_.{v};\n" for v in lazy)
    start, stop = function(header, _SEND)
    send = header[start:stop]
    send = replace_once(send, "    double timestep = 0;\n",
                         "    double timestep = 0;\n    const double __t_lazy = t_lastspike_;   // nestml-lab R9: "
                         f"{', '.join(lazy)} advanced from here\n", "the loop's timestep")
    send = send.replace(_LOOP_UPDATE, _LOOP_UPDATE.replace(", cp);", ", cp, false);"))
    send = send.replace(_FINAL_UPDATE,
                        "    if (t_lastspike_ == __t_lazy)   // no post spike came in between: NESTML's update\n    {\n"
                        f"  {_FINAL_UPDATE}    }}\n    else   // nestml-lab R9: the others from the last post spike, "
                        f"{', '.join(lazy)} from the last pre spike\n    {{\n"
                        f"  {_FINAL_UPDATE.replace(', cp);', ', cp, false);')}"
                        "      const double __h_lazy = __t_spike - __t_lazy;\n      if (__h_lazy >= 1E-12)\n      {\n"
                        f"{advance}      }}\n    }}\n")
    header = header[:start] + send + header[stop:]
    return header, f"{', '.join(lazy)} advanced once per presynaptic spike, not at every post spike"


# --------------------------------------------------------------------------- the passes

def synapse_layout(m: Model) -> str:
    """R3: per-connection scratch values become locals; moved parameters lose their unused copy."""
    m.header, detail = _synapse_layout(m.header, m.moved())
    return detail


def no_history(m: Model) -> str:
    """R7: a synapse that reads no post spike does not make its target keep a spike history."""
    m.header, detail = _no_history(m.header)
    return detail


def no_last_spike(m: Model) -> str:
    """R8: a synapse without dynamics keeps no time of its last spike."""
    m.header, detail = _no_last_spike(m.header, m.name)
    return detail


def lazy_traces(m: Model) -> str:
    """R9: a variable the post block never touches is advanced once per presynaptic spike."""
    m.header, detail = _lazy_traces(m.header, m.name)
    return detail
