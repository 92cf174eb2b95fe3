"""The catalog manifest (models/module.yaml): what goes into the module, validated."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from codegen import names, rewrites
from codegen.errors import ManifestError

MANIFEST_NAME = "module.yaml"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SynapseSpec:
    """A synapse of the catalog.

    Parameters
    ----------
    name : str
        Model name (file ``<name>.nestml``).
    weight_variable : str
        Variable that NEST's ``weight`` connection parameter maps to.
    post_ports : tuple of str
        Input ports fed by the postsynaptic neuron's spikes; non-empty means the
        synapse exists only co-generated with a neuron.
    """

    name: str
    weight_variable: str
    post_ports: tuple[str, ...] = ()

    @property
    def needs_partner(self) -> bool:
        return bool(self.post_ports)


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
    #: Rewrites of NESTML's C++ to apply (codegen/rewrites.py); () builds NESTML's code as it is.
    rewrites: tuple[str, ...] = rewrites.ALL

    @property
    def models_dir(self) -> Path:
        return self.path.parent

    def source(self, model: str) -> Path:
        """Path of a model's NESTML file."""
        return self.models_dir / f"{model}.nestml"

    def nest_names(self) -> dict[str, str]:
        """Every model the module registers: NEST name -> kind ("neuron" or "synapse")."""
        out = {names.plain(n, self.suffix): "neuron" for n in self.neurons}
        for s in self.synapses.values():
            if not s.needs_partner:
                out[names.plain(s.name, self.suffix)] = "synapse"
        for p in self.pairs:
            out[names.paired_neuron(p.neuron, p.synapses, self.suffix)] = "neuron"
            for s in p.synapses:
                out[names.paired_synapse(s, p.neuron, p.synapses, self.suffix)] = "synapse"
        return out

    def pair_for(self, neuron: str, synapse: str) -> PairSpec:
        """The pair that co-generates ``synapse`` with ``neuron``."""
        for p in self.pairs:
            if p.neuron == neuron and synapse in p.synapses:
                return p
        offered = [f"{p.neuron} + {s}" for p in self.pairs for s in p.synapses]
        raise KeyError(f"no pair {neuron} + {synapse} in {self.path}; pairs: {', '.join(offered)}")


def _expect(cond: bool, path: Path, message: str) -> None:
    if not cond:
        raise ManifestError(path, message)


def _check_keys(d: dict, allowed: set[str], where: str, path: Path) -> None:
    unknown = sorted(set(d) - allowed)
    _expect(not unknown, path, f"unknown key(s) {unknown} in {where}; allowed: {sorted(allowed)}")


def parse_rewrites(value, path: Path) -> tuple[str, ...]:
    """``all`` (default), ``none``, or a list of rewrite names -> the rewrites to apply, in their fixed order."""
    if value in ("all", None):
        return rewrites.ALL
    if value in ("none", False, []):
        return ()
    _expect(isinstance(value, list) and all(isinstance(v, str) for v in value), path,
            f"'rewrites' must be 'all', 'none' or a list of {list(rewrites.ALL)}, got {value!r}")
    unknown = sorted(set(value) - set(rewrites.ALL))
    _expect(not unknown, path, f"unknown rewrite(s) {unknown}; known: {list(rewrites.ALL)}")
    return tuple(r for r in rewrites.ALL if r in value)


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
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ManifestError(path, f"not valid YAML: {exc}") from None
    _expect(isinstance(data, dict), path, "expected a mapping at the top level")
    _check_keys(data, {"module", "suffix", "neurons", "synapses", "pairs", "rewrites"}, "the top level", path)

    module = data.get("module")
    _expect(isinstance(module, str) and _IDENT.match(module) and module.endswith("module"), path,
            f"'module' must be a C identifier ending in 'module', got {module!r}")
    suffix = data.get("suffix", "_nestml")
    _expect(isinstance(suffix, str) and (suffix == "" or re.match(r"^[A-Za-z0-9_]+$", suffix)), path,
            f"'suffix' must be letters, digits and underscores, got {suffix!r}")

    neurons = data.get("neurons") or []
    _expect(isinstance(neurons, list) and all(isinstance(n, str) for n in neurons), path,
            "'neurons' must be a list of model names")
    _expect(len(set(neurons)) == len(neurons), path, "'neurons' lists a model twice")

    synapses: dict[str, SynapseSpec] = {}
    raw_syn = data.get("synapses") or {}
    _expect(isinstance(raw_syn, dict), path, "'synapses' must map synapse names to their options")
    for name, opts in raw_syn.items():
        opts = opts or {}
        _expect(isinstance(opts, dict), path, f"options of synapse {name!r} must be a mapping")
        _check_keys(opts, {"weight_variable", "post_ports"}, f"synapse {name!r}", path)
        _expect("weight_variable" in opts, path, f"synapse {name!r} needs a 'weight_variable'")
        ports = opts.get("post_ports") or []
        _expect(isinstance(ports, list) and all(isinstance(p, str) for p in ports), path,
                f"'post_ports' of synapse {name!r} must be a list of port names")
        synapses[name] = SynapseSpec(name, str(opts["weight_variable"]), tuple(ports))

    pairs = []
    for i, raw in enumerate(data.get("pairs") or []):
        _expect(isinstance(raw, dict), path, f"pair #{i + 1} must be a mapping with 'neuron' and 'synapses'")
        _check_keys(raw, {"neuron", "synapses"}, f"pair #{i + 1}", path)
        neuron, syns = raw.get("neuron"), raw.get("synapses") or []
        _expect(neuron in neurons, path, f"pair #{i + 1}: neuron {neuron!r} is not listed under 'neurons'")
        _expect(isinstance(syns, list) and syns, path, f"pair #{i + 1}: 'synapses' must be a non-empty list")
        for s in syns:
            _expect(s in synapses, path, f"pair #{i + 1}: synapse {s!r} is not listed under 'synapses'")
            _expect(synapses[s].needs_partner, path,
                    f"pair #{i + 1}: synapse {s!r} has no post_ports; it is generated on its own, not paired")
        _expect(len(set(syns)) == len(syns), path, f"pair #{i + 1} lists a synapse twice")
        pairs.append(PairSpec(neuron, tuple(syns)))

    for model in list(neurons) + list(synapses):
        _expect(_IDENT.match(model) is not None, path, f"model name {model!r} is not an identifier")
        _expect((path.parent / f"{model}.nestml").is_file(), path,
                f"model {model!r} has no source file {path.parent / (model + '.nestml')}")

    manifest = Manifest(path, module, suffix, tuple(neurons), synapses, tuple(pairs),
                        parse_rewrites(data.get("rewrites", "all"), path))
    paired = [names.paired_neuron(p.neuron, p.synapses, suffix) for p in pairs]
    _expect(len(set(paired)) == len(paired), path, "two pairs give the same co-generated neuron")
    return manifest
