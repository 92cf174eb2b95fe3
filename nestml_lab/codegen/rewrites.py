"""Checked rewrites of NESTML 9.0.0's generated C++ that make it run as fast as NEST's own models.

The measured causes (``shared/notes/generated-code-speed.md``) and what each
rewrite does about them:

R1 ``input_buffer`` (every neuron)
    NESTML keeps a ``std::vector<nest::RingBuffer>`` per input kind plus a
    second ring buffer per spike port that only records that a spike came in:
    two random writes per delivered spike through an extra pointer, and heap
    arrays that cost cache and TLB misses even when unused. The rewrite gives
    the neuron one ``nest::MultiChannelInputBuffer`` (spike values, then
    "received" flags where they are needed, then continuous inputs), read and
    reset once per step, and fixed-size grid sums inside the object. The old
    buffers are not allocated at all.
    Preconditions: the buffer code is NESTML 9.0.0's (every anchor found).
    The flags are dropped only when every use of them guards an onReceive
    block that only accumulates the port's value (``x += c * port``): such a
    block does nothing when the summed value is zero, so "received" can be
    read off the value. Otherwise the flags keep their own channels. Such a
    block runs every step, unguarded, as NEST's neurons add their buffers:
    with Poisson input near a spike per step a guard's branch is mispredicted
    about every other step (iaf_psc_exp: 1.10x -> 1.00x of NEST's, measured
    side by side). A block with a parameter or internal factor (which could
    be infinite: inf * 0 is NaN) runs every step when its sums, evaluated
    once per ``update()`` with the port at 0, are 0. Adding +0 changes no
    value but the sign of a state that is exactly -0.0.

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

R3 ``synapse_layout`` (every synapse)
    Per-synapse scratch values (``V_.__h``, ``V_.__P__*``) become locals of
    ``update_internal_state_``, and parameters NESTML moved into the neuron
    lose their unused copy in the synapse: 120 B -> 96 B per ``stdp_synapse``.
    A synapse without state variables keeps no room for its empty state
    (``[[no_unique_address]]``: 8 B, ``static_synapse``).
    Preconditions: every internal is timestep scratch whose propagator
    depends only on the interval and parameters; after the edit no
    reference to a removed member is left.

R4 ``no_math_errno`` (the module's compile flags, see ``sources.cmake``)
    ``-fno-math-errno``: lets GCC merge NESTML's repeated ``exp(h/tau)``
    calls. Changes no result (libm's values are the same; only ``errno`` is
    no longer set).

R5 ``direct_calls`` (the module's compile flags)
    ``-fno-semantic-interposition``: a shared library's own functions may be
    replaced by another library's at load time, so GCC calls them through
    the PLT and inlines none of them, not even an onReceive block two lines
    long called every step. The flag says the module's functions are its
    own (NEST never interposes them): calls become direct and inlinable.
    Changes no result.

R6 ``zero_terms`` (every neuron with an exactly integrated membrane)
    NESTML's exact step of V_m is one sum evaluated left to right, with the
    terms of I_e and of the current ports after the term of V_m itself:
    ``V_m__tmp = ... + V_m * P + ... - I_e * P * tau_m / C_m + I_e * tau_m /
    C_m - I_stim * P * tau_m / C_m + I_stim * tau_m / C_m``. Each of those
    additions waits on the last, and the next step waits on V_m: the chain
    through V_m is 4 additions longer than it needs to be, and it sets the
    pace of the step. The rewrite sums the terms up to the last one that
    reads the state, then adds the terms of parameters (I_e) only when one of
    them is not zero (checked once per ``update()``), then those of the
    current ports only when an input is not zero (per step: a branch that
    goes the same way step after step). Measured side by side, I_e drive
    only: iaf_psc_alpha_neuron 1.31x -> 1.14x of NEST's, iaf_psc_exp_neuron
    0.87x -> 0.81x. Adding a zero changes no value (only a result that is
    exactly 0 may change its sign). Preconditions: the
    trailing terms read only parameters, internals and continuous inputs
    (products and quotients, no calls), and ``update()`` assigns to no
    parameter or internal.

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

Every rewrite either applies completely or leaves NESTML's text untouched for
that part and says why (:class:`Outcome`). Nothing here is copied from NEST or
NESTML: the inserted C++ is written against NEST's public API.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

#: Names of the rewrites, in the order they are applied; ``rewrites:`` in the manifest selects among them.
ALL = ("input_buffer", "trace_lookup", "synapse_layout", "no_math_errno", "direct_calls", "zero_terms",
       "no_history", "no_last_spike", "lazy_traces", "post_values")

#: The rewrites that are compiler flags, each with its flag (given to every file of the module).
COMPILE_FLAGS = {"no_math_errno": "-fno-math-errno", "direct_calls": "-fno-semantic-interposition"}


def compile_flags(enabled: tuple[str, ...]) -> dict[str, str]:
    """The compiler-flag rewrites among ``enabled``: ``{rewrite: flag}``."""
    return {name: flag for name, flag in COMPILE_FLAGS.items() if name in enabled}


@dataclass(frozen=True)
class Outcome:
    """What one rewrite did to one generated model."""

    rewrite: str
    model: str
    applied: bool
    detail: str

    def line(self) -> str:
        """One line of the rewrite log: applied or skipped, for which model, and why."""
        verb = "applied" if self.applied else "SKIPPED"
        return f"{self.rewrite} {verb} for {self.model}: {self.detail}"

    def to_json(self) -> dict:
        """This record as JSON, for the build's rewrite report."""
        return asdict(self)


class _NoMatch(Exception):
    """An anchor of NESTML's code was not found: the rewrite is skipped with this reason."""


class _NotApplicable(_NoMatch):
    """The model has nothing the rewrite is about (not a failed precondition): no outcome is reported."""


# --------------------------------------------------------------------------- text helpers

def _replace_once(text: str, old: str, new: str, what: str) -> str:
    n = text.count(old)
    if n != 1:
        raise _NoMatch(f"{what}: expected 1 occurrence of NESTML's code, found {n}")
    return text.replace(old, new)


def _sub_all(pattern: str, repl, text: str, what: str, flags=re.M, minimum: int = 1) -> str:
    new, n = re.subn(pattern, repl, text, flags=flags)
    if n < minimum:
        raise _NoMatch(f"{what}: NESTML's code not found")
    return new


