"""The units of a module: what one NESTML run generates (a neuron alone, a synapse alone, or a neuron co-generated
with its plastic synapses), planned from the manifest, with the keys that say when each is generated again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from nestml_lab.codegen import TOOLKIT_VERSION, edits, names
from nestml_lab.codegen.errors import CodegenError
from nestml_lab.codegen.manifest import COMPARTMENTAL, Manifest

_HERE = Path(__file__).resolve().parent
_WORKER = _HERE / "worker.py"
_NESTML_TEMPLATES = {
    "path": "resources_nest/point_neuron",
    "model_templates": {"neuron": ["@NEURON_NAME@.cpp.jinja2", "@NEURON_NAME@.h.jinja2"],
                        "synapse": ["@SYNAPSE_NAME@.h.jinja2"]},
    "module_templates": [],  # the module registration is ours (templates/)
}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def nestml_version() -> str:
    """Installed NESTML version, read without importing NESTML."""
    return importlib.metadata.version("nestml")


def nest_version() -> str:
    """NEST version in NESTML's form (``v3.10.0``), read without importing NEST."""
    try:
        return "v" + importlib.metadata.version("nest-simulator")
    except importlib.metadata.PackageNotFoundError:
        config = os.environ.get("NEST_CONFIG") or shutil.which("nest-config")
        if not config:
            raise CodegenError("[codegen] cannot tell the NEST version: no nest-simulator package "
                               "and no nest-config (set NEST_CONFIG)") from None
        out = subprocess.run([config, "--version"], capture_output=True, text=True, check=True).stdout
        return "v" + out.strip().split()[-1]


#: manifest entries the module is not built from (``nestml-lab validate`` reads them): editing them does not
#: make the installed module stale
_NOT_BUILT_FROM = ("twins",)


def source_hash(manifest: Manifest) -> str:
    """Hash of everything the module is built from: manifest (its entries, not its comments), model sources,
    toolkit version.
    """
    import yaml

    data = yaml.safe_load(manifest.path.read_text())
    h = hashlib.sha256(TOOLKIT_VERSION.encode())
    h.update(json.dumps({k: v for k, v in data.items() if k not in _NOT_BUILT_FROM}, sort_keys=True,
                        default=str).encode())
    for model in sorted(set(manifest.neurons) | set(manifest.synapses)):
        h.update(model.encode())
        h.update(manifest.source(model).read_bytes())
    return h.hexdigest()[:16]


@dataclass
class Unit:
    """One NESTML run: its files, options, and the NEST names of what it registers."""

    uid: str
    description: str
    models: tuple[str, ...]
    codegen_opts: dict
    neurons: list[str] = field(default_factory=list)   # NEST names registered from this unit
    synapses: list[str] = field(default_factory=list)
    solver: str = "rk45"   # the manifest's solver (codegen_opts holds the NESTML one it is generated with)
    platform: str = "NEST"  # NESTML's target: NEST (point models) or NEST_compartmental

    @property
    def compartmental(self) -> bool:
        """Whether the unit is a compartmental model (NESTML's NEST_compartmental target)."""
        return self.platform == COMPARTMENTAL

    def nestml_key(self, manifest: Manifest, versions: dict) -> str:
        """Key of NESTML's own output for this unit: sources, options, versions, the worker's code."""
        payload = {
            "versions": versions,
            "code": _sha256(_WORKER.read_bytes()),
            "module": manifest.module,
            "suffix": manifest.suffix,
            "opts": self.codegen_opts,
            "sources": {m: _sha256(manifest.source(m).read_bytes()) for m in self.models},
        }
        return _sha256(json.dumps(payload, sort_keys=True).encode())

    def key(self, manifest: Manifest, versions: dict) -> str:
        """Key of the unit's final code: NESTML's output, the patches and the rewrites applied to it."""
        payload = {
            "nestml": self.nestml_key(manifest, versions),
            "code": code_key(),
            "rewrites": list(manifest.rewrites),
            "solver": self.solver,
        }
        return _sha256(json.dumps(payload, sort_keys=True).encode())


#: the files whose code shapes the generated C++ (the worker's runs NESTML; the edits package edits its output)
_CODE_FILES = ("worker.py", "generate.py", "units.py", "defaults_only.py", *(f"edits/{f.name}" for f in sorted((_HERE / "edits").glob("*.py"))))


def code_key() -> list[str]:
    """Hashes of the toolkit's code that turns models into the module's C++."""
    return [_sha256((_HERE / f).read_bytes()) for f in _CODE_FILES]


