"""A project's manifest (``module.yaml``): what goes into its module, validated."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from nestml_lab import yaml_strict
from nestml_lab.codegen import edits, names
from nestml_lab.codegen.errors import ManifestError
from nestml_lab.codegen.manifest_entries import (_IDENT, COMPARTMENTAL, CONTINUOUS_BUFFERING, GapSpec,  # noqa: F401
                                                 PairSpec, SynapseSpec, TwinSpec, _check_keys, _check_port_roles,
                                                 _expect, _gap_junctions, _synapse_spec, _twins, find_source,
                                                 is_compartmental, mechanism_line, model_names, parse_rewrites)

MANIFEST_NAME = "module.yaml"


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
    #: model name -> NESTML text, for a manifest derived in memory before its files are written (:func:`derive`).
    texts: dict = field(default_factory=dict, compare=False, repr=False)

    def source_text(self, model: str) -> str:
        """A model's NESTML text: the one given in memory, else its file's."""
        if model in self.texts:
            return self.texts[model]
        return self.source(model).read_text(errors="replace")

    def to_data(self) -> dict:
        """The manifest as the YAML mapping that :func:`from_data` validates back into it (comments aside)."""
        rewrites = "all" if self.rewrites == edits.REWRITES else (list(self.rewrites) or "none")
        data: dict = {"module": self.module, "suffix": self.suffix, "neurons": list(self.neurons),
                      "synapses": {n: s.to_data() for n, s in self.synapses.items()},
                      "pairs": [{"neuron": p.neuron, "synapses": list(p.synapses)} for p in self.pairs],
                      "rewrites": rewrites}
        if self.build_dir is not None:
            data["build"] = os.path.relpath(self.build_dir, self.models_dir)
        for key, entries in (("solvers", self.solvers), ("twins", self.twins), ("gap_junctions", self.gap_junctions)):
            if entries:
                data[key] = {m: (e if isinstance(e, str) else e.to_data()) for m, e in entries.items()}
        return data

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
        if self.texts:
            return tuple(n for n in self.neurons if mechanism_line(self.source_text(n)) is not None)
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

#: The numeric ODE solvers a model may ask for (``solvers:``): codegen/edits/solvers.py.
SOLVERS = edits.SOLVERS



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
    return from_data(data, path)


def from_data(data, path: Path | str, texts: dict | None = None) -> Manifest:
    """Validate a manifest given as its YAML mapping; ``path`` is where its file is or would be (its folder
    holds the models), ``texts`` the models' NESTML texts when they are not (yet) files there.

    Raises
    ------
    ManifestError
        Naming ``path`` (and the line, where the file exists) and what is wrong.
    """
    path = Path(path)
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
        if texts is not None:
            _expect(model in texts, path, f"model {model!r}: no NESTML text given for it")
            continue
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
                        _gap_junctions(data.get("gap_junctions") or {}, neurons, path), files, dict(texts or {}))
    paired = [names.paired_neuron(p.neuron, p.synapses, suffix) for p in pairs]
    _expect(len(set(paired)) == len(paired), path, "two pairs give the same co-generated neuron")
    return manifest


def derive(base: Manifest | None = None, *, path: Path | str | None = None, texts: dict | None = None,
           **entries) -> Manifest:
    """A manifest derived in memory and validated before any file is written: ``base``'s entries (none: an
    empty manifest) with ``entries`` replacing them (``module="x_module"``, ``rewrites="none"``, ``neurons=[...]``:
    the keys and values of ``module.yaml``), at ``path`` (default: ``base``'s), its models ``texts`` when given
    in memory (default: ``base``'s texts, or its files' when the manifest moves to another folder).

    Raises
    ------
    ManifestError
        As :func:`load_manifest`, naming ``path``.
    """
    data = base.to_data() if base is not None else {}   # a relative build folder moves with the manifest
    data.update(entries)
    path = Path(path) if path is not None else base.path
    if texts is None and base is not None and base.texts:
        texts = base.texts
    if texts is None and base is not None and Path(path).parent != base.models_dir:
        texts = {m: base.source_text(m) for m in (*base.neurons, *base.synapses)}
    return from_data(data, path, texts)


def write(manifest: Manifest, folder: Path | str, header: str = "") -> Path:
    """Write ``manifest`` as ``folder/module.yaml`` and the models it holds in memory as ``<model>.nestml``
    beside it (files whose content did not change are not touched); return the manifest's path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for model, text in manifest.texts.items():
        target = folder / f"{model}.nestml"
        if not target.is_file() or target.read_text() != text:
            target.write_text(text)
    data = manifest.to_data()
    if "build" in data:
        data["build"] = os.path.relpath(manifest.build_folder, folder)
    text = (f"# {header}\n" if header else "") + yaml.safe_dump(data, sort_keys=False)
    path = folder / MANIFEST_NAME
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path
