"""NESTML's notebook calls, ``generate_code_for``, ``generate_nest_target`` and
``generate_nest_compartmental_target``, on the toolkit's pipeline.

Change one import and a NESTML notebook builds on the PyPI NEST wheel::

    from nestml_lab import generate_code_for      # was: NESTCodeGeneratorUtils.generate_code_for
    module_name, neuron, synapse = generate_code_for(neuron_text, synapse_text, post_ports=["post_spikes"],
                                                     codegen_opts={"weight_variable": {"stdp_synapse": "w"}})
    nest.Install(module_name)                     # works, also after nest.ResetKernel()

Underneath, each call is a project in a machine-wide cache, addressed by the content of its models
and options (``~/.cache/nestml-lab/modules/<key>/``, or ``$NESTML_LAB_CACHE/modules/``): the same text
returns the module built before in well under a second, and nothing is written into the working
directory. The module name is made from that key (``nestml_<key>_module``), so an edited model is a
new module in a new library file: NEST maps the new code in the same process, never the old one.
NESTML 7/8 text is upgraded first (the report is shown) or refused with the hint; NESTML's warnings
are shown once per model; errors are Python exceptions naming the line of the model text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from nestml_lab.paths import CACHE_ENV  # noqa: F401  (the cache folder's variable, named here as before)
from nestml_lab.progress import Lines, Say

#: Environment variable naming the speed rewrites of the calls' builds: ``all`` (default), ``none`` (NESTML's code as
#: it is, as ``nestml-lab module --no-rewrites``), or a comma-separated list of them (docs/pipeline.md).
REWRITES_ENV = "NESTML_LAB_REWRITES"
#: NESTML's suffix for the models of ``generate_code_for``.
SUFFIX = "_nestml"
#: codegen_opts keys the notebook calls understand (others are refused, naming these).
KNOWN_OPTIONS = ("weight_variable", "delay_variable", "continuous_state_buffering_method", "numeric_solver",
                 "synapse_models", "gap_junctions",
                 "neuron_synapse_pairs", "neuron_parent_class", "neuron_parent_class_include",
                 "redirect_build_output")


def cache_root() -> Path:
    """The machine-wide cache of the notebook calls' projects and modules."""
    from nestml_lab.paths import user_cache

    return user_cache() / "modules"