def _block_end(text: str, open_brace: int) -> int:
    """Index just past the ``}`` matching the ``{`` at ``open_brace``."""
    depth = 0
    for i in range(open_brace, len(text)):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
    raise _NoMatch("unbalanced braces")


def _function(text: str, signature: str) -> tuple[int, int]:
    """(start, end) of the one definition whose text starts with the regex ``signature`` (start of that line)."""
    matches = list(re.finditer(signature, text, re.M))
    if len(matches) != 1:
        raise _NoMatch(f"expected one definition matching {signature!r}, found {len(matches)}")
    start = matches[0].start()
    brace = text.index("{", matches[0].end())
    return start, _block_end(text, brace)


def _definitions(text: str, cls: str, name_pattern: str) -> list[tuple[str, int, int]]:
    """(name, start, end) of every out-of-line member definition ``cls::<name>(...) {...}``; start is at ``cls::``."""
    out = []
    for m in re.finditer(rf"(?<![\w&:]){re.escape(cls)}::({name_pattern})\(", text):
        brace = text.find("{", m.end())
        semi = text.find(";", m.end())
        if brace < 0 or (0 <= semi < brace):
            continue   # a declaration or a call, not a definition
        out.append((m.group(1), m.start(), _block_end(text, brace)))
    return out


def _one_definition(text: str, cls: str, name: str) -> tuple[int, int]:
    found = _definitions(text, cls, re.escape(name))
    if not found and name == "update" and _definitions(text, cls, "update_"):
        raise _NoMatch("a gap-junction neuron: its update is NESTML's waveform-relaxation update_(), which this "
                       "rewrite does not know")
    if len(found) != 1:
        raise _NoMatch(f"expected one definition of {cls}::{name}, found {len(found)}")
    return found[0][1], found[0][2]


def _propagators(cpp: str) -> dict[str, str]:
    """``V_.__P__...`` propagator expressions of the neuron, from recompute_internal_variables(true)."""
    m = re.search(r"if \(exclude_timestep\)\s*\{(.*?)\n  \}\s*else", cpp, re.S)
    if not m:
        raise _NoMatch("recompute_internal_variables has no exclude_timestep branch")
    return dict(re.findall(r"^\s*V_\.(__P__\w+) = (.*?); // as ", m.group(1), re.M))


def _depends_on_interval_and_parameters(expr: str) -> bool:
    """True when ``expr`` reads only V_.__h, parameters, numbers and exp/pow/log."""
    rest = re.sub(r"V_\.__h\b|P_\.\w+|std::(?:exp|expm1|pow|log)\b", " ", expr)
    return re.fullmatch(r"[0-9.eE+\-*/(), ]*", rest) is not None


# --------------------------------------------------------------------------- R1: neuron input buffer

_BUFFER_INIT_LINES = [
    "  , spike_inputs_( std::vector< nest::RingBuffer >( NUM_SPIKE_RECEPTORS ) )\n",
    "  , spike_inputs_grid_sum_( std::vector< double >( NUM_SPIKE_RECEPTORS ) )\n",
    "  , spike_input_received_( std::vector< nest::RingBuffer >( NUM_SPIKE_RECEPTORS ) )\n",
    "  , spike_input_received_grid_sum_( std::vector< double >( NUM_SPIKE_RECEPTORS ) )\n",
    "  , continuous_inputs_( std::vector< nest::RingBuffer >( NUM_CONTINUOUS_INPUT_PORTS ) )\n",
    "  , continuous_inputs_grid_sum_( std::vector< double >( NUM_CONTINUOUS_INPUT_PORTS ) )\n",
]
_BUFFER_CLEAR_LINES = ("  get_spike_inputs_().clear();\n  get_spike_inputs_grid_sum_().clear();\n"
                       "  get_spike_input_received_().clear();\n  get_spike_input_received_grid_sum_().clear();\n"
                       "  get_continuous_inputs_().clear();\n  get_continuous_inputs_grid_sum_().clear();\n")
_BUFFER_RESIZE_LINES = ("  B_.spike_inputs_.resize(NUM_SPIKE_RECEPTORS);\n"
                        "  B_.spike_inputs_grid_sum_.resize(NUM_SPIKE_RECEPTORS);\n"
                        "  B_.spike_input_received_.resize(NUM_SPIKE_RECEPTORS);\n"
                        "  B_.spike_input_received_grid_sum_.resize(NUM_SPIKE_RECEPTORS);\n"
                        "  B_.continuous_inputs_.resize(NUM_CONTINUOUS_INPUT_PORTS);\n"
                        "  B_.continuous_inputs_grid_sum_.resize(NUM_CONTINUOUS_INPUT_PORTS);\n")
_READ_SPIKES = ("    for (long i = 0; i < NUM_SPIKE_RECEPTORS; ++i)\n    {\n"
                "      get_spike_inputs_grid_sum_()[i] = get_spike_inputs_()[i].get_value(lag);\n"
                "      get_spike_input_received_grid_sum_()[i] = get_spike_input_received_()[i].get_value(lag);\n"
                "    }\n")
_READ_CONTINUOUS = ("    for (long i = 0; i < NUM_CONTINUOUS_INPUT_PORTS; ++i)\n    {\n"
                    "      get_continuous_inputs_grid_sum_()[i] = get_continuous_inputs_()[i].get_value(lag);\n"
                    "    }\n")
_ADD_SPIKE = ("  B_.spike_inputs_[ nestml_buffer_idx - MIN_SPIKE_RECEPTOR ].add_value(\n"
              "    e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() ),\n"
              "    weight * e.get_multiplicity() );\n"
              "  B_.spike_input_received_[ nestml_buffer_idx - MIN_SPIKE_RECEPTOR ].add_value(\n"
              "    e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() ),\n"
              "    1. );\n")
_ADD_CURRENT = ("  B_.continuous_inputs_[e.get_rport()].add_value(\n"
                "               e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin()),\n"
                "               weight * current );\n")
_TIMESTEP_LINE = ("  const double __timestep = nest::Time::get_resolution().get_ms();  "
                  "// do not remove, this is necessary for the timestep() function\n")
_GUARD = re.compile(r"^    if \(B_\.spike_input_received_grid_sum_\[(\w+) - MIN_SPIKE_RECEPTOR\]\)\n"
                    r"    \{\n(\s*//[^\n]*\n)?\s*on_receive_block_(\w+)\(origin, lag\);\n    \}\n", re.M)