def plan_units(manifest: Manifest, nest_ver: str) -> list[Unit]:
    """The units that make up the module, in manifest order."""
    base = {"nest_version": nest_ver, "templates": _NESTML_TEMPLATES}
    sfx = manifest.suffix
    units = []
    # NESTML emits the plain neuron of a pair as well: a paired neuron's plain version comes from its
    # first pair instead of a NESTML run of its own (one fewer run per paired neuron).
    paired = {p.neuron for p in manifest.pairs}
    def asked(*models) -> str:
        """The solver a unit's models ask for (one per NESTML run); rk45 when none asks."""
        solvers = {manifest.solvers[m] for m in models if m in manifest.solvers}
        if len(solvers) > 1:
            raise CodegenError(f"[codegen] {' + '.join(models)} are generated together but ask for different "
                               f"solvers {sorted(solvers)}: NESTML takes one per run")
        return solvers.pop() if solvers else "rk45"

    def nestml_solver(name: str) -> dict:
        """NESTML's numeric_solver option for the toolkit's solver ``name`` (none for NESTML's default)."""
        return {"numeric_solver": edits.SOLVERS[name].nestml} if name != "rk45" else {}

    def gap(neuron: str) -> dict:
        """NESTML's gap_junctions option for a neuron the manifest gives gap junctions (none otherwise)."""
        spec = manifest.gap_junctions.get(neuron)
        return {"gap_junctions": spec.codegen_option()} if spec else {}

    compartmental = set(manifest.compartmental())
    for n in manifest.neurons:
        if n in compartmental:   # NESTML's compartmental target: its own templates, NEST's cm_tree solver
            opts = {"nest_version": nest_ver, "use_fast_math": "None"}   # never fast-math in a module users run
            units.append(Unit(f"compartmental-{n}", f"compartmental neuron {n}", (n,), opts,
                              neurons=[names.plain(n, sfx)], platform=COMPARTMENTAL))
        elif n not in paired:
            solver = asked(n)
            units.append(Unit(f"neuron-{n}", f"neuron {n}", (n,), dict(base, **nestml_solver(solver), **gap(n)),
                              neurons=[names.plain(n, sfx)], solver=solver))
    for s in manifest.synapses.values():
        if not s.needs_partner:
            solver = asked(s.name)
            opts = dict(base, weight_variable={s.name: s.weight_variable}, synapse_models=[s.name],
                        **nestml_solver(solver))
            if s.delay_variable:
                opts["delay_variable"] = {s.name: s.delay_variable}
            units.append(Unit(f"synapse-{s.name}", f"synapse {s.name}", (s.name,), opts,
                              synapses=[names.plain(s.name, sfx)], solver=solver))
    plain_from_pair: set[str] = set()
    for p in manifest.pairs:
        solver = asked(p.neuron, *p.synapses)
        opts = dict(base,
                    neuron_synapse_pairs=[{"neuron": p.neuron, "synapses": {
                        s: manifest.synapses[s].pair_options() for s in p.synapses}}],
                    weight_variable={s: manifest.synapses[s].weight_variable for s in p.synapses},
                    **nestml_solver(solver), **gap(p.neuron))
        unnamed = [s for s in p.synapses if not s.endswith("synapse")]
        if unnamed:   # NESTML takes a model for a synapse by its name, or when synapse_models lists it
            opts["synapse_models"] = unnamed
        delays = {s: manifest.synapses[s].delay_variable for s in p.synapses if manifest.synapses[s].delay_variable}
        if delays:
            opts["delay_variable"] = delays
        buffering = {manifest.synapses[s].continuous_buffering for s in p.synapses} - {None}
        if len(buffering) > 1:
            raise CodegenError(f"[codegen] {p.neuron}: its synapses ask for different continuous_buffering "
                               f"{sorted(buffering)}; NESTML takes one per neuron")
        if buffering:
            opts["continuous_state_buffering_method"] = buffering.pop()
        units.append(Unit("pair-" + "-".join((p.neuron,) + p.synapses), f"{p.neuron} with {', '.join(p.synapses)}",
                          (p.neuron,) + p.synapses, opts,
                          neurons=[names.paired_neuron(p.neuron, p.synapses, sfx)]
                          + ([] if p.neuron in plain_from_pair else [names.plain(p.neuron, sfx)]),
                          synapses=[names.paired_synapse(s, p.neuron, p.synapses, sfx) for s in p.synapses],
                          solver=solver))
        plain_from_pair.add(p.neuron)
    return units




def unit_models(unit: Unit, manifest: Manifest, texts: dict) -> list[edits.Model]:
    """The models of a point-model unit as the edit passes see them, over the unit's files ``texts``."""
    paired = unit.neurons[0] if unit.uid.startswith("pair-") else None
    facts = edits.UnitFacts(
        unit.description, unit.solver, paired, "gap_junctions" in unit.codegen_opts,
        {s: edits.SynapseFacts(model, names.plain(model, manifest.suffix), bool(manifest.synapses[model].vt_ports))
         for model, s in zip(unit.models[1:] if paired else unit.models, unit.synapses)}, manifest.rewrites)
    return ([edits.Model(n, "neuron", facts, texts) for n in unit.neurons]
            + [edits.Model(s, "synapse", facts, texts) for s in unit.synapses])
