"""The speed rewrites of a neuron's inputs: how its spikes and currents reach its state.

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

"""

from __future__ import annotations

import re

from nestml_lab.codegen.edits.cpp import NoMatch, one_definition, replace_once, sub_all
from nestml_lab.codegen.edits.model import Model

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
    """The statements of NESTML's ``on_receive_block_<block>`` (raises NoMatch when not found)."""
    start, end = one_definition(cpp, cls, f"on_receive_block_{block}")
    body = cpp[start:end]
    marker = "Begin NESTML generated code for the onReceive() block statements\n    **/"
    if marker not in body:
        raise NoMatch(f"on_receive_block_{block}: statements not found")
    return [s.strip() for s in body.split(marker, 1)[1].rsplit("}", 1)[0].split(";") if s.strip()]


def _accumulate_only(cpp: str, cls: str, port_enum: str, block: str) -> str | None:
    """None when on_receive_block_<block> only adds a multiple of the port's value; else the reason."""
    try:
        statements = _block_statements(cpp, cls, block)
    except NoMatch as exc:
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
            raise NoMatch(f"Buffers_ constructors: {line.strip()!r} not found twice")
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
        raise NoMatch("spike receptor enum not found")
    if "NUM_CONTINUOUS_INPUT_PORTS" not in header:
        raise NoMatch("continuous input enum not found")

    channels = ("NUM_SPIKE_RECEPTORS + NUM_SPIKE_RECEPTORS + NUM_CONTINUOUS_INPUT_PORTS" if keep_flags
                else "NUM_SPIKE_RECEPTORS + NUM_CONTINUOUS_INPUT_PORTS")
    # --- header: channel layout, members, no getters for the old buffers
    header = replace_once(
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
    header = sub_all(getter, "", header, "buffer getters", minimum=12)
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
        header = replace_once(header, old, new, f"Buffers_ member {old.strip()!r}")
    # a multi-receptor neuron's receptor check asserts the old buffer's size (the new one's is fixed by its type)
    size_check = "    assert( B_.spike_inputs_.size() == NUM_SPIKE_RECEPTORS );\n"
    if header.count(size_check) == 1:
        header = header.replace(size_check, "")
    header = replace_once(header, '#include "ring_buffer.h"\n',
                           '#include "ring_buffer.h"\n#include "ring_buffer_impl.h"\n#include <array>\n',
                           "the ring_buffer.h include")

    # --- source
    init = ("  , input_buffer_()\n  , spike_inputs_grid_sum_()\n"
            + ("  , spike_input_received_grid_sum_()\n" if keep_flags else "")
            + ("  , continuous_inputs_grid_sum_()\n" if cont else ""))
    cpp = cpp.replace("".join(init_lines), init)
    if "".join(init_lines) in cpp or cpp.count(init) != 2:
        raise NoMatch("Buffers_ constructors: initializer lists not in NESTML's order")
    cpp = replace_once(cpp, clear_lines,
                        "  B_.input_buffer_.clear();  // nestml-lab R1: sized to the delays, zeroed\n"
                        "  B_.spike_inputs_grid_sum_.fill( 0. );\n"
                        + ("  B_.spike_input_received_grid_sum_.fill( 0. );\n" if keep_flags else "")
                        + ("  B_.continuous_inputs_grid_sum_.fill( 0. );\n" if cont else ""), "init_buffers_")
    cpp = replace_once(cpp, resize_lines, "", "pre_run_hook's buffer resizing")
    update_start, update_end = one_definition(cpp, cls, "update")
    update = cpp[update_start:update_end]
    loop = update[update.index("for ( long lag = from ; lag < to ; ++lag )"):]
    if re.search(r"\b(continue|break|goto)\b", loop.replace(_READ_SPIKES, "")):
        raise NoMatch("update() leaves its step loop early: the continuous inputs would not be read")
    update = replace_once(
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
        update = replace_once(
            update, _READ_CONTINUOUS,
            "    // nestml-lab R1: the continuous inputs of this step take effect in the next one, as in NESTML\n"
            "    for (long i = 0; i < NUM_CONTINUOUS_INPUT_PORTS; ++i)\n    {\n"
            "      B_.continuous_inputs_grid_sum_[i] = __input[INPUT_CONTINUOUS_CHANNEL_0 + i];\n    }\n",
            "update(): reading the continuous buffers")
    elif "continuous" in update.split("handle continuous input ports", 1)[-1].split("record_data", 1)[0]:
        raise NoMatch("update() reads continuous inputs in a form not known")
    # NESTML's comment about resetting the old flag buffer no longer applies
    update = re.sub(r"^[ \t]*// B_\.spike_input_received_\[[^\n]*\n", "", update, flags=re.M)
    if not keep_flags:   # as NEST's neurons add their input buffers: every step, no branch to mispredict
        writes = bool(_WRITES_PARAMETER.search(update))
        calls = {g.group(3): _every_step(cpp, cls, g.group(1), g.group(3), writes) for g in guards}
        update = _GUARD.sub(lambda g: calls[g.group(3)][0], update)
        prologue = "".join(p for _, p in calls.values())
        if prologue:
            update = replace_once(update, _TIMESTEP_LINE, _TIMESTEP_LINE + prologue, "update()'s first line")
    cpp = cpp[:update_start] + update + cpp[update_end:]
    cpp = replace_once(
        cpp, _ADD_SPIKE,
        "  // nestml-lab R1: one write into the input buffer's slot\n"
        "  const size_t __slot = nest::kernel().event_delivery_manager.get_modulo(\n"
        "    e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() ) );\n"
        "  B_.input_buffer_.add_value( __slot, nestml_buffer_idx - MIN_SPIKE_RECEPTOR, weight * e.get_multiplicity() );\n"
        + ("  B_.input_buffer_.add_value( __slot, INPUT_FLAG_CHANNEL_0 + nestml_buffer_idx - MIN_SPIKE_RECEPTOR, 1. );\n"
           if keep_flags else ""), "handle(SpikeEvent)")
    cpp = replace_once(cpp, "  assert(e.get_rport() < B_.spike_inputs_.size());\n",
                        "  assert(e.get_rport() < NUM_SPIKE_RECEPTORS);\n", "handle(SpikeEvent)'s assertion")
    if cont:
        cpp = replace_once(
            cpp, _ADD_CURRENT,
            "  B_.input_buffer_.add_value( nest::kernel().event_delivery_manager.get_modulo(\n"
            "      e.get_rel_delivery_steps( nest::kernel().simulation_manager.get_slice_origin() ) ),\n"
            "    INPUT_CONTINUOUS_CHANNEL_0 + e.get_rport(), weight * current );  // nestml-lab R1\n",
            "handle(CurrentEvent)")
        cpp = replace_once(cpp, "  assert( e.get_rport() < B_.continuous_inputs_.size() );\n",
                            "  assert( e.get_rport() < NUM_CONTINUOUS_INPUT_PORTS );\n", "handle(CurrentEvent)'s assertion")
    for text, where in ((cpp, "source"), (header, "header")):
        left = set(re.findall(r"\b(spike_inputs_|spike_input_received_|continuous_inputs_)\b|"
                              r"(get_(?:spike_inputs|spike_input_received|continuous_inputs)_\w*)", text))
        left = {a or b for a, b in left}
        if not keep_flags and "spike_input_received_grid_sum_" in text:
            left.add("spike_input_received_grid_sum_")
        if left:
            raise NoMatch(f"the {where} still uses NESTML's buffers: {', '.join(sorted(left))}")
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
    start, end = one_definition(cpp, cls, "update")
    update = cpp[start:end]
    if _WRITES_PARAMETER.search(update):
        raise NoMatch("update() assigns to a parameter or internal variable")
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
        raise NoMatch("no step sum ends in terms of parameters or inputs")
    update = replace_once(update, _TIMESTEP_LINE, _TIMESTEP_LINE + "".join(prologue), "update()'s first line")
    return cpp[:start] + update + cpp[end:], "trailing terms skipped while 0: " + ", ".join(done)


# --------------------------------------------------------------------------- the passes

def input_buffer(m: Model) -> str:
    """R1: one multi-channel input buffer, read once per step."""
    m.cpp, m.header, detail = _input_buffer(m.cpp, m.header, m.name)
    return detail


def zero_terms(m: Model) -> str:
    """R6: the terms of parameters and current ports added to the membrane only when not zero."""
    m.cpp, detail = _zero_terms(m.cpp, m.name)
    return detail