_SUM = re.compile(r"^S_\.(?:\w+|ode_state\[State_::\w+\]) \+= (.*)$", re.S)
_WRITES_PARAMETER = re.compile(r"\b[PV]_\.\w+\s*(?:[-+*/]?=)(?!=)")


def _block_statements(cpp: str, cls: str, block: str) -> list[str]:
    """The statements of NESTML's ``on_receive_block_<block>`` (raises _NoMatch when not found)."""
    start, end = _one_definition(cpp, cls, f"on_receive_block_{block}")
    body = cpp[start:end]
    marker = "Begin NESTML generated code for the onReceive() block statements\n    **/"
    if marker not in body:
        raise _NoMatch(f"on_receive_block_{block}: statements not found")
    return [s.strip() for s in body.split(marker, 1)[1].rsplit("}", 1)[0].split(";") if s.strip()]


def _accumulate_only(cpp: str, cls: str, port_enum: str, block: str) -> str | None:
    """None when on_receive_block_<block> only adds a multiple of the port's value; else the reason."""
    try:
        statements = _block_statements(cpp, cls, block)
    except _NoMatch as exc:
        return str(exc)
    port = rf"B_\.spike_inputs_grid_sum_\[{re.escape(port_enum)} - MIN_SPIKE_RECEPTOR\]"
    factor = r"(?:[0-9.eE+\-]+|[PV]_\.\w+)"
    # x += (c * port) * c * ...  or  x += c * ... * (c * port) * ...
    product = rf"^(?:{factor} \* )*\((?:{factor} \* )*{port}(?: \* {factor})*\)(?: \* {factor})*$"
    for s in statements:
        m = _SUM.match(s)
        if not m or not re.match(product, m.group(1)):
            return f"onReceive block of port {port_enum.lower()} does more than accumulate the port's value ({s!r})"
    return None


def _every_step(cpp: str, cls: str, port_enum: str, block: str, writes_parameters: bool) -> tuple[str, str]:
    """How ``update()`` calls the accumulate-only onReceive block ``block`` every step: (call, prologue line).

    The block adds exactly +0 on a step without input when its factors are number literals (unit
    conversions): it is called unguarded. A parameter or internal factor could be infinite (inf * 0 is NaN):
    the block's sums are evaluated once per ``update()`` with the port at 0, and where they are 0 (every
    factor finite) it runs every step; otherwise (or when ``update()`` writes parameters, so that the factors
    could change during the loop) only on the steps with input, as before. Adding +0 changes no value (only a
    state that is exactly -0.0 becomes +0.0). The test is ``(flag ? 1. : port) != 0.``: under ``flag || port
    != 0.`` GCC tests the port first, the branch the rewrite is there to remove (iaf_psc_alpha_neuron: 1.19x ->
    1.01x of NEST's, side by side).
    """
    call = f"on_receive_block_{block}(origin, lag);\n"
    comment = "    // nestml-lab R1: accumulate-only block, every step (adds +0 when no spike came in)\n"
    sums = [_SUM.match(s).group(1) for s in _block_statements(cpp, cls, block)]
    if not any(re.search(r"\b[PV]_\.", x) for x in sums):
        return comment + "    " + call, ""
    port = f"B_.spike_inputs_grid_sum_[{port_enum} - MIN_SPIKE_RECEPTOR]"
    if writes_parameters:
        return f"    if ({port} != 0.)  // nestml-lab R1: accumulate-only block\n    {{\n      {call}    }}\n", ""
    flag = f"__every_step_{block}"
    prologue = (f"  // nestml-lab R1: on_receive_block_{block} adds exactly 0 without input when its factors are finite\n"
                f"  const bool {flag} = " + " && ".join(f"({x.replace(port, '0.')}) == 0." for x in sums) + ";\n")
    return f"{comment}    if (({flag} ? 1. : {port}) != 0.)  // not ||: GCC would test the port first\n    {{\n      {call}    }}\n", prologue