def generate_code_for(nestml_neuron_model: str, nestml_synapse_model: str | None = None,
                      module_name: str | None = None, target_path: str | None = None,
                      post_ports: list | None = None, mod_ports: list | None = None,
                      codegen_opts: dict | None = None, logging_level: str = "WARNING"):
    """NESTML 9's ``NESTCodeGeneratorUtils.generate_code_for``, built by the toolkit and cached.

    Parameters
    ----------
    nestml_neuron_model : str
        The neuron's NESTML text, or the path of a ``.nestml`` file.
    nestml_synapse_model : str, optional
        The synapse's NESTML text or file; it is co-generated with the neuron.
    module_name : str, optional
        Name for ``nest.Install``; default ``nestml_<key>_module``, made from the models and options, so
        that each distinct build is its own module and library file.
    target_path : str, optional
        Accepted for NESTML's signature; nothing is written there (the code lives in the cache).
    post_ports, mod_ports : list, optional
        The synapse's ports fed by the postsynaptic neuron (a name, or ``[port, neuron variable]`` for a
        continuous port) and by a volume transmitter.
    codegen_opts : dict, optional
        ``weight_variable`` (``{synapse: variable}``; default: the synapse's ``w`` or ``weight``),
        ``delay_variable`` (dropped: in NESTML 9 NEST's ``delay`` sets the delay),
        ``continuous_state_buffering_method``, ``numeric_solver`` (``"rk45"``, ``"forward-Euler"``, and the
        toolkit's ``"semi-implicit-Euler"``, ``"rk4"`` and ``"exponential-Euler"``: docs/solvers.md).
    logging_level : str
        ``"WARNING"`` (default) shows NESTML's warnings and the upgrade report; ``"INFO"``/``"DEBUG"``
        the build's progress too; ``"ERROR"``/``"NO"`` nothing but errors.

    Returns
    -------
    tuple
        ``(module_name, neuron, synapse)``, or ``(module_name, neuron)`` without a synapse: the names for
        ``nest.Install``, ``nest.Create`` and ``nest.Connect``, as NESTML returns them.

    Raises
    ------
    nestml_lab.codegen.errors.CodegenError
        A model NESTML rejects or the toolkit refuses (model, line, column and NESTML's reason).
    nestml_lab.cmake.BuildError
        The C++ does not compile, or a tool is missing.
    """
    say = Say(logging_level)
    _check_module_name(module_name)
    opts = _check_options(codegen_opts)
    if "delay_variable" in opts:
        say.note("[upgrade] codegen_opts delay_variable dropped: in NESTML 9 NEST's delay (syn_spec) sets the delay")
    if "neuron_synapse_pairs" in opts:
        raise ValueError("neuron_synapse_pairs is given both in codegen_opts and by generate_code_for's own "
                         "arguments; use generate_nest_target for several pairs")
    neuron_text = _model_text(nestml_neuron_model)
    neuron = _model_name(neuron_text, "nestml_neuron_model")
    neuron_text = _upgraded(neuron, neuron_text, say)
    sources = {neuron: neuron_text}
    manifest: dict = {"suffix": SUFFIX, "neurons": [neuron], "synapses": {}, "pairs": []}
    if nestml_synapse_model:
        synapse_text = _model_text(nestml_synapse_model)
        synapse = _model_name(synapse_text, "nestml_synapse_model")
        synapse_text = _upgraded(synapse, synapse_text, say, (opts.get("weight_variable") or {}).get(synapse))
        sources[synapse] = synapse_text
        spec = _synapse_spec(synapse, synapse_text, opts, post_ports or [], mod_ports or [])
        manifest["synapses"][synapse] = spec
        if "post_ports" in spec or "vt_ports" in spec:
            manifest["pairs"] = [{"neuron": neuron, "synapses": [synapse]}]
    manifest.update(_solvers(opts, manifest, sources))
    manifest.update(_gap_junctions(opts, [neuron]))
    module = _build(sources, manifest, module_name, say)
    if not nestml_synapse_model:
        return module.name, module.neuron(neuron)
    if manifest["pairs"]:
        return (module.name, *module.pair(neuron, synapse))
    return module.name, module.neuron(neuron), module.synapse(synapse)


