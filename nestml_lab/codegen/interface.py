"""What a model declares, read from its text in milliseconds: the check stage before NESTML runs.

:func:`read` finds a model file's models, input ports (spike or continuous), parameters, state and
``emit_spike`` calls, each with its line and column, without NESTML (whose run takes seconds and
whose errors often name no file). :func:`check_manifest` holds a manifest against what its models
declare: ports, weight and delay variables, kinds, one model per file, finite defaults. The build,
``nestml-lab check`` and the notebook calls run the same checks.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from nestml_lab.codegen.errors import ModelMessage

_HEADER = re.compile(r"^(\s*)(model|neuron|synapse)\s+([A-Za-z_]\w*)\s*:")
_BLOCK = re.compile(r"^(\s+)(state|parameters|internals|input|output|equations|update|function\b.*|"
                    r"onReceive\b.*|onCondition\b.*)\s*:\s*(#.*)?$")
_DECL = re.compile(r"^(\s+)(?:recordable\s+)?([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s+([^=#]+?)\s*=\s*([^#]+?)"
                   r"\s*(#.*)?$")
_PORT = re.compile(r"^(\s+)([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*(?:[^<#]*)<-\s*(?:\w+\s+)*(spike|continuous)\b")
_INLINE = re.compile(r"^(\s+)(?:recordable\s+)?inline\s+([A-Za-z_]\w*)\s+[^=#]+?=\s*([^#]*)")
_EMIT = re.compile(r"\bemit_spike\s*\(\s*([^)\s])?")
_NAN = re.compile(r"(?<![\w.])nan(?![\w])", re.I)
_INF = re.compile(r"(?<![\w.])inf(?![\w])", re.I)


@dataclass
class Declaration:
    """One declaration of a model (a parameter, state variable or port), with its line."""

    name: str
    line: int
    column: int
    default: str


@dataclass
class Model:
    """One model of a file: its declarations, each with its place."""

    name: str
    line: int
    keyword: str                                   # "model", or NESTML 6's "neuron" / "synapse"
    ports: dict = field(default_factory=dict)      # name -> (kind "spike"/"continuous", line, column)
    parameters: dict = field(default_factory=dict)  # name -> Declaration
    state: dict = field(default_factory=dict)       # name -> Declaration
    internals: dict = field(default_factory=dict)
    inlines: dict = field(default_factory=dict)     # name -> Declaration (equations' inline expressions)
    emits: list = field(default_factory=list)       # (line, with a weight argument)
    emitting_ports: set = field(default_factory=set)  # ports whose onReceive block emits a spike (presynaptic)

    @property
    def kind(self) -> str | None:
        """"synapse" (emits a spike with a weight), "neuron" (emits a bare spike), or None (neither)."""
        if any(weighted for _, weighted in self.emits):
            return "synapse"
        if self.emits:
            return "neuron"
        return None

    def spike_ports(self) -> list[str]:
        """The names of the model's spike input ports."""
        return [p for p, (kind, *_) in self.ports.items() if kind == "spike"]

    def variables(self) -> dict:
        """Parameters and state (where NEST's weight and delay may point)."""
        return {**self.parameters, **self.state}


def read(path: Path | str, text: str | None = None) -> list[Model]:
    """Every model of a ``.nestml`` file with its ports, parameters, state and emit_spike calls."""
    text = Path(path).read_text() if text is None else text
    models: list[Model] = []
    block, block_indent, receiving = None, 0, None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line.strip():
            continue
        if m := _HEADER.match(line):
            models.append(Model(m.group(3), number, m.group(2)))
            block = None
            continue
        if not models:
            continue
        model = models[-1]
        indent = len(line) - len(line.lstrip())
        if block is not None and indent <= block_indent:
            block = None
        if m := _BLOCK.match(line):
            block, block_indent = m.group(2).split("(")[0].split()[0], indent
            port = re.match(r"onReceive\s*\(\s*(\w+)", m.group(2))
            receiving = port.group(1) if port else None
            continue
        for e in _EMIT.finditer(line):
            model.emits.append((number, e.group(1) is not None))
            if block == "onReceive" and receiving:
                model.emitting_ports.add(receiving)
        if block == "input" and (m := _PORT.match(line)):
            model.ports[m.group(2)] = (m.group(3), number, len(m.group(1)))
        elif block == "equations" and (m := _INLINE.match(line)):
            model.inlines[m.group(2)] = Declaration(m.group(2), number, len(m.group(1)), m.group(3).strip())
        elif block in ("parameters", "state", "internals") and (m := _DECL.match(raw.rstrip())):
            column = len(m.group(1))
            for name in re.split(r"\s*,\s*", m.group(2)):
                getattr(model, block)[name] = Declaration(name, number, column, m.group(4).strip())
    return models