def _input_buffer(cpp: str, header: str, cls: str) -> tuple[str, str, str]:
    # NESTML leaves out the continuous-input code of a neuron without continuous ports (its members stay, empty)
    cont = "continuous_inputs_" in cpp
    init_lines = _BUFFER_INIT_LINES if cont else _BUFFER_INIT_LINES[:4]
    clear_lines = _BUFFER_CLEAR_LINES if cont else "".join(_BUFFER_CLEAR_LINES.splitlines(True)[:4])
    resize_lines = _BUFFER_RESIZE_LINES if cont else "".join(_BUFFER_RESIZE_LINES.splitlines(True)[:4])
    for line in init_lines:
        if cpp.count(line) != 2:
            raise _NoMatch(f"Buffers_ constructors: {line.strip()!r} not found twice")
    # which ports need their "received" flag?
    guards = list(_GUARD.finditer(cpp))
    n_uses = cpp.count("B_.spike_input_received_grid_sum_[")
    reasons = []
    if n_uses != len(guards):
        reasons.append("a 'received' flag is read outside the onReceive guards")
    for g in guards:
        why = _accumulate_only(cpp, cls, g.group(1), g.group(3))
        if why:
            reasons.append(why)
    keep_flags = bool(reasons)

    enums = re.search(r"enum SynapseTypes\s*\{(.*?)\};", header, re.S)
    # receptors from 0 (one spike port) or from 1 (several: NEST's receptor types); every index is taken
    # relative to MIN_SPIKE_RECEPTOR, in NESTML's code as in the rewritten one
    if not enums or not re.search(r"static const nest_port_t MIN_SPIKE_RECEPTOR = [01];", header):
        raise _NoMatch("spike receptor enum not found")
    if "NUM_CONTINUOUS_INPUT_PORTS" not in header:
        raise _NoMatch("continuous input enum not found")

    channels = ("NUM_SPIKE_RECEPTORS + NUM_SPIKE_RECEPTORS + NUM_CONTINUOUS_INPUT_PORTS" if keep_flags
                else "NUM_SPIKE_RECEPTORS + NUM_CONTINUOUS_INPUT_PORTS")
    # --- header: channel layout, members, no getters for the old buffers
    header = _replace_once(
        header, "  static const size_t NUM_SPIKE_RECEPTORS = MAX_SPIKE_RECEPTOR - MIN_SPIKE_RECEPTOR;\n",
        "  static const size_t NUM_SPIKE_RECEPTORS = MAX_SPIKE_RECEPTOR - MIN_SPIKE_RECEPTOR;\n"
        "  // nestml-lab R1: channels of the one input buffer: spike values (one per spike port),\n"
        + ("  // then a 'received' flag per spike port, " if keep_flags else "  // ")
        + "then continuous inputs (one per continuous port)\n"
        + f"  static constexpr size_t INPUT_FLAG_CHANNEL_0 = NUM_SPIKE_RECEPTORS;\n"
        f"  static constexpr size_t INPUT_CONTINUOUS_CHANNEL_0 = "
        f"{'2 * NUM_SPIKE_RECEPTORS' if keep_flags else 'NUM_SPIKE_RECEPTORS'};\n"
        f"  static constexpr unsigned int INPUT_CHANNELS = {channels};\n",
        "the NUM_SPIKE_RECEPTORS declaration")
    getter = (r"^\s*/\*\*\n\s*\* Buffer containing [^\n]*\n\s*\*\*/\n"
              r"\s*inline std::vector< (?:nest::RingBuffer|double) >& get_\w+_\(\)\n\s*\{\n\s*return [\w.]+\(?\)?;\n\s*\}\n")
    header = _sub_all(getter, "", header, "buffer getters", minimum=12)
    members = {
        "    std::vector< nest::RingBuffer > spike_inputs_;\n":
            "    nest::MultiChannelInputBuffer< INPUT_CHANNELS > input_buffer_;  // nestml-lab R1\n",
        "    std::vector< double > spike_inputs_grid_sum_;\n":
            "    std::array< double, NUM_SPIKE_RECEPTORS > spike_inputs_grid_sum_;\n",
        "    std::vector< nest::RingBuffer > spike_input_received_;\n": "",
        "    std::vector< double > spike_input_received_grid_sum_;\n":
            "    std::array< double, NUM_SPIKE_RECEPTORS > spike_input_received_grid_sum_;\n" if keep_flags else "",
        "    std::vector< nest::RingBuffer > continuous_inputs_;\n": "",
        "    std::vector< double > continuous_inputs_grid_sum_;\n":
            "    std::array< double, NUM_CONTINUOUS_INPUT_PORTS > continuous_inputs_grid_sum_;\n" if cont else "",
    }
    for old, new in members.items():
        header = _replace_once(header, old, new, f"Buffers_ member {old.strip()!r}")
    # a multi-receptor neuron's receptor check asserts the old buffer's size (the new one's is fixed by its type)
    size_check = "    assert( B_.spike_inputs_.size() == NUM_SPIKE_RECEPTORS );\n"
    if header.count(size_check) == 1:
        header = header.replace(size_check, "")
    header = _replace_once(header, '#include "ring_buffer.h"\n',
                           '#include "ring_buffer.h"\n#include "ring_buffer_impl.h"\n#include <array>\n',
                           "the ring_buffer.h include")

    # --- source
    init = ("  , input_buffer_()\n  , spike_inputs_grid_sum_()\n"
            + ("  , spike_input_received_grid_sum_()\n" if keep_flags else "")
            + ("  , continuous_inputs_grid_sum_()\n" if cont else ""))
    cpp = cpp.replace("".join(init_lines), init)
    if "".join(init_lines) in cpp or cpp.count(init) != 2:
        raise _NoMatch("Buffers_ constructors: initializer lists not in NESTML's order")
    cpp = _replace_once(cpp, clear_lines,
                        "  B_.input_buffer_.clear();  // nestml-lab R1: sized to the delays, zeroed\n"
                        "  B_.spike_inputs_grid_sum_.fill( 0. );\n"
                        + ("  B_.spike_input_received_grid_sum_.fill( 0. );\n" if keep_flags else "")
                        + ("  B_.continuous_inputs_grid_sum_.fill( 0. );\n" if cont else ""), "init_buffers_")
    cpp = _replace_once(cpp, resize_lines, "", "pre_run_hook's buffer resizing")
    update_start, update_end = _one_definition(cpp, cls, "update")
    update = cpp[update_start:update_end]
    loop = update[update.index("for ( long lag = from ; lag < to ; ++lag )"):]
    if re.search(r"\b(continue|break|goto)\b", loop.replace(_READ_SPIKES, "")):
        raise _NoMatch("update() leaves its step loop early: the continuous inputs would not be read")
    update = _replace_once(
        update, _READ_SPIKES,
        "    // nestml-lab R1: read this step's slot of the input buffer once, then clear it\n"
        "    const size_t __input_slot = nest::kernel().event_delivery_manager.get_modulo( lag );\n"
        "    const std::array< double, INPUT_CHANNELS > __input = B_.input_buffer_.get_values_all_channels( __input_slot );\n"
        "    B_.input_buffer_.reset_values_all_channels( __input_slot );\n"
        "    for (long i = 0; i < NUM_SPIKE_RECEPTORS; ++i)\n    {\n"
        "      B_.spike_inputs_grid_sum_[i] = __input[i];\n"
        + ("      B_.spike_input_received_grid_sum_[i] = __input[INPUT_FLAG_CHANNEL_0 + i];\n" if keep_flags else "")
        + "    }\n", "update(): reading the spike buffers")
    if cont:
        update = _replace_once(
            update, _READ_CONTINUOUS,
            "    // nestml-lab R1: the continuous inputs of this step take effect in the next one, as in NESTML\n"
            "    for (long i = 0; i < NUM_CONTINUOUS_INPUT_PORTS; ++i)\n    {\n"
            "      B_.continuous_inputs_grid_sum_[i] = __input[INPUT_CONTINUOUS_CHANNEL_0 + i];\n    }\n",
            "update(): reading the continuous buffers")
    elif "continuous" in update.split("handle continuous input ports", 1)[-1].split("record_data", 1)[0]:
        raise _NoMatch("update() reads continuous inputs in a form not known")
    # NESTML's comment about resetting the old flag buffer no longer applies
    update = re.sub(r"^[ \t]*// B_\.spike_input_received_\[[^\n]*\n", "", update, flags=re.M)
    if not keep_flags:   # as NEST's neurons add their input buffers: every step, no branch to mispredict
        writes = bool(_WRITES_PARAMETER.search(update))
        calls = {g.group(3): _every_step(cpp, cls, g.group(1), g.group(3), writes) for g in guards}
        update = _GUARD.sub(lambda g: calls[g.group(3)][0], update)
        prologue = "".join(p for _, p in calls.values())
        if prologue:
            update = _replace_once(update, _TIMESTEP_LINE, _TIMESTEP_LINE + prologue, "update()'s first line")
    cpp = cpp[:update_start] + update + cpp[update_end:]
    cpp = _replace_once(
        cpp, _ADD_SPIKE,
        "  // nestml-lab R1: one write into the input buffer's slot\n"
        "  const size_t __slot = nest::kernel().event_delivery_manager.get_modulo(\n"
        "    e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() ) );\n"
        "  B_.input_buffer_.add_value( __slot, nestml_buffer_idx - MIN_SPIKE_RECEPTOR, weight * e.get_multiplicity() );\n"
        + ("  B_.input_buffer_.add_value( __slot, INPUT_FLAG_CHANNEL_0 + nestml_buffer_idx - MIN_SPIKE_RECEPTOR, 1. );\n"
           if keep_flags else ""), "handle(SpikeEvent)")
    cpp = _replace_once(cpp, "  assert(e.get_rport() < B_.spike_inputs_.size());\n",
                        "  assert(e.get_rport() < NUM_SPIKE_RECEPTORS);\n", "handle(SpikeEvent)'s assertion")
    if cont:
        cpp = _replace_once(
            cpp, _ADD_CURRENT,
            "  B_.input_buffer_.add_value( nest::kernel().event_delivery_manager.get_modulo(\n"
            "      e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() ) ),\n"
            "    INPUT_CONTINUOUS_CHANNEL_0 + e.get_rport(), weight * current );  // nestml-lab R1\n",
            "handle(CurrentEvent)")
        cpp = _replace_once(cpp, "  assert( e.get_rport() < B_.continuous_inputs_.size() );\n",
                            "  assert( e.get_rport() < NUM_CONTINUOUS_INPUT_PORTS );\n", "handle(CurrentEvent)'s assertion")
    for text, where in ((cpp, "source"), (header, "header")):
        left = set(re.findall(r"\b(spike_inputs_|spike_input_received_|continuous_inputs_)\b|"
                              r"(get_(?:spike_inputs|spike_input_received|continuous_inputs)_\w*)", text))
        left = {a or b for a, b in left}
        if not keep_flags and "spike_input_received_grid_sum_" in text:
            left.add("spike_input_received_grid_sum_")
        if left:
            raise _NoMatch(f"the {where} still uses NESTML's buffers: {', '.join(sorted(left))}")
    if keep_flags:
        detail = "one input buffer; 'received' flags kept in their own channels: " + "; ".join(reasons)
    else:
        detail = f"one input buffer, no 'received' flags ({len(guards)} accumulate-only onReceive block(s))"
    return cpp, header, detail


