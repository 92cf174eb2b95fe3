"""The numeric ODE solvers a model may ask for (module.yaml ``solvers:``), one registry for the manifest, the
generator and the passes, as Brian2 registers its state updaters by name.

NESTML 9.0.0 generates two: ``rk45`` (adaptive RKF45 through GSL, its default for any ODE without an exact
solution) and ``forward-Euler`` (a fixed step, every variable advanced from the values at the start of the
step: NEST's izhikevich). The toolkit's own are rewrites of NESTML's forward-Euler step (one evaluation of the
dynamics function and ``y += h f``): ``semi-implicit-Euler`` takes the variables one at a time in the order
the state block declares them, each from the values already advanced this step (Izhikevich's published
scripts: V first, then u with the new V); ``rk4`` the classical fixed-step fourth-order Runge-Kutta;
``exponential-Euler`` Brian2's exponential Euler (each variable exact for its linear part, the rest frozen
over the step; ``edits/exp_euler.py``).

Adding a solver: an entry of :data:`SOLVERS` (its name, the NESTML solver it starts from, its step: a C++
template over NESTML's forward-Euler step, or a function writing it), and a test beside
``tests/unit/test_edit_passes.py``'s. The manifest takes its name, the generator asks NESTML for its
``nestml`` solver, and the pass ``fixed_step`` writes its step.

The fix ``post_trace_euler`` lives here too: with NESTML's forward Euler (and so with every solver made from
it), a co-generated neuron's code that advances a synapse's postsynaptic trace between spikes (outside
``update``) carries an Euler step that does not compile (``get_t()``, ``__timestep``) and does nothing: its
dynamics function moves only the trace, whose exact value replaces it on the next line. The step is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from nestml_lab.codegen.edits import exp_euler
from nestml_lab.codegen.edits.cpp import NoMatch, NotApplicable
from nestml_lab.codegen.edits.model import Model

#: NESTML's forward-Euler step after its call of a dynamics function: y += h f over the state vector
_EULER_LOOP = (r"[ \t]*for \(size_t i = 0; i < State_::STATE_VEC_SIZE; \+\+i\)\n"
               r"[ \t]*\{\n"
               r"[ \t]*S_\.ode_state\[i\] \+= __timestep \* f\[i\];\n"
               r"[ \t]*\}\n")
_DYNAMICS_CALL = r"\( get_t\(\), S_\.ode_state, f, reinterpret_cast< void\* >\( this \) \);\n"

_EULER_STEP = re.compile(
    r"(?P<indent>[ \t]*)double f\[State_::STATE_VEC_SIZE\];\n"
    r"[ \t]*(?P<dyn>\w+_dynamics)" + _DYNAMICS_CALL + _EULER_LOOP)

_SEMI_IMPLICIT_EULER = """\
{i}// nestml-lab: semi-implicit Euler: the variables one at a time, in the state block's order, each
{i}// from the values already advanced this step (Izhikevich's scripts: V, then u with the new V)
{i}double f[State_::STATE_VEC_SIZE];
{i}for (size_t i = 0; i < State_::STATE_VEC_SIZE; ++i)
{i}{{
{i}    {dyn}( get_t(), S_.ode_state, f, reinterpret_cast< void* >( this ) );
{i}    S_.ode_state[i] += __timestep * f[i];
{i}}}
"""

_RK4 = """\
{i}// nestml-lab: classical fourth-order Runge-Kutta, fixed step (inputs held over the step)
{i}double k1[State_::STATE_VEC_SIZE], k2[State_::STATE_VEC_SIZE], k3[State_::STATE_VEC_SIZE],
{i}    k4[State_::STATE_VEC_SIZE], y[State_::STATE_VEC_SIZE];
{i}const double t0 = get_t();
{i}{dyn}( t0, S_.ode_state, k1, reinterpret_cast< void* >( this ) );
{i}for (size_t i = 0; i < State_::STATE_VEC_SIZE; ++i) y[i] = S_.ode_state[i] + 0.5 * __timestep * k1[i];
{i}{dyn}( t0 + 0.5 * __timestep, y, k2, reinterpret_cast< void* >( this ) );
{i}for (size_t i = 0; i < State_::STATE_VEC_SIZE; ++i) y[i] = S_.ode_state[i] + 0.5 * __timestep * k2[i];
{i}{dyn}( t0 + 0.5 * __timestep, y, k3, reinterpret_cast< void* >( this ) );
{i}for (size_t i = 0; i < State_::STATE_VEC_SIZE; ++i) y[i] = S_.ode_state[i] + __timestep * k3[i];
{i}{dyn}( t0 + __timestep, y, k4, reinterpret_cast< void* >( this ) );
{i}for (size_t i = 0; i < State_::STATE_VEC_SIZE; ++i)
{i}{{
{i}    S_.ode_state[i] += __timestep / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
{i}}}
"""


@dataclass(frozen=True)
class Solver:
    """A numeric ODE solver: the NESTML ``numeric_solver`` it is generated with and the step that replaces
    NESTML's forward-Euler step (None: NESTML's code as it is).
    """

    name: str
    nestml: str
    step: str | Callable | None = None


#: The solvers a manifest may name, by name.
SOLVERS = {s.name: s for s in (
    Solver("rk45", "rk45"),
    Solver("forward-Euler", "forward-Euler"),
    Solver("semi-implicit-Euler", "forward-Euler", _SEMI_IMPLICIT_EULER),
    Solver("rk4", "forward-Euler", _RK4),
    Solver("exponential-Euler", "forward-Euler", exp_euler.rewrite),
)}


def fixed_step_solver(source: str, header: str, solver: str) -> tuple[str, str, bool]:
    """Replace NESTML's forward-Euler step in a generated model's ``.cpp`` by ``solver``'s step (one of
    :data:`SOLVERS` with a step of its own); return the source, the header (exponential Euler adds internal
    variables) and whether exactly one step was found and replaced.
    """
    steps = list(_EULER_STEP.finditer(source))
    if len(steps) != 1:
        return source, header, False
    m = steps[0]
    step = SOLVERS[solver].step
    if callable(step):
        try:   # NotConditionallyLinear (the model's equations) goes to the caller
            after = source[m.end():source.find("\n}\n", m.end())]   # the rest of update()
            source, header = step(source, header, m, frozenset(replaced_by_exact(after)))
        except ValueError:
            return source, header, False
        return source, header, True
    step = step.format(i=m["indent"], dyn=m["dyn"])
    return source[:m.start()] + step + source[m.end():], header, True


_EXACT = re.compile(r"S_\.ode_state\[State_::(\w+)\] = \1__tmp;")


def replaced_by_exact(code: str) -> set[str]:
    """The state variables ``code`` (NESTML's, after a numeric step) sets to their exact values
    (``S_.ode_state[State_::g_ex] = g_ex__tmp;``): whatever the numeric step made of them is not kept.
    """
    return set(_EXACT.findall(code))


_POST_TRACE_EULER = re.compile(
    r"(?P<indent>[ \t]*)// numeric solver: integrating state variables: (?P<vars>[\w, ]+)\n"
    r"[ \t]*double f\[State_::STATE_VEC_SIZE\];\n"
    r"[ \t]*\w+_dynamics_\w+__for_\w+" + _DYNAMICS_CALL + _EULER_LOOP)


def drop_post_trace_euler(source: str) -> tuple[str, int]:
    """Remove the Euler steps of a co-generated neuron's trace updates outside ``update`` (the fix ``post_trace_euler``); return the
    source and how many were removed (each must integrate postsynaptic traces only).
    """
    count = 0

    def drop(m: re.Match) -> str:
        nonlocal count
        traces = [v.strip() for v in m["vars"].split(",")]
        exact = replaced_by_exact(m.string[m.end():m.end() + 2000])
        if not all("__for_" in v and v in exact for v in traces):
            return m.group(0)   # not only traces, or not each replaced by its exact value next: kept
        count += 1
        return (f"{m['indent']}// nestml-lab: NESTML's Euler step of {m['vars'].strip()} dropped here (it does not "
                "compile outside update, and the exact value below replaces it)\n")

    return _POST_TRACE_EULER.sub(drop, source), count


# --------------------------------------------------------------------------- the passes

def fixed_step(m: Model) -> str:
    """The toolkit's solver's step in place of NESTML's forward-Euler step."""
    if SOLVERS[m.unit.solver].step is None:
        raise NotApplicable(f"{m.unit.solver} is NESTML's own")
    if "_dynamics(" not in m.cpp:
        raise NotApplicable("no numerically integrated ODE")
    m.cpp, m.header, found = fixed_step_solver(m.cpp, m.header, m.unit.solver)
    if not found:
        raise NoMatch(f"the forward-Euler step ({m.unit.solver})")
    return ""


def post_trace_euler(m: Model) -> str:
    """A co-generated neuron's Euler steps of its synapses' traces outside ``update`` dropped (they do not
    compile, and the exact value replaces them).
    """
    if SOLVERS[m.unit.solver].nestml != "forward-Euler":
        raise NotApplicable("GSL integrates the traces")
    text, dropped = drop_post_trace_euler(m.cpp)
    if not dropped:
        raise NoMatch(f"the trace updates ({m.unit.solver})")
    m.cpp = text
    return ""
