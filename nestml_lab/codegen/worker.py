"""Run NESTML's pipeline (parse, checks, transforms, C++ generation) for one unit, without its build step.

Run as ``python -m nestml_lab.codegen.worker SPEC.json``: NESTML keeps global state, so
every unit gets a fresh process. The spec names the NESTML files, the target
folder and the code generator options; the worker writes a JSON result
(``{"ok": bool, "errors": [...]}``) to ``spec["result"]``. NESTML's own
builder is never constructed, so nothing tries to compile against the wheel.
"""

from __future__ import annotations

import json
import sys
import time
import traceback


def _messages_since(start: int, fallback_file: str, level_name: str = "ERROR") -> list[dict]:
    """NESTML messages of one level (``ERROR`` or ``WARNING``) logged after message number ``start``."""
    from pynestml.utils.logger import Logger, LoggingLevel

    wanted = getattr(LoggingLevel, level_name)
    out = []
    for key, entry in sorted(Logger.get_log().items()):
        if key < start:
            continue
        artifact, _node, level, _code, pos, message = entry
        if level != wanted:
            continue
        out.append({
            "file": artifact or fallback_file,
            "line": int(pos.get_start_line()) if pos is not None else 0,
            "column": int(pos.get_start_column()) if pos is not None else 0,
            "message": str(message),
        })
    return out


def _log_size() -> int:
    from pynestml.utils.logger import Logger

    return max(Logger.get_log().keys(), default=-1) + 1


def format_float(value: float, digits: int = 9) -> str:
    """A float as a C++ literal with ``digits`` significant digits and a decimal point.

    NESTML 9.0.0 formats with ``f"{x:#.9g}".rstrip("0")``, which also strips
    zeros off the exponent: 5e-10 becomes ``5.00000000e-1``, 1e20 ``1.00000000e+2``.
    Here only the mantissa loses its trailing zeros.
    """
    text = f"{value:#.{digits}g}"
    mantissa, sep, exponent = text.partition("e")
    return mantissa.rstrip("0") + sep + exponent


def _fix_float_printing() -> None:
    """Make NESTML print float constants with :func:`format_float` (see there for the bug)."""
    from pynestml.codegeneration.printers.constant_printer import ConstantPrinter

    original = ConstantPrinter.print_constant

    def print_constant(self, node):
        if isinstance(node, float):
            return format_float(node, ConstantPrinter.n_float_digits)
        return original(self, node)

    ConstantPrinter.print_constant = print_constant


def _parse_and_check(files: list[str]) -> tuple[list, list[dict]]:
    """Parse every file and run NESTML's context conditions; return (models, errors)."""
    from pynestml.cocos.co_cos_manager import CoCosManager
    from pynestml.utils.logger import Logger
    from pynestml.utils.model_parser import ModelParser

    errors: list[dict] = []
    models = []
    for path in files:
        start = _log_size()
        unit = ModelParser.parse_file(path)
        errors += _messages_since(start, path)
        if unit is None and not errors:
            errors.append({"file": path, "line": 0, "column": 0, "message": "NESTML could not parse the file"})
        if unit is not None:
            for model in unit.get_model_list():
                Logger.set_current_node(model)
                start = _log_size()
                CoCosManager.check_cocos(model)
                errors += _messages_since(start, path)
                Logger.set_current_node(None)
                models.append(model)
    return models, errors


def check(spec: dict) -> list[dict]:
    """Parse and check the files of ``spec`` with NESTML (no transforms, no code); return the errors."""
    from pynestml.frontend import pynestml_frontend as frontend

    frontend.configure_front_end(spec["files"], spec.get("platform", "NEST"), spec["target"], logging_level="ERROR")
    frontend.init_predefined()
    _models, errors = _parse_and_check(spec["files"])
    return errors