# --------------------------------------------------------------------------- R6: zero terms

_STEP_SUM = re.compile(r"^(?P<indent>[ \t]*)const double (?P<var>\w+)__tmp = (?P<sum>.*);$", re.M)
_TAIL_FACTOR = r"\(?(?:[PV]_\.\w+|B_\.continuous_inputs_grid_sum_\[\w+\]|[0-9.]+(?:[eE][-+]?\d+)?)\)?"
_TAIL_TERM = re.compile(rf"^{_TAIL_FACTOR}(?: [*/] {_TAIL_FACTOR})*$")
_INPUT = re.compile(r"B_\.continuous_inputs_grid_sum_\[\w+\]")


def _terms(expr: str) -> list[tuple[str, str]]:
    """``expr`` split at its top-level binary + and -: [(operator, term)], the first operator ''."""
    out, depth, start, op = [], 0, 0, ""
    i = 0
    while i < len(expr):
        c = expr[i]
        depth += (c == "(") - (c == ")")
        if depth == 0 and expr.startswith((" + ", " - "), i):
            out.append((op, expr[start:i]))
            op, start = expr[i + 1], i + 3
            i += 3
            continue
        i += 1
    return out + [(op, expr[start:])]


def _zero_terms(cpp: str, cls: str) -> tuple[str, str]:
    start, end = _one_definition(cpp, cls, "update")
    update = cpp[start:end]
    if _WRITES_PARAMETER.search(update):
        raise _NoMatch("update() assigns to a parameter or internal variable")
    prologue, done = [], []

    def edit(m: re.Match) -> str:
        terms = _terms(m["sum"])
        tail = 0
        while tail < len(terms) - 1 and _TAIL_TERM.match(terms[-1 - tail][1]):
            tail += 1
        if not tail or "S_." not in "".join(t for _, t in terms[:-tail]):
            return m[0]
        # the trailing terms: those of parameters only, then those of inputs (I_e's, then the current ports')
        params = [t for t in terms[-tail:] if not _INPUT.search(t[1])]
        inputs = [t for t in terms[-tail:] if _INPUT.search(t[1])]
        if terms[-tail:] != params + inputs:
            params, inputs = [], terms[-tail:]
        i, v, k = m["indent"], m["var"], len(done)
        lines = [f"{i}// nestml-lab R6: the terms of parameters and of inputs are added only when not all 0",
                 f"{i}const double {v}__head = " + "".join(f" {op} {t}" if op else t for op, t in terms[:-tail]) + ";"]
        last = f"{v}__head"
        for kind, group in (("params", params), ("inputs", inputs)):
            if not group:
                continue
            flag = f"__zero_{kind}_{k}"
            prologue.append(f"  const bool {flag} = " + " && ".join(f"({_INPUT.sub('0.', t)}) == 0." for _, t in group)
                            + f";  // nestml-lab R6: these terms of {v}'s step are 0\n")
            when = " && ".join([flag] + [f"{x} == 0." for x in sorted(set(_INPUT.findall(str(group))))])
            name = f"{v}__tmp" if kind == "inputs" or not inputs else f"{v}__{kind}"
            lines.append(f"{i}const double {name} = {when} ? {last} : {last}" + "".join(f" {op} {t}" for op, t in group)
                         + ";")
            last = name
        done.append(f"{v} ({tail} of {len(terms)} terms)")
        return "\n".join(lines)

    update = _STEP_SUM.sub(edit, update)
    if not done:
        raise _NoMatch("no step sum ends in terms of parameters or inputs")
    update = _replace_once(update, _TIMESTEP_LINE, _TIMESTEP_LINE + "".join(prologue), "update()'s first line")
    return cpp[:start] + update + cpp[end:], "trailing terms skipped while 0: " + ", ".join(done)


# --------------------------------------------------------------------------- R2: trace lookup

def _trace_getters(cpp: str, cls: str) -> list[str]:
    """Names of the neuron's ``get_<trace>__for_<synapse>(double t, bool before_increment)`` lookups."""
    return [name for name, s, _ in _definitions(cpp, cls, r"get_\w+__for_\w+")
            if cpp.startswith(f"{cls}::{name}( double t, const bool before_increment )", s)]


