"""The entries of a manifest (``module.yaml``): each validated, with the line it came from in a message."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from nestml_lab.codegen import edits
from nestml_lab.codegen.errors import ManifestError

#: NESTML's continuous_state_buffering_method values.
CONTINUOUS_BUFFERING = ("continuous_time_buffer", "post_spike_based")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")   # with .match: the whole string, no trailing newline


@dataclass(frozen=True)
class SynapseSpec:
    """A synapse of the project.

    Parameters
    ----------
    name : str
        Model name (file ``<name>.nestml``).
    weight_variable : str
        Variable that NEST's ``weight`` connection parameter maps to.
    post_ports : tuple of str
        Spike input ports fed by the postsynaptic neuron's spikes.
    continuous_ports : tuple of (str, str)
        ``(synapse port, neuron variable)``: continuous input ports that read a
        variable of the postsynaptic neuron (NESTML's ``stdsp_synapse`` style).
    vt_ports : tuple of str
        Spike input ports fed by a NEST ``volume_transmitter`` (third factor,
        NESTML's ``neuromodulated_stdp_synapse`` style).
    delay_variable : str or None
        Variable that NEST's ``delay`` connection parameter maps to.
    continuous_buffering : str or None
        How continuous ports get the neuron's value (NESTML's
        ``continuous_state_buffering_method``): ``continuous_time_buffer``
        (NESTML's default: a history, dendritic delay respected) or
        ``post_spike_based`` (the neuron's current value).

    Any post, continuous or vt port means the synapse exists only co-generated
    with a neuron (a pair).
    """

    name: str
    weight_variable: str
    post_ports: tuple[str, ...] = ()
    continuous_ports: tuple[tuple[str, str], ...] = ()
    vt_ports: tuple[str, ...] = ()
    delay_variable: str | None = None
    continuous_buffering: str | None = None

    @property
    def needs_partner(self) -> bool:
        """Whether the synapse reads its postsynaptic neuron (post ports, continuous ports, a volume transmitter) and so
        exists only co-generated with one.
        """
        return bool(self.post_ports or self.continuous_ports or self.vt_ports)

    def to_data(self) -> dict:
        """This entry as ``module.yaml`` writes it."""
        data: dict = {"weight_variable": self.weight_variable}
        ports = list(self.post_ports) + [{port: var} for port, var in self.continuous_ports]
        for key, value in (("post_ports", ports), ("vt_ports", list(self.vt_ports)),
                           ("delay_variable", self.delay_variable), ("continuous_buffering", self.continuous_buffering)):
            if value:
                data[key] = value
        return data

    def pair_options(self) -> dict:
        """This synapse's entry in NESTML's ``neuron_synapse_pairs`` option."""
        return {"post_ports": list(self.post_ports) + [list(c) for c in self.continuous_ports],
                "vt_ports": list(self.vt_ports)}


@dataclass(frozen=True)
class PairSpec:
    """A neuron co-generated with one or more plastic synapses."""

    neuron: str
    synapses: tuple[str, ...]



COMPARTMENTAL = "NEST_compartmental"
_MECHANISM = re.compile(r"^[^#\n]*@mechanism::", re.M)


def mechanism_line(text: str) -> int | None:
    """The line of a model text's first ``@mechanism::`` outside a comment (a compartmental model); None if none."""
    m = _MECHANISM.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def is_compartmental(path: Path) -> bool:
    """Whether a NESTML file is a compartmental model (a ``@mechanism::`` outside a comment)."""
    try:
        return mechanism_line(Path(path).read_text(errors="replace")) is not None
    except OSError:
        return False



@dataclass(frozen=True)
class GapSpec:
    """A neuron's gap junctions (``gap_junctions:``): the continuous input port that takes the gap current and
    the state variable that is the membrane potential (NESTML's ``gap_current_port`` and
    ``membrane_potential_variable``).
    """

    port: str
    variable: str

    def to_data(self) -> dict:
        """This entry as ``module.yaml`` writes it."""
        return {"port": self.port, "variable": self.variable}

    def codegen_option(self) -> dict:
        """NESTML's ``gap_junctions`` code generator option."""
        return {"enable": True, "gap_current_port": self.port, "membrane_potential_variable": self.variable}


def _gap_junctions(data, neurons: list, path: Path) -> dict:
    """The ``gap_junctions:`` entries: ``neuron: {port: I_gap, variable: V_m}``."""
    _expect(isinstance(data, dict), path, "'gap_junctions' must map neuron names to {port: <gap current port>, "
                                          "variable: <membrane potential>}")
    out = {}
    for model, spec in data.items():
        _expect(model in neurons, path, f"gap_junctions: '{model}' is no neuron of this manifest; it has: "
                f"{', '.join(neurons)}", ("gap_junctions", model))
        _expect(isinstance(spec, dict), path, f"gap_junctions: '{model}': give {{port: I_gap, variable: V_m}}",
                ("gap_junctions", model))
        _check_keys(spec, {"port", "variable"}, f"gap_junctions: '{model}'", path)
        for key in ("port", "variable"):
            _expect(isinstance(spec.get(key), str) and _IDENT.match(spec[key]) is not None, path,
                    f"gap_junctions: '{model}': {key} must be a name, got {spec.get(key)!r}", ("gap_junctions", model))
        out[model] = GapSpec(spec["port"], spec["variable"])
    return out


@dataclass(frozen=True)
class TwinSpec:
    """A neuron's NEST built-in twin (``twins:``): what ``nestml-lab validate`` runs it against."""

    twin: str                                  # NEST's model name (written nest:<name>)
    map: dict = field(default_factory=dict)    # our parameter or state name -> the twin's
    weight: float | None = None                # input spike weight in the twin's unit (None: from its kind)
    current_pA: float | None = None            # the first current step (None: from the twin's rheobase)

    def to_data(self) -> dict:
        """This entry as ``module.yaml`` writes it."""
        data: dict = {"twin": f"nest:{self.twin}"}
        if self.map:
            data["map"] = dict(self.map)
        data.update({k: v for k, v in (("weight", self.weight), ("current_pA", self.current_pA)) if v is not None})
        return data


def _twins(data, neurons: list, path: Path) -> dict:
    """The ``twins:`` entries: ``model: nest:<name>``, or ``model: {twin: nest:<name>, map: {ours: theirs},
    weight: w, current_pA: I}``.
    """
    _expect(isinstance(data, dict), path, "'twins' must map neuron names to nest:<model> or {twin: nest:<model>, ...}")
    out = {}
    for model, spec in data.items():
        _expect(model in neurons, path, f"twins: '{model}' is no neuron of this manifest; it has: "
                f"{', '.join(neurons)}", ("twins", model))
        spec = {"twin": spec} if isinstance(spec, str) else spec
        _expect(isinstance(spec, dict), path, f"twins: '{model}': give nest:<model> or a mapping", ("twins", model))
        _check_keys(spec, {"twin", "map", "weight", "current_pA"}, f"twins: '{model}'", path)
        twin = spec.get("twin")
        _expect(isinstance(twin, str) and twin.startswith("nest:") and _IDENT.match(twin[5:]) is not None, path,
                f"twins: '{model}': twin {twin!r} must be written nest:<NEST model>", ("twins", model))
        mapping = spec.get("map") or {}
        _expect(isinstance(mapping, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in mapping.items()), path,
                f"twins: '{model}': map must be {{our name: the twin's name}}", ("twins", model))
        for key in ("weight", "current_pA"):
            _expect(spec.get(key) is None or isinstance(spec[key], (int, float)), path,
                    f"twins: '{model}': {key} must be a number", ("twins", model))
        out[model] = TwinSpec(twin[5:], dict(mapping), spec.get("weight"), spec.get("current_pA"))
    return out


def _expect(cond: bool, path: Path, message: str, keys: tuple | None = None) -> None:
    """Raise ManifestError with ``message`` unless ``cond``; the line is that of the key path ``keys`` (YAML
    marks), else the first line naming a quoted name of the message.
    """
    if not cond:
        line = None
        if Path(path).is_file():
            if keys:
                from nestml_lab.codegen.interface import manifest_lines

                line = manifest_lines(path)(*keys)
            else:
                line = _line_naming(path, message)
        raise ManifestError(f"{path}:{line}" if line else path, message)


def _line_naming(path: Path, message: str) -> int:
    """The manifest line that holds the first name quoted in ``message`` (1 when none can be found)."""
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return 1
    for name in re.findall(r"'([^'\s]+)'", message):
        for number, line in enumerate(lines, 1):
            code = line.split("#", 1)[0]
            if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", code):
                return number
    return 1


def _check_keys(d: dict, allowed: set[str], where: str, path: Path) -> None:
    unknown = sorted(set(d) - allowed)
    _expect(not unknown, path, f"unknown key(s) {unknown} in {where}; allowed: {sorted(allowed)}")


def _synapse_spec(name: str, opts, path: Path) -> SynapseSpec:
    """One entry of ``synapses:``; ports are lists of names, a continuous port ``{port: neuron_variable}``."""
    opts = opts or {}
    _expect(isinstance(opts, dict), path, f"options of synapse {name!r} must be a mapping")
    _check_keys(opts, {"weight_variable", "delay_variable", "post_ports", "vt_ports", "continuous_buffering"},
                f"synapse {name!r}", path)
    _expect("weight_variable" in opts, path, f"synapse {name!r} needs a 'weight_variable'")
    _expect(isinstance(opts["weight_variable"], str) and _IDENT.match(opts["weight_variable"]) is not None, path,
            f"'weight_variable' of synapse {name!r} must be a variable name, got {opts['weight_variable']!r}")
    spiking, continuous = [], []
    raw_ports = opts.get("post_ports") or []
    _expect(isinstance(raw_ports, list), path, f"'post_ports' of synapse {name!r} must be a list")
    for port in raw_ports:
        if isinstance(port, str):
            _expect(_IDENT.match(port) is not None, path, f"post port {port!r} of synapse {name!r} is not a port name")
            spiking.append(port)
        elif isinstance(port, dict) and len(port) == 1:   # {synapse_port: neuron_variable}
            continuous.append(next(iter(port.items())))
        elif isinstance(port, list) and len(port) == 2:   # NESTML's [synapse_port, neuron_variable]
            continuous.append(tuple(port))
        else:
            _expect(False, path, f"post port {port!r} of synapse {name!r}: expected a port name, or "
                                 "{synapse_port: neuron_variable} for a continuous port")
    for port, var in continuous:
        _expect(all(isinstance(x, str) and _IDENT.match(x) for x in (port, var)), path,
                f"continuous post port {port!r}: {var!r} of synapse {name!r} must name a port and a neuron variable")
    vt = opts.get("vt_ports") or []
    _expect(isinstance(vt, list) and all(isinstance(p, str) for p in vt), path,
            f"'vt_ports' of synapse {name!r} must be a list of port names")
    _expect(len(vt) <= 1, path, f"synapse {name!r}: NESTML 9 supports one vt port, got {vt}")
    all_ports = spiking + [p for p, _ in continuous] + vt
    _expect(len(set(all_ports)) == len(all_ports), path, f"synapse {name!r} lists a port twice: {all_ports}")
    delay = opts.get("delay_variable")
    _expect(delay is None or (isinstance(delay, str) and _IDENT.match(delay) is not None), path,
            f"'delay_variable' of synapse {name!r} must be a variable name, got {delay!r}")
    buffering = opts.get("continuous_buffering")
    _expect(buffering in (None, *CONTINUOUS_BUFFERING), path,
            f"'continuous_buffering' of synapse {name!r} must be one of {list(CONTINUOUS_BUFFERING)}, got {buffering!r}")
    _expect(buffering is None or continuous, path,
            f"synapse {name!r} sets 'continuous_buffering' but has no continuous post port")
    return SynapseSpec(name, str(opts["weight_variable"]), tuple(spiking), tuple(continuous), tuple(vt), delay,
                       buffering)


def _check_port_roles(neuron: str, syns: list, synapses: dict, path: Path, number: int) -> None:
    """NESTML 9.0.0 looks a port's role (post or vt) up across all synapses of a pair: a name must keep one role."""
    role: dict[str, str] = {}
    for s in syns:
        spec = synapses[s]
        for kind, ports in (("post", spec.post_ports + tuple(p for p, _ in spec.continuous_ports)),
                            ("vt", spec.vt_ports)):
            for port in ports:
                _expect(role.setdefault(port, kind) == kind, path,
                        f"pair #{number} ({neuron}): port {port!r} is a {role[port]} port of one synapse and a "
                        f"{kind} port of another; NESTML 9 cannot tell them apart in one pair: rename one")


def parse_rewrites(value, path: Path) -> tuple[str, ...]:
    """``all`` (default), ``none``, or a list of rewrite names -> the rewrites to apply, in their fixed order."""
    if value in ("all", None):
        return edits.REWRITES
    if value in ("none", False, []):
        return ()
    _expect(isinstance(value, list) and all(isinstance(v, str) for v in value), path,
            f"'rewrites' must be 'all', 'none' or a list of {list(edits.REWRITES)}, got {value!r}")
    unknown = sorted(set(value) - set(edits.REWRITES))
    _expect(not unknown, path, f"unknown rewrite(s) {unknown}; known: {list(edits.REWRITES)}")
    return tuple(r for r in edits.REWRITES if r in value)


_HEADER = re.compile(r"^[ \t]*(?:model|neuron|synapse)[ \t]+([A-Za-z_]\w*)[ \t]*:", re.M)


def model_names(path: Path) -> list[str]:
    """The models a ``.nestml`` file declares, read from its header lines (no parsing: milliseconds)."""
    try:
        return _HEADER.findall(Path(path).read_text(errors="replace"))
    except OSError:
        return []


def find_source(folder: Path, model: str) -> Path | None:
    """The file of ``folder`` that holds ``model``: ``<model>.nestml`` if it does, else the one whose header
    names it (files are named as people name them: ``my_rule.nestml`` may hold ``model stdp_synapse:``).
    """
    named = Path(folder) / f"{model}.nestml"
    if named.is_file() and model in (model_names(named) or [model]):
        return named
    for f in sorted(Path(folder).glob("*.nestml")):
        if f != named and model in model_names(f):
            return f
    return named if named.is_file() else None