def generate_nest_target(input_path, target_path: str | None = None, install_path: str | None = None,
                         logging_level: str = "ERROR", module_name: str | None = None, store_log: bool = False,
                         suffix: str = "", dev: bool = False, codegen_opts: dict | None = None) -> None:
    """NESTML 9's ``pynestml_frontend.generate_nest_target``, built by the toolkit and cached.

    ``input_path``: ``.nestml`` files or folders of them. Synapses are the models whose name ends in
    ``synapse`` or that ``codegen_opts["synapse_models"]`` lists; ``codegen_opts["neuron_synapse_pairs"]``
    pairs them as in NESTML. ``module_name`` (default ``nestmlmodule`` in NESTML) is what ``nest.Install``
    takes afterwards; ``target_path``, ``install_path``, ``store_log`` and ``dev`` are accepted and unused
    (the code and the library live in the cache; the build log is kept there).

    Parameters
    ----------
    input_path : str, Path or list of them
        ``.nestml`` files, or folders of them.
    logging_level : str
        NESTML's: ``DEBUG``, ``INFO``, ``WARNING``, ``ERROR`` or ``NO``; in a notebook the compile step is a
        progress bar.
    module_name : str, optional
        The module's name for ``nest.Install`` (default: NESTML's ``nestmlmodule``).
    suffix : str
        Appended to every model's NEST name, as in NESTML.
    codegen_opts : dict, optional
        NESTML's options: ``neuron_synapse_pairs``, ``weight_variable``, ``numeric_solver`` (``rk45``,
        ``forward-Euler`` and the toolkit's ``semi-implicit-Euler``, ``rk4``, ``exponential-Euler``), ...

    Raises
    ------
    nestml_lab.codegen.errors.CodegenError
        A model NESTML rejects (file, line, column).
    nestml_lab.cmake.BuildError
        C++ that does not compile.
    """
    say = Say(logging_level)
    if not suffix:
        raise ValueError("generate_nest_target(suffix=''): NESTML's default leaves the models' names as they are, and "
                         "the toolkit builds every module so that it can load beside NEST's models and other modules: "
                         "pass suffix, 'a string that will be appended to the name of all generated models' (NESTML's "
                         "words), e.g. suffix='_nestml'; then nest.Create('<model>_nestml')")
    _check_module_name(module_name)
    opts = _check_options(codegen_opts)
    if "delay_variable" in opts:
        say.note("[upgrade] codegen_opts delay_variable dropped: in NESTML 9 NEST's delay (syn_spec) sets the delay")
    paths = [Path(p) for p in ([input_path] if isinstance(input_path, (str, os.PathLike)) else input_path)]
    files = [f for p in paths for f in (sorted(p.glob("*.nestml")) if p.is_dir() else [p])]
    if not files:
        raise FileNotFoundError(f"no .nestml files in {input_path}")
    sources = {}
    weights = opts.get("weight_variable") or {}
    for f in files:
        text = _model_text(str(f))
        name = _model_name(text, str(f))
        sources[name] = _upgraded(name, text, say, weights.get(name))
    pairs = _pairs(opts.get("neuron_synapse_pairs", []), say)
    paired = {s for p in pairs for s in p.get("synapses", {})}
    marked = set(opts.get("synapse_models", [])) | paired
    synapses = [n for n in sources if n in marked or n.endswith("synapse") or _kind(n, sources[n]) == "synapse"]
    manifest: dict = {"suffix": suffix, "neurons": [], "synapses": {}, "pairs": []}
    for name in synapses:
        ports = next((p["synapses"][name] for p in pairs if name in p.get("synapses", {})), {}) or {}
        manifest["synapses"][name] = _synapse_spec(name, sources[name], opts, ports.get("post_ports") or [],
                                                   ports.get("vt_ports") or [])
    manifest["neurons"] = [n for n in sources if n not in synapses]
    manifest["pairs"] = [{"neuron": p["neuron"], "synapses": list(p["synapses"])} for p in pairs]
    manifest.update(_solvers(opts, manifest, sources))
    manifest.update(_gap_junctions(opts, manifest["neurons"]))
    _build(sources, manifest, module_name or "nestmlmodule", say)


def generate_nest_compartmental_target(input_path, target_path: str | None = None, install_path: str | None = None,
                                       logging_level: str = "ERROR", module_name: str | None = None,
                                       store_log: bool = False, suffix: str = "", dev: bool = False,
                                       codegen_opts: dict | None = None) -> None:
    """NESTML 9's ``pynestml_frontend.generate_nest_compartmental_target``, built by the toolkit and cached.

    The models are compartmental (``@mechanism::`` currents); NESTML's compartmental target generates them
    and NEST runs them as its ``cm_default`` (compartments and receptors set at runtime). Arguments as
    :func:`generate_nest_target`, which takes compartmental and point models alike (each to its generator).

    Raises
    ------
    ValueError
        A model of ``input_path`` that is not compartmental (named, with what to call instead).
    """
    paths = [Path(p) for p in ([input_path] if isinstance(input_path, (str, os.PathLike)) else input_path)]
    files = [f for p in paths for f in (sorted(p.glob("*.nestml")) if p.is_dir() else [p])]
    from nestml_lab.codegen.manifest import is_compartmental

    point = [f.name for f in files if f.is_file() and not is_compartmental(f)]
    if point:
        raise ValueError(f"generate_nest_compartmental_target: {', '.join(point)} declare(s) no @mechanism:: "
                         "current: a point model; build it with generate_nest_target (which takes both kinds)")
    generate_nest_target(input_path, target_path, install_path, logging_level, module_name, store_log, suffix,
                         dev, codegen_opts)