def _state_ref(var: str, cpp: str) -> str:
    return f"S_.ode_state[State_::{var}]" if f"S_.ode_state[State_::{var}]" in cpp else f"S_.{var}"


def _dynamics_text(cpp: str, cls: str) -> str:
    """update(), the onReceive blocks and the ODE right-hand sides: the code that *is* the neuron's dynamics."""
    parts = [cpp[s:e] for _, s, e in _definitions(cpp, cls, r"update|on_receive_block_\w+")]
    for m in re.finditer(r'^extern "C" inline int \w+\(', cpp, re.M):
        parts.append(cpp[m.start():_block_end(cpp, cpp.index("{", m.end()))])
    return "\n".join(parts)


def _pure_lookup(cpp: str, cls: str, getter: str, var: str, props: dict[str, str], dynamics: str
                 ) -> tuple[str, str | None]:
    """Replace ``getter`` by a lookup that computes only ``var``; return (cpp, why it was not allowed)."""
    start, end = _one_definition(cpp, cls, getter)
    body = cpp[start:end]
    prop = f"__P__{var}__{var}"
    sref = _state_ref(var, cpp)
    if "gsl_odeiv_evolve_apply" in body:
        return cpp, "the lookup also runs the neuron's GSL integrator, whose step size is part of the dynamics"
    if f"const double {var}__tmp = V_.{prop} * {sref};" not in body:
        return cpp, f"{var} is not a self-decaying linear trace in NESTML's lookup"
    if prop not in props or not _depends_on_interval_and_parameters(props[prop]):
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
        raise _NoMatch("recompute_internal_variables(true) is not called in pairs")
    out = [parts[0]]
    for k in range(1, len(parts), 2):
        block = parts[k]
        used = sorted(set(re.findall(r"V_\.(\w+)", block)) - {"__h"})
        if any(u not in props or not _depends_on_interval_and_parameters(props[u]) for u in used):
            raise _NoMatch("a lookup's integration reads internals other than trace propagators")
        for fn in re.findall(r"B_\.__sys\.function = (\w+);", block):
            m = re.search(rf'^extern "C" inline int {re.escape(fn)}\(', cpp, re.M)
            if not m or "node.V_." in cpp[m.start():_block_end(cpp, cpp.index("{", m.end()))]:
                raise _NoMatch(f"{fn} reads internals")
        assign = " ".join(f"V_.{u} = {props[u]};" for u in used) + "  // nestml-lab R2: only these propagators"
        out += [assign, block, assign, parts[k + 1]]
    return cpp[:fn_start] + "".join(out) + cpp[fn_end:], (len(parts) - 1) // 2


def _trace_lookup(cpp: str, cls: str) -> tuple[str, str]:
    getters = _trace_getters(cpp, cls)
    if not getters:
        raise _NoMatch("no postsynaptic trace lookups")
    props = _propagators(cpp)
    dynamics = _dynamics_text(cpp, cls)   # the getters' rewrites below do not touch it
    pure, kept = [], []
    for getter in getters:
        var = getter[len("get_"):]
        cpp, why = _pure_lookup(cpp, cls, getter, var, props, dynamics)
        (kept.append(f"{var} ({why})") if why else pure.append(var))
    n_pairs = 0
    for name in [g for g in getters if g[len("get_"):] not in pure] + ["set_spiketime"]:
        s, e = _one_definition(cpp, cls, name)
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
    loop = synapse_header[at:_block_end(synapse_header, synapse_header.index("{", at))]
    return set(re.findall(r"->get_(\w+)\(", loop)) - {"history__"}


def _post_values(cpp: str, header: str, cls: str, wanted: set[str]) -> tuple[str, str, str]:
    if not wanted:
        raise _NotApplicable("no synapse looks up a trace at its post spikes")
    pure = [v for v in sorted(wanted) if f"// nestml-lab R2: the value of {v} at t," in cpp]
    if not pure:
        raise _NoMatch(f"no pure lookup (R2) for {', '.join(sorted(wanted))}")
    m = re.search(rf"^class histentry__{cls}\n\{{", header, re.M)
    if not m:
        raise _NoMatch("the history entry class not found")
    end = _block_end(header, m.end() - 1)
    entry = header[m.start():end]
    for pat in (r"\n  \)\n  : t_\( t \)\n", r"\n  \{\n  \}\n"):
        if len(re.findall(pat, entry)) != 1:
            raise _NoMatch("the history entry's constructor is not NESTML 9.0.0's")
    entry = entry.replace("\n  )\n  : t_( t )\n", "".join(f"\n      , double {v}_before" for v in pure)
                          + "\n  )\n  : t_( t )\n")
    entry = entry.replace("\n  {\n  }\n", "".join(f"\n  , {v}_before_( {v}_before )" for v in pure) + "\n  {\n  }\n")
    entry = entry[:-1] + "".join(f"  double {v}_before_;  //!< nestml-lab R10: the value just before this spike's "
                                 "increment\n" for v in pure) + "}"
    header = header[:m.start()] + entry + header[end:]
    start, stop = _one_definition(cpp, cls, "set_spiketime")
    body = cpp[start:stop]
    emit = "    /**\n     * print extra on-emit statements transferred from synapse\n    **/"
    push = re.search(rf"history_\.push_back\( histentry__{cls}\( last_spike_\n.*?\n(\s*)\) \);", body, re.S)
    if body.count(emit) != 1 or not push:
        raise _NoMatch("set_spiketime's increments or push_back not found")
    body = (body[:push.start(1) - 1] + "".join(f"\n        , __{v}_before" for v in pure) + body[push.start(1) - 1:])
    body = body.replace(emit, "".join(f"    const double __{v}_before = {_state_ref(v, cpp)};   // nestml-lab R10\n"
                                      for v in pure) + emit)
    cpp = cpp[:start] + body + cpp[stop:]
    for v in pure:
        start, stop = _one_definition(cpp, cls, f"get_{v}")
        body = cpp[start:stop]
        hit = f"      return history_[ i ].{v}_;\n    }}\n"
        if body.count(hit) != 1:
            raise _NoMatch(f"R2's lookup of {v} not as written")
        body = body.replace(hit, hit + (
            "    if ( t == history_[ i ].t_ and i >= 1\n"
            "         and t - history_[ i - 1 ].t_ >= nest::kernel().connection_manager.get_stdp_eps() )\n    {\n"
            "      // nestml-lab R10: what the loop computes next from entry i - 1, kept by set_spiketime\n"
            f"      return history_[ i ].{v}_before_;\n    }}\n"))
        cpp = cpp[:start] + body + cpp[stop:]
    return cpp, header, f"the value before the increment kept for {', '.join(pure)}"


