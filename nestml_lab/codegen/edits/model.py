"""What a pass sees: one generated model of a unit, the facts of its unit, and what a rewrite reports."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from nestml_lab.codegen import names


@dataclass(frozen=True)
class SynapseFacts:
    """A synapse of a unit: its NESTML model, its plain NEST name (NESTML's name for the moved variables) and
    whether a volume transmitter feeds it.
    """

    model: str
    plain: str
    vt: bool = False


@dataclass(frozen=True)
class UnitFacts:
    """The unit the passes edit: what NESTML was asked, as far as the passes' choices depend on it."""

    description: str                 # e.g. "iaf_psc_exp_neuron with stdp_synapse", for messages
    solver: str = "rk45"             # the manifest's solver (edits/solvers.py)
    paired: str | None = None        # the co-generated neuron's NEST name in a pair's unit
    gap: bool = False                # NESTML's gap_junctions option is on
    synapses: dict = field(default_factory=dict)   # NEST name -> SynapseFacts
    rewrites: tuple = ()             # the manifest's speed rewrites


@dataclass
class Model:
    """One generated model: its NEST name (the stem of its files) and kind; the passes read and replace its
    texts in ``texts``, the unit's files by name, which its unit's other models share.
    """

    name: str
    kind: str              # "neuron" or "synapse"
    unit: UnitFacts
    texts: dict
    added: list = field(default_factory=list)   # files a pass added for this model (R11's table of defaults)

    @property
    def cpp(self) -> str:
        """The model's ``.cpp`` (a neuron's; NESTML's synapses are headers only)."""
        return self.texts[f"{self.name}.cpp"]

    @cpp.setter
    def cpp(self, text: str) -> None:
        self.texts[f"{self.name}.cpp"] = text

    @property
    def header(self) -> str:
        """The model's ``.h``."""
        return self.texts[f"{self.name}.h"]

    @header.setter
    def header(self, text: str) -> None:
        self.texts[f"{self.name}.h"] = text

    def add_file(self, name: str, text: str) -> None:
        """A file of this model's that a pass writes beside NESTML's (a ``.cpp`` is compiled into the module)."""
        self.texts[name] = text
        if name not in self.added:
            self.added.append(name)

    @property
    def paired(self) -> bool:
        """Whether the model was co-generated: the pair's neuron, or a synapse of a pair's unit."""
        return self.unit.paired is not None and (self.kind == "synapse" or self.name == self.unit.paired)

    @property
    def synapse(self) -> SynapseFacts:
        """This synapse's facts."""
        return self.unit.synapses[self.name]

    def moved(self) -> list[str]:
        """A co-generated synapse's variables that NESTML moved into its neuron (none for a synapse alone)."""
        if not self.paired:
            return []
        return moved_variables(self.texts[f"{self.unit.paired}.h"], self.synapse.plain)


@dataclass(frozen=True)
class Outcome:
    """What one speed rewrite did to one generated model."""

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


def moved_variables(neuron_header: str, synapse_plain: str) -> list[str]:
    """Synapse variables that NESTML moved into the co-generated neuron."""
    pattern = re.compile(r'const Name _(\w+)' + re.escape(names.MOVED_VARIABLE + synapse_plain) + r'\(')
    return sorted(set(pattern.findall(neuron_header)))