def build_models(sources: dict, solver: str | None = None, suffix: str = SUFFIX, log=None,
                 synapses: dict | None = None, pairs: list | None = None):
    """Build (or find in the cache) a module of the models ``sources`` (``{model name: NESTML text}``), its
    neurons integrated with ``solver`` (module.yaml ``solvers:``; None: NESTML's default) and named with
    ``suffix`` (another than the catalog's, to be installed beside it); ``synapses`` and ``pairs`` are the
    manifest's entries for the synapses among ``sources``. Return the checked module (``.install()`` installs
    it, ``.neuron(name)`` gives NEST's names, ``.project`` its folder). ``log`` takes the build's lines.
    """
    synapses = dict(synapses or {})
    say = Lines(log)
    sources = {name: _upgraded(name, text, say, synapses.get(name, {}).get("weight_variable"))
               for name, text in sources.items()}
    neurons = [name for name in sources if name not in synapses]
    manifest: dict = {"suffix": suffix, "neurons": neurons, "synapses": synapses, "pairs": list(pairs or [])}
    if solver and solver != "rk45":
        manifest["solvers"] = {name: solver for name in neurons}
    return _build(sources, manifest, None, say)


# --- the pieces ----------------------------------------------------------------------------------------------

def _pairs(pairs: list, say: Say) -> list:
    """``neuron_synapse_pairs`` in NESTML 9's form (``{"neuron": n, "synapses": {s: {"post_ports": [...]}}}``); NESTML
    7/8's entries (``{"neuron": n, "synapse": s, "post_ports": [...], "vt_ports": [...]}``) rewritten to it, said.
    """
    out = []
    for p in pairs:
        if not isinstance(p, dict) or "neuron" not in p or ("synapses" not in p and "synapse" not in p):
            raise ValueError(f"codegen_opts neuron_synapse_pairs entry {p!r}: NESTML 9 takes {{'neuron': <neuron>, "
                             "'synapses': {<synapse>: {'post_ports': [<port>, ...]}}}")
        if "synapses" in p:
            out.append(p)
            continue
        ports = {k: p[k] for k in ("post_ports", "vt_ports") if k in p}
        say.note(f"[upgrade] codegen_opts neuron_synapse_pairs: NESTML 7/8's entry for {p['neuron']} + {p['synapse']} "
                 "rewritten to NESTML 9's form ({'neuron': ..., 'synapses': {<synapse>: {'post_ports': ...}}})")
        out.append({"neuron": p["neuron"], "synapses": {p["synapse"]: ports}})
    return out


def _check_module_name(module_name: str | None) -> None:
    """NESTML's rule for ``module_name``, said before any work (not by the manifest of a cache folder)."""
    if module_name is not None and not (re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(module_name))
                                        and str(module_name).endswith("module")):
        raise ValueError(f"module_name {module_name!r}: NESTML takes a C identifier ending in 'module', e.g. "
                         f"{re.sub(r'[^A-Za-z0-9_]', '_', str(module_name)).rstrip('_') + '_module'!r}")


def _check_options(codegen_opts: dict | None) -> dict:
    opts = dict(codegen_opts or {})
    unknown = sorted(set(opts) - set(KNOWN_OPTIONS))
    if unknown:
        raise ValueError(f"codegen_opts {unknown}: not understood by nestml_lab's notebook calls (they take "
                         f"{', '.join(KNOWN_OPTIONS)}); for other NESTML options write a project (nestml-lab init)")
    return opts


def _model_text(model: str) -> str:
    """The model's NESTML text: the text itself, or the file it names (as NESTML tells the two apart)."""
    if "\n" not in model and ".nestml" in model:
        return Path(model).read_text()
    return model


def _model_name(text: str, what: str) -> str:
    """The name of the (first) model of a NESTML text, as the check stage reads it."""
    from nestml_lab.codegen import interface

    models = interface.read(what, text)
    if not models:
        raise ValueError(f"{what}: no 'model <name>:' line in the text")
    return models[0].name


def _solvers(opts: dict, manifest: dict, sources: dict) -> dict:
    """NESTML's ``numeric_solver`` as the manifest's ``solvers:``: on the point neurons (a paired synapse is
    generated with its neuron, and so with its solver; the toolkit's solver steps are written for neurons; a
    compartmental model has none).
    """
    if not opts.get("numeric_solver"):
        return {}
    from nestml_lab.codegen.manifest import mechanism_line

    names = [n for n in manifest["neurons"] if mechanism_line(sources[n]) is None]
    return {"solvers": {n: opts["numeric_solver"] for n in names}} if names else {}