# --------------------------------------------------------------------------- R3: synapse layout

def _synapse_layout(header: str, moved: list[str]) -> tuple[str, str]:
    m = re.search(r"struct Variables_\n  \{(.*?)\n  \};\n", header, re.S)
    if not m:
        raise _NoMatch("struct Variables_ not found")
    members = re.findall(r"^\s*(?:double|long|int|bool) (\w+);", m.group(1), re.M)
    if not members or any(v != "__h" and not v.startswith("__P__") for v in members):
        raise _NoMatch(f"internals other than timestep scratch: {[v for v in members if v != '__h']}")
    rec = re.search(r"::recompute_internal_variables\(\)\n\{\n(.*?)\n\}\n", header, re.S)
    if not rec:
        raise _NoMatch("recompute_internal_variables() not found")
    assigns = re.findall(r"^\s*V_\.(\w+) = (.*?); // as \w+$", rec.group(1), re.M)
    rest = re.sub(r"^\s*V_\.\w+ = .*?; // as \w+$|^\s*const double __timestep = .*$|^\s*$", "", rec.group(1), flags=re.M)
    if rest.strip() or any(not _depends_on_interval_and_parameters(e) for _, e in assigns):
        raise _NoMatch("recompute_internal_variables() computes more than propagators of the interval")
    if "__timestep" in "".join(e for _, e in assigns):
        raise _NoMatch("a propagator reads the timestep() function")
    # update_internal_state_: locals instead of members
    step = "    V_.__h = timestep;\n    assert(V_.__h > 0);\n    recompute_internal_variables();\n"
    locals_ = ("    // nestml-lab R3: the interval and its propagators are locals, not per-synapse members\n"
               "    const double __h = timestep;\n    assert(__h > 0);\n"
               + "".join(f"    const double {v} = {e.replace('V_.__h', '__h')};\n" for v, e in assigns))
    n_steps = header.count(step)
    if n_steps > 1:
        raise _NoMatch("update_internal_state_'s recompute found more than once")
    if n_steps == 1:
        s = header.index(step)
        e = header.index("\n}\n", s)
        body = re.sub(r"V_\.(\w+)", r"\1", header[s:e].replace(step, locals_))
        header = header[:s] + body + header[e:]
    # everything else that touched V_: constructor, copy constructor, set_status, the recompute function
    header = header.replace(m.group(0), "")
    header = _replace_once(header, "  Variables_  V_;  //!< Internal Variables\n", "", "the V_ member")
    header = re.sub(r"^[ \t]*V_\.\w+ = [^\n]*\n", "", header, flags=re.M)
    header = re.sub(r"^[ \t]*recompute_internal_variables\(\);\n", "", header, flags=re.M)
    header = re.sub(r"^\s*// initial values for internal variables\s*\n", "", header, flags=re.M)
    header = _replace_once(header, "  void recompute_internal_variables();\n", "", "recompute's declaration")
    start, end = _function(header, r"^void \w+< targetidentifierT >::recompute_internal_variables\(\)")
    header = header[:start - len("template < typename targetidentifierT >\n")] + header[end:] \
        if header[:start].endswith("template < typename targetidentifierT >\n") else header[:start] + header[end:]
    header = header.replace("   * These variables must be initialized by recompute_internal_variables().\n",
                            "   * nestml-lab R3: none are kept per synapse; update_internal_state_ computes them.\n")
    if re.search(r"\bV_\.|recompute_internal_variables", header):
        raise _NoMatch("internals are still read outside update_internal_state_")
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
        header = _replace_once(header, "  State_      S_;  //!< Dynamic state.\n",
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
        raise _NoMatch(f"register_stdp_connection found {header.count(_REGISTER)} times (expected once)")
    rest = _DELIVERY_ONLY.sub("", header.replace(_REGISTER, ""))
    reads = sorted(set(re.findall(r"__target\b|get_target\b|\w*history\w*|get_\w*(?:trace|K_value|LTD_value)\w*",
                                  rest)))
    if reads:
        raise _NoMatch(f"the synapse reads its target beyond delivering spikes: {', '.join(reads)}")
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
        raise _NoMatch("update_internal_state_'s definition not found")
    return m.end(), _block_end(header, m.end() - 1) - 1


_SEND = r"^  send\( Event& e, const nest_thread_t tid, "


def _no_last_spike(header: str, cls: str) -> tuple[str, str]:
    start, end = _update_body(header, cls)
    if _NO_OP.sub("", header[start:end]).strip():
        raise _NoMatch("update_internal_state_ advances the synapse's own dynamics")
    start, stop = _function(header, _SEND)
    send = header[start:stop]
    for what, old in (("the interval", _INTERVAL), ("the first spike's time", _FIRST_SPIKE), ("the update", _ADVANCE),
                      ("the time's store", "    t_lastspike_ = __t_spike;\n")):
        found = len(old.findall(send)) if isinstance(old, re.Pattern) else send.count(old)
        if found != 1:
            raise _NoMatch(f"send(): {what} found {found} times (expected once)")
        send = old.sub("", send) if isinstance(old, re.Pattern) else send.replace(old, "")
    if re.search(r"\b(?:t_lastspike_|__timestep)\b", send):
        raise _NoMatch("send() reads the time of the last spike or the interval elsewhere")
    header = header[:start] + send + header[stop:]
    for line in ("  double t_lastspike_;\n", "  t_lastspike_ = 0.;\n", "  t_lastspike_ = rhs.t_lastspike_;\n"):
        header = _replace_once(header, line, "", line.strip())
    if "t_lastspike_" in header:
        raise _NoMatch("t_lastspike_ is still read (register_stdp_connection: R7 not applied?)")
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
        raise _NoMatch("the propagators are not locals (R3 not applied)")
    props, tmps, stores = {}, {}, {}
    for ln in [ln for ln in _NO_OP.sub("", body).splitlines() if ln.strip()]:
        sm = _UPDATE_STATEMENT.match(ln)
        if not sm:
            raise _NoMatch(f"the update does more than propagate: {ln.strip()!r}")
        if sm.group(1):
            props[sm.group(1)] = sm.group(2)
        elif sm.group(3):
            tmps[sm.group(3)] = sm.group(4)
        else:
            stores[sm.group(5)] = sm.group(6)
    start, stop = _function(header, _SEND)
    send = header[start:stop]
    if send.count(_LOOP_UPDATE) != 1 or send.count(_FINAL_UPDATE) != 1 or send.count("while ( start != finish )") != 1:
        raise _NoMatch("send() is not one post loop with one update in it and one after it")
    loop_at = send.index("while ( start != finish )")
    loop = send[loop_at:_block_end(send, send.index("{", loop_at))]
    flag_at = send.find("if (pre_before_post_flag)")
    same_time = send[flag_at:_block_end(send, send.index("{", flag_at))] if flag_at >= 0 else ""
    lazy = []
    for var, expr in tmps.items():
        prop = f"__P__{var}__{var}"
        if (expr != f"{prop} * S_.{var}" or stores.get(var) != var or prop not in props
                or re.search(rf"\bS_\.{var}\b", " ".join(e for v, e in tmps.items() if v != var))
                or re.search(rf"__P__{var}__\w+|__P__\w+__{var}\b", " ".join(p for p in props if p != prop))
                or re.search(rf"\b{var}\b", loop + same_time)):
            continue
        if not _depends_on_interval_and_parameters(_H.sub("V_.__h", props[prop])):
            continue
        lazy.append(var)
    if not lazy:
        raise _NotApplicable("every variable of the update is read or written at post spikes (or coupled)")
    # update_internal_state_ skips the lazy variables when told to
    for var in lazy:
        prop = f"__P__{var}__{var}"
        lines = (f"    const double {prop} = {props[prop]};\n", f"    const double {var}__tmp = {tmps[var]};\n",
                 f"    S_.{var} = {var}__tmp;\n")
        if any(body.count(line) != 1 for line in lines):
            raise _NoMatch(f"the update's lines of {var} not found once each")
        body = body.replace(lines[0], "").replace(lines[1], "").replace(
            lines[2], f"    if (__lazy_too)   // nestml-lab R9\n    {{\n"
                      f"      S_.{var} = {_H.sub('timestep', props[prop])} * S_.{var};\n    }}\n")
    header = header[:body_start] + body + header[body_end:]
    decl = re.search(r"^(  update_internal_state_\(double t_start, double timestep, const \w+& cp)\);$", header, re.M)
    sig = re.search(rf"^({cls}< targetidentifierT >::update_internal_state_\(double t_start[^\n]*& cp)\)\n\{{",
                    header, re.M)
    if not decl or not sig:
        raise _NoMatch("update_internal_state_'s declaration or signature is not NESTML 9.0.0's")
    header = header.replace(decl.group(0), decl.group(1) + ", bool __lazy_too = true);", 1)
    header = header.replace(sig.group(0), sig.group(1) + ", bool __lazy_too)\n{", 1)
    # send(): the post loop advances the others only; after it, the lazy ones over the whole interval
    advance = "".join(f"        const double __P__{v}__{v} = {_H.sub('__h_lazy', props[f'__P__{v}__{v}'])};\n"
                      f"        S_.{v} = __P__{v}__{v} * S_.{v};\n" for v in lazy)
    start, stop = _function(header, _SEND)
    send = header[start:stop]
    send = _replace_once(send, "    double timestep = 0;\n",
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


# --------------------------------------------------------------------------- entry points

def _apply(name: str, model: str, fn, *args) -> tuple[tuple | None, Outcome | None]:
    try:
        *texts, detail = fn(*args)
    except _NotApplicable:
        return None, None
    except _NoMatch as exc:
        return None, Outcome(name, model, False, f"{exc}; NESTML's code kept")
    return tuple(texts), Outcome(name, model, True, detail)


def rewrite_neuron(cpp: str, header: str, cls: str, enabled: tuple[str, ...], paired: bool,
                   post_lookups: set[str] = frozenset()) -> tuple[str, str, list[Outcome]]:
    """Apply the enabled neuron rewrites (R1, R2 and R10 for a co-generated neuron, R6) to one generated neuron;
    ``post_lookups``: the traces its synapses look up at post spikes (:func:`post_loop_lookups`).
    """
    outcomes = []

    def run(name: str, fn, *args) -> tuple | None:
        res, out = _apply(name, cls, fn, *args)
        if out:
            outcomes.append(out)
        return res

    if "input_buffer" in enabled and (res := run("input_buffer", _input_buffer, cpp, header, cls)):
        cpp, header = res
    if "trace_lookup" in enabled and paired and (res := run("trace_lookup", _trace_lookup, cpp, cls)):
        (cpp,) = res
    if "post_values" in enabled and paired and (res := run("post_values", _post_values, cpp, header, cls,
                                                           set(post_lookups))):
        cpp, header = res
    if "zero_terms" in enabled and (res := run("zero_terms", _zero_terms, cpp, cls)):
        (cpp,) = res
    return cpp, header, outcomes


def rewrite_synapse(header: str, cls: str, enabled: tuple[str, ...], moved: list[str], paired: bool = False
                    ) -> tuple[str, list[Outcome]]:
    """Apply R3, R7 and R8 to a synapse without post ports (not ``paired``), R9 to a co-generated one, to one
    generated synapse header (after :func:`codegen.patches.refuse_moved_variables`).
    """
    outcomes = []
    for name, fn, args, applies in (("synapse_layout", _synapse_layout, (moved,), True),
                                    ("no_history", _no_history, (), not paired),
                                    ("no_last_spike", _no_last_spike, (cls,), not paired),
                                    ("lazy_traces", _lazy_traces, (cls,), paired)):
        if name in enabled and applies:
            res, out = _apply(name, cls, fn, header, *args)
            if res:
                (header,) = res
            if out:
                outcomes.append(out)
    return header, outcomes


def banner(outcomes: list[Outcome], enabled: tuple[str, ...]) -> str:
    """The comment placed at the top of a generated file: which rewrites it carries."""
    lines = ["/*", " *  nestml-lab: rewrites of NESTML's generated code in this file (codegen/rewrites.py)"]
    if not enabled:
        lines.append(" *    none: built unrewritten (manifest `rewrites: none` or `nestml-lab module --no-rewrites`)")
    for o in outcomes:
        lines.append(f" *    {o.line()}")
    if enabled and not outcomes:
        lines.append(" *    none apply to this file")
    lines.append(" */")
    return "\n".join(lines) + "\n"