def source_problems(path: Path, models: list[Model]) -> list[ModelMessage]:
    """Problems of one file on its own: not exactly one model, NESTML 6 headers, non-finite defaults."""
    out = []
    if len(models) > 1:
        where = ", ".join(f"{m.name} (line {m.line})" for m in models)
        out.append(ModelMessage(str(path), models[1].line, 0, f"the file holds {len(models)} models: {where}; "
                                "NESTML would build only one of them: put each model in a file of its name"))
    for m in models:
        for block in ("parameters", "state"):
            for d in getattr(m, block).values():
                bound = block == "parameters" and re.search(r"min|max", d.name, re.I)
                if _NAN.search(d.default) or (_INF.search(d.default) and not bound):
                    what = "parameter" if block == "parameters" else "state variable"
                    out.append(ModelMessage(str(path), d.line, d.column, f"{d.name} = {d.default}: a {what}'s "
                                            "default must be a finite number (infinite values only for bounds, "
                                            "names with min or max)"))
    return out


def _did_you_mean(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def check_manifest(manifest, interfaces: dict[str, Model], lines) -> list[tuple[str, str]]:
    """The manifest against what its models declare: ``[(place "module.yaml:LINE", message)]``.

    ``interfaces``: model name -> :class:`Model`; ``lines(*keys)``: the manifest line of a key path.
    """
    out = []

    def say(keys: tuple, message: str) -> None:
        line = lines(*keys)
        out.append((f"{manifest.path}:{line}" if line else str(manifest.path), message))

    for n in manifest.neurons:
        m = interfaces.get(n)
        if m is not None and m.kind == "synapse":
            say(("neurons",), f"{n} is listed under neurons, but it is a synapse (emit_spike with a weight, "
                              f"{manifest.source(n).name}:{next(l for l, w in m.emits if w)}): list it under synapses")
    from nestml_lab.codegen.manifest import mechanism_line

    compartmental = manifest.compartmental()
    for n in compartmental:
        where = f"{manifest.source(n).name}:{mechanism_line(manifest.source_text(n))}"
        if n in manifest.gap_junctions:
            say(("gap_junctions", n), f"gap_junctions: {n} is a compartmental model (@mechanism:: at {where}); "
                                      "NESTML 9 gives gap junctions to point neurons only")
        if n in manifest.solvers:
            say(("solvers", n), f"solvers: {n} is a compartmental model (@mechanism:: at {where}); NESTML's "
                                "compartmental target has no solver to choose: its compartment tree advances each "
                                "gate by an exponential step at the step's voltage and the voltages implicitly")
        if any(pair.neuron == n for pair in manifest.pairs):
            say(("pairs",), f"pairs: {n} is a compartmental model (@mechanism:: at {where}); the toolkit "
                            "co-generates plastic synapses with point neurons only (NESTML's compartmental target "
                            "folds a synapse into the neuron's receptors): connect it with NEST's synapses and a "
                            "receptor_type")
    for n, gap in getattr(manifest, "gap_junctions", {}).items():
        if n in compartmental:
            continue
        m = interfaces.get(n)
        if m is None:
            continue
        continuous = [p for p, (kind, *_) in m.ports.items() if kind == "continuous"]
        if gap.port not in continuous:
            say(("gap_junctions", n), f"gap_junctions: {n} has no continuous input port {gap.port!r} for the gap "
                                      f"current; its continuous ports: {', '.join(continuous) or 'none'}"
                                      f"{_did_you_mean(gap.port, continuous)} (declare e.g. `{gap.port} pA <- "
                                      "continuous` and add it to the membrane equation)")
        if gap.variable not in m.state:
            say(("gap_junctions", n), f"gap_junctions: {n} has no state variable {gap.variable!r} for the membrane "
                                      f"potential; its state: {', '.join(m.state) or 'none'}"
                                      f"{_did_you_mean(gap.variable, m.state)}")
    for s, spec in manifest.synapses.items():
        m = interfaces.get(s)
        if m is None:
            continue
        if m.kind == "neuron":
            say(("synapses", s), f"{s} is listed under synapses, but it is a neuron (it emits spikes without a "
                                 "weight): list it under neurons")
            continue
        variables = m.variables()
        for key in ("weight_variable", "delay_variable"):
            var = getattr(spec, key)
            if var is not None and var not in variables:
                say(("synapses", s, key), f"{key} {var!r}: {s} has no such parameter or state variable; it has: "
                                          f"{', '.join(variables) or 'none'}{_did_you_mean(var, variables)}")
        spike_ports = m.spike_ports()
        continuous = [p for p, (kind, *_) in m.ports.items() if kind == "continuous"]
        for i, port in enumerate(spec.post_ports):
            if port not in m.ports:
                say(("synapses", s, "post_ports", i), f"post port {port!r}: {s} has no input port of that name; its "
                                                      f"spike ports: {', '.join(spike_ports) or 'none'}"
                                                      f"{_did_you_mean(port, spike_ports)}")
            elif m.ports[port][0] != "spike":
                say(("synapses", s, "post_ports", i), f"post port {port!r} of {s} is a continuous port: write it "
                                                      f"as {{{port}: <neuron variable>}}")
            elif port in m.emitting_ports:
                say(("synapses", s, "post_ports", i), f"post port {port!r} of {s} is its presynaptic port (its "
                                                      "onReceive block emits the spike): list the port the "
                                                      "postsynaptic spikes come in on")
        for j, (port, var) in enumerate(spec.continuous_ports):
            index = len(spec.post_ports) + j
            if port not in m.ports or m.ports[port][0] != "continuous":
                say(("synapses", s, "post_ports", index), f"continuous post port {port!r}: {s} has no continuous "
                                                          f"input port of that name; it has: "
                                                          f"{', '.join(continuous) or 'none'}"
                                                          f"{_did_you_mean(port, continuous)}")
            for pair in manifest.pairs:
                neuron = interfaces.get(pair.neuron)
                readable = {**neuron.variables(), **neuron.inlines} if neuron is not None else {}
                if s in pair.synapses and neuron is not None and var not in readable:
                    say(("synapses", s, "post_ports", index),
                        f"continuous post port {port}: {var!r} is no variable or inline expression of "
                        f"{pair.neuron}; it has: {', '.join(readable)}{_did_you_mean(var, readable)}")
        for i, port in enumerate(spec.vt_ports):
            if port not in spike_ports:
                say(("synapses", s, "vt_ports", i), f"vt port {port!r}: {s} has no spike input port of that name; it "
                                                    f"has: {', '.join(spike_ports) or 'none'}"
                                                    f"{_did_you_mean(port, spike_ports)}")
        unlisted = [p for p in spike_ports if p not in spec.post_ports and p not in spec.vt_ports]
        listed_ok = all(p in m.ports for p in (*spec.post_ports, *spec.vt_ports))
        if len(unlisted) > 1 and listed_ok:
            say(("synapses", s), f"{s} has {len(unlisted)} spike input ports that the manifest does not list: "
                                 f"{', '.join(unlisted)}; one is the presynaptic port, the others would never "
                                 "receive a spike: list the postsynaptic one in post_ports (and pair the synapse "
                                 "with a neuron)")
    return out


def manifest_lines(path: Path):
    """``lines(*keys) -> int``: the line of a key path in a YAML manifest (the nearest ancestor's if absent)."""
    import yaml

    found: dict[tuple, int] = {(): 1}
    try:
        root = yaml.compose(Path(path).read_text())
    except Exception:
        root = None

    def walk(node, keys: tuple) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                here = keys + (k.value,)
                found[here] = k.start_mark.line + 1
                walk(v, here)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                found[keys + (i,)] = v.start_mark.line + 1
                walk(v, keys + (i,))

    if root is not None:
        walk(root, ())

    def lines(*keys) -> int:
        while keys not in found:
            keys = keys[:-1]
        return found[keys]

    return lines
