"""A project's manifest (``module.yaml``): what goes into its module, validated."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nestml_lab import yaml_strict
from nestml_lab.codegen import edits, names
from nestml_lab.codegen.errors import ManifestError

MANIFEST_NAME = "module.yaml"
#: NESTML's continuous_state_buffering_method values.
CONTINUOUS_BUFFERING = ("continuous_time_buffer", "post_spike_based")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")   # with .match: the whole string, no trailing newline


@dataclass(frozen=True)
class Registration:
    """One NEST model a module registers (:meth:`Manifest.registrations`)."""

    name: str                  # its NEST name
    kind: str                  # "neuron" or "synapse"
    model: str                 # the NESTML model (the neuron's, for a co-generated neuron)
    nestml_name: str           # NESTML's name of the generated class: this name, or the one a short name stands for
    pair: tuple | None = None  # (neuron, synapse) of a co-generated model
    carries: tuple = ()        # a co-generated neuron's synapses, whose variables moved into it

    @property
    def same_as(self) -> str | None:
        """NESTML's name when this is a short name, else None."""
        return self.nestml_name if self.nestml_name != self.name else None


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

    def pair_options(self) -> dict:
        """This synapse's entry in NESTML's ``neuron_synapse_pairs`` option."""
        return {"post_ports": list(self.post_ports) + [list(c) for c in self.continuous_ports],
                "vt_ports": list(self.vt_ports)}


@dataclass(frozen=True)
class PairSpec:
    """A neuron co-generated with one or more plastic synapses."""

    neuron: str
    synapses: tuple[str, ...]


@dataclass(frozen=True)
class Manifest:
    """The validated manifest; paths are absolute."""

    path: Path
    module: str
    suffix: str
    neurons: tuple[str, ...]
    synapses: dict[str, SynapseSpec] = field(default_factory=dict)
    pairs: tuple[PairSpec, ...] = ()
    #: Speed rewrites of NESTML's C++ to apply (codegen/edits); () builds NESTML's code as it is.
    rewrites: tuple[str, ...] = edits.REWRITES
    #: Folder of the generated code, builds and installed modules (``build:``, default ``build`` beside the manifest).
    build_dir: Path | None = None
    #: NESTML's numeric ODE solver per model (``solvers:``; a model not named gets NESTML's default, rk45).
    solvers: dict = field(default_factory=dict)
    #: NEST built-in twin per neuron (``twins:``), for ``nestml-lab validate``: {model: TwinSpec}.
    twins: dict = field(default_factory=dict)
    #: Gap junctions per neuron (``gap_junctions:``): {neuron: GapSpec}; NEST couples them with its
    #: ``gap_junction`` synapse (waveform relaxation).
    gap_junctions: dict = field(default_factory=dict)
    #: model name -> its file, for the models whose file is named otherwise (read from the files' headers).
    files: dict = field(default_factory=dict)

    @property
    def models_dir(self) -> Path:
        """The folder of the project's models (the manifest's folder)."""
        return self.path.parent

    def source(self, model: str) -> Path:
        """Path of a model's NESTML file: ``<model>.nestml``, or the file of the folder that holds it."""
        return self.files.get(model, self.models_dir / f"{model}.nestml")

    def compartmental(self) -> tuple[str, ...]:
        """The neurons written for NESTML's compartmental target: their files declare ``@mechanism::`` currents
        (NESTML's NEST_compartmental generator builds them; NEST runs them as it runs its ``cm_default``).
        """
        return tuple(n for n in self.neurons if is_compartmental(self.source(n)))

    @property
    def build_folder(self) -> Path:
        """The project's build folder: the manifest's ``build:``, or ``build/`` beside it."""
        return self.build_dir if self.build_dir is not None else self.models_dir / "build"

    def registrations(self) -> list[Registration]:
        """Every model the module registers, once: the one walk that names them (for the stamp's table, the
        module's registration and the aliases).

        Co-generated models are registered under NESTML's names and under the
        short names of :func:`names.short_pair` (one pair of names per neuron and
        synapse, the same whatever other synapses the neuron carries).
        """
        sfx = self.suffix
        out = [Registration(names.plain(n, sfx), "neuron", n, names.plain(n, sfx)) for n in self.neurons]
        out += [Registration(names.plain(s.name, sfx), "synapse", s.name, names.plain(s.name, sfx))
                for s in self.synapses.values() if not s.needs_partner]
        for p in self.pairs:
            long_n = names.paired_neuron(p.neuron, p.synapses, sfx)
            # NESTML's name of a neuron carrying several synapses is no one pair's
            out.append(Registration(long_n, "neuron", p.neuron, long_n,
                                    (p.neuron, p.synapses[0]) if len(p.synapses) == 1 else None, tuple(p.synapses)))
            for s in p.synapses:
                long_s = names.paired_synapse(s, p.neuron, p.synapses, sfx)
                short_n, short_s = names.short_pair(p.neuron, s, sfx)
                out.append(Registration(long_s, "synapse", s, long_s, (p.neuron, s)))
                if short_n != long_n:
                    out.append(Registration(short_n, "neuron", p.neuron, long_n, (p.neuron, s), tuple(p.synapses)))
                if short_s != long_s:
                    out.append(Registration(short_s, "synapse", s, long_s, (p.neuron, s)))
        return out

    def nest_names(self) -> dict[str, str]:
        """Every model the module registers: NEST name -> kind ("neuron" or "synapse")."""
        return {r.name: r.kind for r in self.registrations()}

    def aliases(self) -> dict[str, str]:
        """Short name -> NESTML's name, for every co-generated model whose short name differs."""
        return {r.name: r.nestml_name for r in self.registrations() if r.same_as}

    def pair_for(self, neuron: str, synapse: str) -> PairSpec:
        """The pair that co-generates ``synapse`` with ``neuron``."""
        for p in self.pairs:
            if p.neuron == neuron and synapse in p.synapses:
                return p
        offered = [f"{p.neuron} + {s}" for p in self.pairs for s in p.synapses]
        raise KeyError(f"no pair {neuron} + {synapse} in {self.path}; pairs: {', '.join(offered)}")