def declared_variables(models) -> dict:
    """Parameters and state each model declares, as NESTML has them after co-generation.

    ``{model: {"parameters": {name: default}, "state": {name: initial value}}}``,
    values as NESTML source text. A co-generated neuron lists the variables
    moved in from its synapses (``tau_tr_post__for_stdp_synapse_nestml``);
    NESTML's internals (propagators ``__P__...``, ``__h``) are not declared
    variables and do not appear.
    """
    out = {}
    for model in models:
        entry = {}
        for kind, blocks in (("parameters", model.get_parameters_blocks()), ("state", model.get_state_blocks())):
            entry[kind] = {}
            for block in blocks:
                for decl in block.get_declarations():
                    for var in decl.get_variables():
                        expr = decl.get_expression()
                        entry[kind][var.get_complete_name()] = str(expr).strip() if expr is not None else ""
        out[model.get_name()] = entry
    return out


def generate(spec: dict) -> list[dict]:
    """Generate C++ for the unit described by ``spec``; return NESTML's errors (empty on success).

    ``spec["platform"]``: NESTML's target, ``NEST`` (point models) or ``NEST_compartmental``. The time of each
    stage goes into ``spec["stages"]`` (seconds).
    """
    t_set_up = time.perf_counter()
    from pynestml.frontend import pynestml_frontend as frontend
    from pynestml.frontend.frontend_configuration import FrontendConfiguration

    _fix_float_printing()
    files = spec["files"]
    platform = spec.get("platform", "NEST")
    frontend.configure_front_end(files, platform, spec["target"], logging_level="ERROR",
                                 module_name=spec["module"], suffix=spec["suffix"],
                                 codegen_opts=spec["codegen_opts"])
    opts = dict(FrontendConfiguration.get_codegen_opts())
    transformers, _ = frontend.transformers_from_target_name(platform, options=opts)
    # Constructed directly with nest_version set: no probe that imports NEST.
    if platform == "NEST_compartmental":
        from pynestml.codegeneration.nest_compartmental_code_generator import NESTCompartmentalCodeGenerator

        generator = NESTCompartmentalCodeGenerator(opts)
    else:
        from pynestml.codegeneration.nest_code_generator import NESTCodeGenerator

        generator = NESTCodeGenerator(opts)

    frontend.create_report_dir()
    frontend.init_predefined()
    stages = spec.setdefault("stages", {})
    stages["NESTML's imports and set-up"] = time.perf_counter() - t_set_up
    t = time.perf_counter()
    models, errors = _parse_and_check(files)
    stages["parse and checks"] = time.perf_counter() - t
    if errors:
        return errors

    t = time.perf_counter()
    models, metadata = frontend.transform_models(transformers, models)
    stages["transforms"] = time.perf_counter() - t
    spec["variables"] = declared_variables(models)
    start = _log_size()
    _time_ode_analysis(generator, stages)
    t = time.perf_counter()
    try:
        generator.generate_code(models, metadata)
        stages["templates"] = time.perf_counter() - t - stages.get("ODE analysis", 0.0)
    except Exception as exc:  # NESTML raises bare Exceptions after logging the cause
        errs = _messages_since(start, files[0])
        return errs or [{"file": files[0], "line": 0, "column": 0,
                         "message": f"code generation failed: {exc}"}]
    return _messages_since(start, files[0])


def _time_ode_analysis(generator, stages: dict) -> None:
    """Sum the time the generator spends analysing the models' ODEs (ODE-toolbox, sympy) into
    ``stages["ODE analysis"]``: the rest of its ``generate_code`` is template rendering.
    """
    for name in ("analyse_transform_neurons", "analyse_transform_synapses"):
        method = getattr(generator, name, None)
        if method is None:
            continue

        def timed(*args, _method=method, **kwargs):
            t = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                stages["ODE analysis"] = stages.get("ODE analysis", 0.0) + time.perf_counter() - t

        setattr(generator, name, timed)


def warnings() -> list[dict]:
    """NESTML's WARNING messages of this run (each once), e.g. a variable named like a physical unit."""
    try:
        seen, out = set(), []
        for w in _messages_since(0, "", "WARNING"):
            key = (w["file"], w["line"], w["message"])
            if key not in seen:
                seen.add(key)
                out.append(w)
        return out
    except Exception:   # the log of a NESTML that crashed early: no warnings to report
        return []