def _gap_junctions(opts: dict, neurons: list) -> dict:
    """NESTML's ``gap_junctions`` option (``{"enable": True, "gap_current_port": "I_gap",
    "membrane_potential_variable": "V_m"}``) as the manifest's entry for every neuron of the call, as NESTML
    applies it; ``{}`` when not enabled.
    """
    gap = opts.get("gap_junctions")
    if not gap:
        return {}
    if not isinstance(gap, dict) or set(gap) - {"enable", "gap_current_port", "membrane_potential_variable"}:
        raise ValueError(f"codegen_opts gap_junctions {gap!r}: NESTML takes {{'enable': True, 'gap_current_port': "
                         "'I_gap', 'membrane_potential_variable': 'V_m'}")
    if not gap.get("enable"):
        return {}
    spec = {"port": gap.get("gap_current_port", "I_gap"), "variable": gap.get("membrane_potential_variable", "V_m")}
    return {"gap_junctions": {n: dict(spec) for n in neurons}}


def _kind(name: str, text: str) -> str | None:
    """"synapse" when the model emits spikes with a weight, "neuron" when without, else None (its shape)."""
    from nestml_lab.codegen import interface

    return next((m.kind for m in interface.read(name, text) if m.name == name), None)


def _synapse_spec(name: str, text: str, opts: dict, post_ports: list, vt_ports: list) -> dict:
    """The synapse's manifest entry: its weight variable, ports and buffering."""
    weight = (opts.get("weight_variable") or {}).get(name)
    if weight is None:
        from nestml_lab.codegen import interface

        declared = {v for m in interface.read(name, text) for v in m.variables()}
        weight = next((w for w in ("w", "weight") if w in declared), None)
        if weight is None:
            raise ValueError(f"{name}: say which variable NEST's weight sets: codegen_opts={{'weight_variable': "
                             f"{{'{name}': '<variable>'}}}} (NESTML 9 needs one per synapse)")
    spec: dict = {"weight_variable": weight}
    ports = [p if isinstance(p, str) else {p[0]: p[1]} for p in post_ports]
    if ports:
        spec["post_ports"] = ports
    if vt_ports:
        spec["vt_ports"] = list(vt_ports)
    method = opts.get("continuous_state_buffering_method")
    if method:
        spec["continuous_buffering"] = method
    return spec


def _upgraded(name: str, text: str, say: Say, weight_variable: str | None = None) -> str:
    """Older NESTML text (1-8) rewritten to NESTML 9 (the report shown), or refused where the upgrade cannot tell.

    ``weight_variable``: what the call names as NEST's weight, which settles a ``@nest::weight`` annotation.
    """
    from nestml_lab.codegen import upgrade

    result = upgrade.upgrade_text(text, f"{name} (model text)", weight_variable)
    if result.findings:
        raise ValueError("\n".join([f"{name}: older NESTML syntax the upgrade cannot rewrite without guessing:",
                                    *result.report(), "Rewrite these lines by hand (see `nestml-lab upgrade`)."]))
    if result.changed:
        say.note(f"[upgrade] {name}: older NESTML syntax rewritten to NESTML 9 ({len(result.changes)} line(s)):")
        for line in result.report():
            say.note(f"[upgrade]   {line}")
    return result.text


def _caller_message(text: str, folder: Path, key: str) -> str:
    """An error of a build in the cache as the caller knows the build: the models by their names, the lines of
    their text, the manifest as the call's options; a log it names is kept beside the cache's other logs.
    """
    logs = cache_root().parent / "logs"
    for found in sorted(set(re.findall(re.escape(str(folder)) + r"[^\s:]*\.log", text))):
        if Path(found).is_file():
            logs.mkdir(parents=True, exist_ok=True)
            kept = logs / f"{key}-{Path(found).name}"
            shutil.copy(found, kept)
            text = text.replace(found, str(kept))
    for prefix in (f"{folder}{os.sep}", os.path.relpath(folder) + os.sep):
        text = re.sub(re.escape(prefix) + r"module\.yaml:\d+: ", "the call's options: ", text)
        text = re.sub(re.escape(prefix) + r"(\w+\.nestml)", r"\1", text)
    return text + "\n(file names are the models' names; line numbers are those of the model text)"


