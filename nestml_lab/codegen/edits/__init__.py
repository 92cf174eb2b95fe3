"""The edits of NESTML's generated C++: one ordered table of passes, applied to each unit NESTML generates.

Three kinds, and what each does where NESTML's code is not what it expects:

- ``fix`` (``fixes.py``): NESTML's code misleads a user or is wrong. Fails closed: the build stops with one
  error naming the pass, the model and the NESTML version.
- ``speed`` (``inputs.py``, ``traces.py``, ``synapses.py``, ``defaults.py``): a rewrite R1-R11 that makes the code run as
  fast as NEST's own models and changes no result. Fails open: NESTML's code is kept, and the build's rewrite
  report says why (module.yaml ``rewrites:`` selects them; ``flag`` rewrites are compiler flags of the module).
- ``solver`` (``solvers.py``): the step of a numeric solver NESTML lacks. Fails closed.

Each pass is declared once below, in the order the passes run, with what it applies to (``on``):

- ``neuron``, ``synapse``, ``model``: every neuron, synapse, model of the unit;
- ``paired neuron``: the neuron co-generated with synapses; ``paired synapse``: a synapse of such a pair;
  ``lone synapse``: a synapse generated alone; ``vt synapse``: a paired synapse with a volume-transmitter port;
- ``gap neuron``: a neuron generated with NESTML's ``gap_junctions`` option;
- ``module``: the module's compile flags (no code is edited).

A pass runs over every model of the unit it applies to before the next pass runs; a pass that reads another
model (R10 reads the synapses' post blocks, the synapses' fixes read their neuron's moved variables) sees it
as the passes before it in the table left it. Adding a pass: a function in its family's file, a line in
:data:`PASSES`, a test in ``tests/unit/test_edit_passes.py`` on NESTML's committed output. The manifest takes
the rewrite and solver names of this package (:data:`REWRITES`, :data:`solvers.SOLVERS`) and no others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from nestml_lab.codegen.edits import defaults, fixes, inputs, solvers, synapses, traces
from nestml_lab.codegen.edits.cpp import NoMatch, NotApplicable, Refused
from nestml_lab.codegen.edits.model import Model, Outcome, SynapseFacts, UnitFacts
from nestml_lab.codegen.errors import CodegenError

FIX, SPEED, FLAG, SOLVER = "fix", "speed", "flag", "solver"

__all__ = ["PASSES", "REWRITES", "SOLVERS", "Model", "Outcome", "Pass", "SynapseFacts", "UnitFacts", "banner",
           "compile_flags", "edit_unit", "speed_rewrites"]


@dataclass(frozen=True)
class Pass:
    """One edit of NESTML's C++: its name, kind, what it applies to, and the function that edits one model
    (returns what it did, for a speed rewrite's report; raises NoMatch where NESTML's code is not what it
    expects, NotApplicable where the model has nothing it is about).
    """

    name: str
    kind: str
    on: str
    run: Callable[[Model], str] | None
    label: str = ""   # R1-R11 for the rewrites (docs and BENCHMARKS.md name them so)
    flag: str = ""    # the compiler flag of a flag rewrite

    def summary(self) -> str:
        """The first paragraph of the pass's docstring, on one line (a flag's: its flag)."""
        if self.run is None:
            return f"compile with {self.flag}"
        return " ".join((self.run.__doc__ or "").strip().split("\n\n")[0].split())


#: Every pass, in the order they run.
PASSES = (
    Pass("history_entry", FIX, "paired neuron", fixes.history_entry),
    Pass("post_trace_euler", FIX, "paired neuron", solvers.post_trace_euler),
    Pass("unused_tau_minus", FIX, "paired neuron", fixes.unused_tau_minus),
    Pass("gap_junctions", FIX, "gap neuron", fixes.gap_junctions),
    Pass("input_buffer", SPEED, "neuron", inputs.input_buffer, "R1"),
    Pass("trace_lookup", SPEED, "paired neuron", traces.trace_lookup, "R2"),
    Pass("post_values", SPEED, "paired neuron", traces.post_values, "R10"),
    Pass("zero_terms", SPEED, "neuron", inputs.zero_terms, "R6"),
    Pass("moved_parameters", FIX, "paired synapse", fixes.moved_parameters),
    Pass("wrong_neuron", FIX, "paired synapse", fixes.wrong_neuron),
    Pass("volume_transmitter", FIX, "vt synapse", fixes.volume_transmitter),
    Pass("synapse_layout", SPEED, "synapse", synapses.synapse_layout, "R3"),
    Pass("no_history", SPEED, "lone synapse", synapses.no_history, "R7"),
    Pass("no_last_spike", SPEED, "lone synapse", synapses.no_last_spike, "R8"),
    Pass("lazy_traces", SPEED, "paired synapse", synapses.lazy_traces, "R9"),
    Pass("non_finite", FIX, "model", fixes.non_finite),
    Pass("fixed_step", SOLVER, "neuron", solvers.fixed_step),
    Pass("defaults_unit", SPEED, "model", defaults.defaults_unit, "R11"),
    Pass("no_math_errno", FLAG, "module", None, "R4", "-fno-math-errno"),
    Pass("direct_calls", FLAG, "module", None, "R5", "-fno-semantic-interposition"),
)

_ON = {
    "neuron": lambda m: m.kind == "neuron",
    "paired neuron": lambda m: m.kind == "neuron" and m.paired,
    "gap neuron": lambda m: m.kind == "neuron" and m.unit.gap,
    "synapse": lambda m: m.kind == "synapse",
    "lone synapse": lambda m: m.kind == "synapse" and not m.paired,
    "paired synapse": lambda m: m.kind == "synapse" and m.paired,
    "vt synapse": lambda m: m.kind == "synapse" and m.paired and m.synapse.vt,
    "model": lambda m: True,
    "module": lambda m: False,
}

#: The speed rewrites' names (module.yaml ``rewrites:``), in the order of their labels R1-R11.
REWRITES = tuple(p.name for p in sorted((p for p in PASSES if p.kind in (SPEED, FLAG)), key=lambda p: int(p.label[1:])))
#: The numeric solvers' names (module.yaml ``solvers:``) -> :class:`solvers.Solver`.
SOLVERS = solvers.SOLVERS


def compile_flags(enabled: tuple[str, ...]) -> dict[str, str]:
    """The compiler-flag rewrites among ``enabled``: ``{rewrite: flag}``."""
    return {p.name: p.flag for p in PASSES if p.kind == FLAG and p.name in enabled}


def edit_unit(models: list[Model], kinds: tuple = (FIX, SPEED, SOLVER)) -> dict[str, list[Outcome]]:
    """Run the passes of ``kinds`` over a unit's models (editing their texts); return each model's speed
    rewrite outcomes, by NEST name.

    Raises
    ------
    CodegenError
        A fix or a solver found NESTML's code not as it expects (naming the pass, the model and NESTML's
        version), or the model cannot take its solver (its equations).
    """
    outcomes: dict[str, list[Outcome]] = {m.name: [] for m in models}
    for p in PASSES:
        if p.run is None or p.kind not in kinds:
            continue
        for m in models:
            if not _ON[p.on](m) or (p.kind == SPEED and p.name not in m.unit.rewrites):
                continue
            try:
                detail = p.run(m)
            except NotApplicable:
                continue
            except NoMatch as exc:
                if p.kind == SPEED:
                    outcomes[m.name].append(Outcome(p.name, m.name, False, f"{exc}; NESTML's code kept"))
                    continue
                from nestml_lab.codegen.units import nestml_version   # units imports this package

                raise CodegenError(f"[codegen] {m.unit.description}: the {p.kind} {p.name} ({p.summary()}) did "
                                   f"not find what it expects in {m.name}: {exc}. NESTML {nestml_version()}'s "
                                   "code is not what nestml_lab/codegen/edits expects: the pass needs reviewing "
                                   "for this NESTML version") from None
            except Refused as exc:
                raise CodegenError(f"[codegen] {m.unit.description}: solvers: {m.unit.solver}: {exc}") from None
            if p.kind == SPEED:
                outcomes[m.name].append(Outcome(p.name, m.name, True, detail))
    return outcomes


def speed_rewrites(model: Model) -> list[Outcome]:
    """The speed rewrites of ``model.unit.rewrites`` on one model alone (its texts edited): for tests and
    for reading what a rewrite does to one file.
    """
    return edit_unit([model], kinds=(SPEED,))[model.name]


def banner(outcomes: list[Outcome], enabled: tuple[str, ...]) -> str:
    """The comment placed at the top of a generated file: which rewrites it carries."""
    lines = ["/*", " *  nestml-lab: rewrites of NESTML's generated code in this file (codegen/edits)"]
    if not enabled:
        lines.append(" *    none: built unrewritten (manifest `rewrites: none` or `nestml-lab module --no-rewrites`)")
    for o in outcomes:
        lines.append(f" *    {o.line()}")
    if enabled and not outcomes:
        lines.append(" *    none apply to this file")
    lines.append(" */")
    return "\n".join(lines) + "\n"