#: NESTML's target for compartmental models (``@mechanism::``); point models go to its ``NEST`` target.
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


#: The numeric ODE solvers a model may ask for (``solvers:``): codegen/edits/solvers.py.
SOLVERS = edits.SOLVERS


@dataclass(frozen=True)
class GapSpec:
    """A neuron's gap junctions (``gap_junctions:``): the continuous input port that takes the gap current and
    the state variable that is the membrane potential (NESTML's ``gap_current_port`` and
    ``membrane_potential_variable``).
    """

    port: str
    variable: str

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


def load_manifest(path: Path | str) -> Manifest:
    """Read and validate a manifest.

    Parameters
    ----------
    path : path-like
        The manifest file, or the folder holding ``module.yaml``.

    Returns
    -------
    Manifest

    Raises
    ------
    ManifestError
        Naming the file and what is wrong: bad YAML, unknown keys, a model
        without its ``.nestml`` file, a pair naming an undeclared model.
    """
    path = Path(path).resolve()
    if path.is_dir():
        path = path / MANIFEST_NAME
    _expect(path.is_file(), path, "manifest not found")
    try:
        data = yaml_strict.load(path.read_text())
    except UnicodeDecodeError:
        raise ManifestError(path, "not a text file (not UTF-8)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        lines = re.findall(r"line (\d+)", str(exc))
        line = mark.line + 1 if mark is not None else (int(lines[-1]) if lines else None)
        raise ManifestError(f"{path}:{line}" if line else path, f"not valid YAML: {exc}") from None
    _expect(isinstance(data, dict), path, "expected a mapping at the top level")
    _check_keys(data, {"module", "suffix", "neurons", "synapses", "pairs", "rewrites", "build", "solvers", "twins",
                       "gap_junctions"}, "the top level", path)

    module = data.get("module")
    _expect(isinstance(module, str) and _IDENT.match(module) and module.endswith("module"), path,
            f"'module' must be a C identifier ending in 'module', got {module!r}")
    suffix = data.get("suffix", "_nestml")
    _expect(isinstance(suffix, str) and re.fullmatch(r"[A-Za-z0-9_]+", suffix) is not None, path,
            f"'suffix' must be one or more letters, digits and underscores, got {suffix!r} (without one, "
            "a model can take the name of one of NEST's own, e.g. stdp_synapse)")

    neurons = data.get("neurons") or []
    _expect(isinstance(neurons, list) and all(isinstance(n, str) for n in neurons), path,
            "'neurons' must be a list of model names")
    _expect(len(set(neurons)) == len(neurons), path, "'neurons' lists a model twice")
    for n in neurons:
        _expect(_IDENT.match(n) is not None, path, f"model name {n!r} is not an identifier")

    synapses: dict[str, SynapseSpec] = {}
    raw_syn = data.get("synapses") or {}
    _expect(isinstance(raw_syn, dict), path, "'synapses' must map synapse names to their options")
    for name, opts in raw_syn.items():
        _expect(isinstance(name, str), path, f"synapse name {name!r} must be a model name (text)")
        _expect(_IDENT.match(name) is not None, path, f"model name {name!r} is not an identifier")
        synapses[name] = _synapse_spec(name, opts, path)

    pairs = []
    for i, raw in enumerate(data.get("pairs") or []):
        _expect(isinstance(raw, dict), path, f"pair #{i + 1} must be a mapping with 'neuron' and 'synapses'")
        _check_keys(raw, {"neuron", "synapses"}, f"pair #{i + 1}", path)
        neuron, syns = raw.get("neuron"), raw.get("synapses") or []
        _expect(isinstance(neuron, str), path, f"pair #{i + 1}: 'neuron' must be a model name, got {neuron!r}")
        _expect(isinstance(syns, list) and all(isinstance(s, str) for s in syns), path,
                f"pair #{i + 1}: 'synapses' must be a list of model names, got {syns!r}")
        _expect(neuron in neurons, path, f"pair #{i + 1}: neuron {neuron!r} is not listed under 'neurons'")
        _expect(isinstance(syns, list) and syns, path, f"pair #{i + 1}: 'synapses' must be a non-empty list")
        for s in syns:
            _expect(s in synapses, path, f"pair #{i + 1}: synapse {s!r} is not listed under 'synapses'")
            _expect(synapses[s].needs_partner, path,
                    f"pair #{i + 1}: synapse {s!r} has no post_ports; it is generated on its own, not paired")
        _expect(len(set(syns)) == len(syns), path, f"pair #{i + 1} lists a synapse twice")
        for earlier in pairs:
            both = sorted(set(syns) & set(earlier.synapses)) if earlier.neuron == neuron else []
            _expect(not both, path, f"pair #{i + 1}: {neuron} + {both[0] if both else ''} is already a pair")
        _check_port_roles(neuron, syns, synapses, path, i + 1)
        pairs.append(PairSpec(neuron, tuple(syns)))

    files = {}
    for model in list(neurons) + list(synapses):
        _expect(_IDENT.match(model) is not None, path, f"model name {model!r} is not an identifier")
        found = find_source(path.parent, model)
        _expect(found is not None, path, f"model {model!r}: no .nestml file in {path.parent} holds it (neither "
                                         f"{model}.nestml nor a file with a 'model {model}:' line)")
        if found.name != f"{model}.nestml":
            files[model] = found

    solvers = data.get("solvers") or {}
    _expect(isinstance(solvers, dict), path, f"'solvers' must map model names to one of {list(SOLVERS)}")
    for model, solver in solvers.items():
        _expect(model in neurons or model in synapses, path,
                f"solvers: '{model}' is no model of this manifest; it has: {', '.join([*neurons, *synapses])}",
                ("solvers", model))
        _expect(solver in SOLVERS, path, f"solvers: '{model}': {solver!r} is not one of {list(SOLVERS)}",
                ("solvers", model))
        _expect(solver == "rk45" or not any(model in p.synapses for p in pairs), path,
                f"solvers: '{model}': a co-generated synapse is integrated with its neuron: give the solver to the "
                "neuron", ("solvers", model))

    build = data.get("build", "build")
    _expect(isinstance(build, str) and build.strip() != "", path, f"'build' must be a folder path, got {build!r}")
    manifest = Manifest(path, module, suffix, tuple(neurons), synapses, tuple(pairs),
                        parse_rewrites(data.get("rewrites", "all"), path), (path.parent / build).resolve(),
                        dict(solvers), _twins(data.get("twins") or {}, neurons, path),
                        _gap_junctions(data.get("gap_junctions") or {}, neurons, path), files)
    paired = [names.paired_neuron(p.neuron, p.synapses, suffix) for p in pairs]
    _expect(len(set(paired)) == len(paired), path, "two pairs give the same co-generated neuron")
    return manifest
