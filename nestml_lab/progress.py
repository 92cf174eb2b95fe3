"""What a build says while it runs: at NESTML's logging levels for the notebook calls (lines on a terminal, a
progress bar for the compile step in a notebook, or every line to one callable: an experiment's progress), and
``nestml-lab module``'s stage lines and rewrite summary.
"""

from __future__ import annotations

import re
import sys


class Say:
    """Progress and messages at NESTML's logging levels; in a notebook the compile step is a progress bar."""

    def __init__(self, level: str):
        level = str(level).upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "NO"):
            raise ValueError(f"logging_level {level!r}: one of DEBUG, INFO, WARNING, ERROR, NO")
        self.warnings = level in ("DEBUG", "INFO", "WARNING")
        self.progress = level in ("DEBUG", "INFO") or (self.warnings and not in_notebook())
        self.bar = None

    def __call__(self, line: str) -> None:
        """One line of the pipeline's log."""
        if line.startswith("[nestml]") and "warning:" in line:
            if self.warnings:
                print(line.strip(), file=sys.stderr, flush=True)
            return
        if line.startswith("[compile]") and in_notebook():
            self._bar(line)
            return
        if self.progress:
            print(line, flush=True)

    def _bar(self, line: str) -> None:
        match = re.match(r"\[compile\]\s+(\d+) %", line)
        if match is None:
            if self.bar is not None and " built in " in line:
                self.bar.update(100 - self.bar.n)
                self.bar.close()
                self.bar = None
            return
        if self.bar is None:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from tqdm.auto import tqdm
            self.bar = tqdm(total=100, desc="compiling the NEST module", unit="%")
        self.bar.update(int(match.group(1)) - self.bar.n)

    def note(self, line: str) -> None:
        """A message for the user (an upgrade report, a dropped option): shown at WARNING and below."""
        if self.warnings:
            print(line, file=sys.stderr, flush=True)


class Lines(Say):
    """Every line to one callable (or nowhere), as an experiment's progress."""

    def __init__(self, sink=None):
        super().__init__("WARNING")
        self.sink = sink or (lambda line: None)

    def __call__(self, line: str) -> None:
        """One line of the pipeline's log, to the sink."""
        self.sink(line.strip())

    def note(self, line: str) -> None:
        """A message for the user, to the sink as well."""
        self.sink(line.strip())


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (stdout is no terminal and ipykernel is loaded)."""
    return "ipykernel" in sys.modules and not sys.stdout.isatty()


class StageLines:
    """``nestml-lab module``'s output without ``-v``: a line per stage with its time, each NESTML warning once
    per model, the compile progress; the per-unit lines go (they stay in the build log and with ``-v``).
    """

    _DETAIL = ("[codegen]   ", "[cmake] configuring", "[nestml]     warning", "[codegen] where the time went",
               "[compile] translation units:")

    def __init__(self, catalog: bool = False):
        self.warnings: set = set()
        self.catalog = catalog   # the toolkit's own models: their warnings (a variable named `a` like the unit,
        self.held = 0            # NEST's steps()) are what correct models cause; counted, shown with -v

    def __call__(self, line: str) -> None:
        """One line of the build's log: printed, held back (a detail, a repeated warning) or counted."""
        if "warning:" in line and line.lstrip().startswith("[nestml]"):
            text = line.split("warning:", 1)[1].strip()
            model = text.split(":", 1)[0]
            key = (model, re.sub(r"^\S+:\d+:\d+: ", "", text))
            if key not in self.warnings:
                self.warnings.add(key)
                if self.catalog:
                    self.held += 1
                else:
                    print(f"[nestml] warning: {text}", flush=True)
            return
        if line.startswith("[codegen] done") and self.held:
            print(f"[nestml] {self.held} warning(s) on the catalog's own models, none a fault (variables named like "
                  "units, NEST's steps()): -v shows them", flush=True)
            self.held = 0
        if not line.startswith(self._DETAIL):
            print(line, flush=True)


def report_rewrites(enabled: tuple, outcomes: list, verbose: bool = False) -> None:
    """One line for what was rewritten; with ``verbose``, one more per rewrite that was skipped or applied only
    in part (with its reason).
    """
    if not enabled:
        print("[rewrite] none: NESTML's generated code is built as it is (--no-rewrites or `rewrites: none`)",
              flush=True)
        return
    applied = [o for o in outcomes if o.applied]
    models = {o.model for o in outcomes}
    if not verbose:
        skipped = len(outcomes) - len(applied)
        print(f"[rewrite] {len(applied)} of {len(outcomes)} speed rewrite(s) applied on {len(models)} model(s)"
              + (f", {skipped} not applicable (why: -v, or each generated file's header)" if skipped else ""),
              flush=True)
        return
    print(f"[rewrite] {len(applied)} of {len(outcomes)} rewrite(s) tried on {len(models)} generated model(s) applied; "
          f"enabled: {', '.join(enabled)}; details in each generated file's header", flush=True)
    for o in outcomes:
        if not o.applied or "propagators only" in o.detail or "flags kept" in o.detail:
            print(f"[rewrite]   {o.line()}", flush=True)