def crash_message(spec: dict, exc: Exception, trace: str) -> dict:
    """The error of a NESTML that raised instead of reporting: which model, where NESTML failed, and the file
    that keeps the traceback (``spec["crash_log"]``, else the unit's build log, which this output goes to).
    """
    import importlib.metadata
    import os

    frames = traceback.extract_tb(exc.__traceback__)
    inside = next((f for f in reversed(frames) if "pynestml" in f.filename), frames[-1] if frames else None)
    where = f" in {os.path.basename(inside.filename)}:{inside.lineno}" if inside else ""
    log = spec.get("crash_log")
    if log:
        with open(log, "w") as f:
            f.write(trace)
    else:
        print(trace)
    models = ", ".join(os.path.basename(f) for f in spec["files"])
    return {"file": spec["files"][0], "line": 0, "column": 0,
            "message": f"NESTML {importlib.metadata.version('nestml')} crashed on {models} "
                       f"({type(exc).__name__}: {exc}{where}) instead of reporting an error; the line is not known. "
                       "Often a construct NESTML 9 does not support in that place (an expression where it "
                       "expects a port or a variable). The traceback: " + (log or "the build log")}


def warm() -> None:
    """Import what every run imports (NESTML, its NEST generator, ODE-toolbox, sympy) and nothing else: the state
    a run starts from in a fresh process, which the warm worker (codegen/zygote.py) forks each run from.
    """
    import odetoolbox  # noqa: F401
    import sympy  # noqa: F401
    from pynestml.codegeneration import nest_code_generator  # noqa: F401
    from pynestml.cocos import co_cos_manager  # noqa: F401
    from pynestml.frontend import pynestml_frontend  # noqa: F401
    from pynestml.utils import model_parser  # noqa: F401


def compile_templates() -> None:
    """Compile NESTML's templates of its NEST target once, into a bytecode cache every jinja2 environment of the
    process then reads (jinja2's own mechanism: a template whose source changed is compiled again). A run forked
    from this process loads them compiled instead of compiling them (about 0.5 s for the 58 of them).
    """
    import glob
    import os

    import jinja2
    import pynestml

    class Memory(jinja2.BytecodeCache):
        def __init__(self):
            self.store: dict[str, bytes] = {}

        def load_bytecode(self, bucket):
            if bucket.key in self.store:
                bucket.bytecode_from_string(self.store[bucket.key])

        def dump_bytecode(self, bucket):
            self.store[bucket.key] = bucket.bytecode_to_string()

    cache = Memory()
    plain_init = jinja2.Environment.__init__

    def init(self, *args, **kwargs):
        kwargs.setdefault("bytecode_cache", cache)
        plain_init(self, *args, **kwargs)

    jinja2.Environment.__init__ = init
    root = os.path.join(os.path.dirname(pynestml.__file__), "codegeneration", "resources_nest", "point_neuron")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(root))
    for path in glob.glob(os.path.join(root, "**", "*.jinja2"), recursive=True):
        try:
            env.get_template(os.path.relpath(path, root))
        except jinja2.TemplateError:   # compiled when a run needs it, as without this cache
            pass


def main(argv: list[str]) -> int:
    """Run one code-generation job (a JSON spec in ``argv[1]``) in this child process; return the exit status."""
    with open(argv[1]) as f:
        spec = json.load(f)
    sys.setrecursionlimit(10000)  # as NESTML's own front end does, for deep expression trees
    try:
        errors = check(spec) if spec.get("check_only") else generate(spec)
    except Exception as exc:
        errors = [crash_message(spec, exc, traceback.format_exc())]
    found = warnings()
    for w in found:   # into the unit's build log as well
        print(f"[nestml] warning: {w['file']}:{w['line']}:{w['column']}: {w['message']}")
    with open(spec["result"], "w") as f:
        json.dump({"ok": not errors, "errors": errors, "warnings": found, "variables": spec.get("variables", {}),
                   "stages": spec.get("stages", {})}, f, indent=1)
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
