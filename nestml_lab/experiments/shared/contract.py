"""The experiment contract, and the registry the command line, the Makefile and the docs read.

An experiment is one module in this package that ends with::

    EXPERIMENT = Experiment(params=MyParams, run=run, save=save, plot=plot, summary=summary,
                            help="one line for `nestml-lab --help`")

- ``MyParams`` is a frozen dataclass whose fields are made with :func:`param`: the default, the unit and
  the help text are written once, there; ``nestml-lab <name> --help`` shows them.
- ``run(params, progress=None) -> result``: simulates and analyses in memory, writes nothing.
  ``progress`` (a callable taking a line) receives progress lines.
- ``save(result, folder) -> {label: path}`` and ``plot(result, folder) -> path`` write into ``folder``.
- ``summary(result) -> list[str]``: the lines the command prints at the end.
- ``numbers(result) -> {name: float}`` (optional, ``numbers=``): the summary numbers a sweep tabulates and
  plots over its grid (``nestml-lab sweep``).

The experiment's name is its module's name with dashes (``stdp_window.py`` -> ``nestml-lab stdp-window``,
``make stdp-window``, results in ``results/stdp_window``). So adding an experiment is one new file here
(and its test): the command, its ``--help``, the Makefile target and the docs page come from it.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import pkgutil
import time
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


def param(default: Any, help: str, unit: str = "", flag: str | None = None, choices: tuple | None = None,
          cli: bool = True, text: bool = False) -> Any:
    """A parameter field: its ``default``, ``unit`` and ``help`` text, written once.

    ``flag`` names the command-line option when it is not ``--field-name``; ``cli=False`` keeps a field
    (a table of parameter sets, say) off the command line; ``choices`` limits a text field's values;
    ``text`` lets a dict's values on the command line be text (expressions) as well as numbers.
    Mutable defaults (dicts, lists) are copied for every instance.
    """
    meta = {"help": help, "unit": unit, "flag": flag, "choices": choices, "cli": cli, "text": text}
    if isinstance(default, (dict, list, set)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Parameter:
    """One field of a parameter class, as the command line and the docs show it."""

    name: str
    kind: str            # "int", "float", "str", "bool", "tuple", "dict"
    optional: bool       # None is a valid value
    default: Any
    unit: str
    help: str
    flag: str | None
    choices: tuple | None
    cli: bool
    text: bool = False

    def option(self) -> str:
        """The command-line option of this parameter (``--n-inh``)."""
        return self.flag or "--" + self.name.replace("_", "-")

    def shown_default(self) -> str:
        """The default as the help text shows it."""
        if self.default is None:
            return "none"
        if self.kind == "dict":
            return ", ".join(f"{k}={v}" for k, v in self.default.items()) or "none"
        if self.kind == "tuple":
            return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in self.default)
        text = f"{self.default:g}" if isinstance(self.default, float) else str(self.default)
        return f"{text} {self.unit}" if self.unit and self.unit != "1" else text


_KINDS = ("int", "float", "str", "bool", "tuple", "dict")
#: Names the command line keeps for itself (its --out, and argparse's bookkeeping).
RESERVED = frozenset({"out", "func", "experiment", "command"})


def parameters(params_class: type) -> list[Parameter]:
    """The fields of a parameter class with their kind, default, unit and help (see :func:`param`)."""
    hints = typing.get_type_hints(params_class)
    out = []
    instance = params_class()
    for f in dataclasses.fields(params_class):
        hint = hints[f.name]
        args = typing.get_args(hint)
        optional = type(None) in args
        base = next((a for a in args if a is not type(None)), hint) if args else hint
        kind = getattr(base, "__name__", str(base))
        if kind not in _KINDS:
            raise TypeError(f"{params_class.__name__}.{f.name}: a parameter is one of {', '.join(_KINDS)}, "
                            f"optionally | None; not {hint}")
        meta = f.metadata
        if f.name in RESERVED:
            raise TypeError(f"{params_class.__name__}.{f.name}: the command line uses this name itself; "
                            f"rename the parameter (reserved: {', '.join(sorted(RESERVED))})")
        if "help" not in meta:
            raise TypeError(f"{params_class.__name__}.{f.name}: declare it with param(default, help, unit)")
        out.append(Parameter(f.name, kind, optional, getattr(instance, f.name), meta["unit"], meta["help"],
                             meta["flag"], meta["choices"], meta["cli"], meta.get("text", False)))
    return out


@dataclass(frozen=True)
class Experiment:
    """What every experiment provides (see the module docstring)."""

    params: type
    run: Callable
    save: Callable
    plot: Callable
    summary: Callable
    help: str
    name: str = ""        # set by the registry from the module name
    module: str = ""
    #: ``numbers(result) -> {name: float}``: the summary numbers a sweep tabulates and plots over its grid
    numbers: Callable | None = None

    @property
    def folder(self) -> str:
        """Default output folder under ``results/``."""
        return self.name.replace("-", "_")

    def execute(self, params, out: Path | str, progress: Callable[[str], None] | None = None) -> dict:
        """run, save, plot, and print the summary through ``progress``; return the files written."""
        say = progress or (lambda line: None)
        t0 = time.perf_counter()
        result = self.run(params, progress=progress)
        files = dict(self.save(result, out))
        files["figure"] = self.plot(result, out)
        for line in self.summary(result):
            say(f"[{self.name}] {line}")
        say(f"[{self.name}] done in {time.perf_counter() - t0:.1f} s: "
            + ", ".join(str(p) for p in files.values()))
        return files


def registry() -> dict[str, Experiment]:
    """Every experiment of this package, by name (``stdp-window``, ...), in alphabetical order."""
    from nestml_lab import experiments

    found = {}
    for info in sorted(pkgutil.iter_modules(experiments.__path__), key=lambda i: i.name):
        if info.ispkg:   # shared/: what the experiments share
            continue
        mod = importlib.import_module(f"{experiments.__name__}.{info.name}")
        exp = getattr(mod, "EXPERIMENT", None)
        if isinstance(exp, Experiment):
            name = info.name.replace("_", "-")
            parameters(exp.params)   # a malformed parameter class fails here, for every command
            found[name] = dataclasses.replace(exp, name=name, module=mod.__name__)
    return found