#: What a manifest derived from a call is named in its errors (never the cache folder it is written to).
CALL_OPTIONS = "the call's options"


def _checked(sources: dict, manifest: dict, module_name: str | None):
    """The call's manifest, derived and checked in memory against what its models declare (NESTML's own checks
    run with the build); a refusal names the call's options and the models' names.
    """
    from nestml_lab.codegen import interface
    from nestml_lab.codegen import manifest as manifests
    from nestml_lab.codegen.errors import ManifestError

    checked = manifests.from_data({"module": module_name or "nestml_call_module", **manifest}, Path(CALL_OPTIONS),
                                  texts=sources)
    interfaces = {m.name: m for name, text in sources.items() for m in interface.read(name, text) if m.name == name}
    wrong = interface.check_manifest(checked, interfaces, lambda *keys: None)
    if wrong:
        raise ManifestError(wrong[0][0], wrong[0][1] + "".join(f"\n  {place}: {message}" for place, message in wrong[1:]))
    return checked


def _rewrites() -> dict:
    """The manifest's ``rewrites:`` from :data:`REWRITES_ENV`, when set."""
    value = os.environ.get(REWRITES_ENV, "").strip()
    if not value:
        return {}
    if value in ("all", "none"):
        return {"rewrites": value}
    from nestml_lab.codegen.edits import REWRITES

    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = sorted(set(names) - set(REWRITES))
    if unknown:
        raise ValueError(f"{REWRITES_ENV}={value!r}: unknown rewrite(s) {unknown}; give all, none or a comma-separated "
                         f"list of {', '.join(REWRITES)}")
    return {"rewrites": names}


def _build(sources: dict, manifest: dict, module_name: str | None, say: Say):
    """Build (or find in the cache) the module of these sources and manifest; return its loaded stamp."""
    manifest = {**manifest, **_rewrites()}   # part of the key: another choice of rewrites is another module
    from nestml_lab import module as modules
    from nestml_lab.nest_loading import put_on_search_path
    from nestml_lab.codegen import manifest as manifests
    from nestml_lab.cmake import running_nest
    from nestml_lab.codegen.errors import CodegenError
    from nestml_lab.project import Project, make_module

    checked = _checked(sources, manifest, module_name)   # in memory: no cache folder is named before this
    target = running_nest()   # the sources are NESTML 9 text: each entry point upgraded them as it read them
    from nestml_lab.codegen.generate import code_key

    # the toolkit's code is part of the key: an upgraded toolkit builds anew (the cache holds the old build)
    key = hashlib.sha256(json.dumps({"sources": sources, "manifest": manifest, "module": module_name,
                                     "nest": target.key, "code": code_key()}, sort_keys=True).encode()).hexdigest()[:16]
    folder = cache_root() / key
    if not (folder / "module.yaml").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=folder.parent))
        manifests.write(manifests.derive(checked, path=tmp / "module.yaml",
                                         module=module_name or f"nestml_{key}_module"), tmp)
        try:
            os.rename(tmp, folder)
        except OSError:   # another process made it first: the same content
            shutil.rmtree(tmp, ignore_errors=True)
    try:   # in the cache: checked, not built again (and not installed: nest.Install(name) is the caller's)
        module = modules.Module(Project.open(folder).stamp_path(target)).check()
    except modules.ModuleNotBuiltError:
        from nestml_lab.codegen.launch import prestart

        prestart()   # the kernel's warm NESTML worker, if it has none yet, imports while the build starts
        try:
            module = make_module(folder, log=say).module
        except CodegenError as exc:   # the cache folder means nothing to the caller: the model text does
            exc.args = (_caller_message(str(exc), folder, key),)
            if not list(folder.glob("build/nest-*/*.json")):   # refused before anything was built: nothing stays
                shutil.rmtree(folder, ignore_errors=True)
            raise exc.with_traceback(None) from None
        module.check()
    put_on_search_path(module.library().parent)   # nest.Install(name) finds it, with no variables set
    return module
