"""The error of the compile-and-install step."""

from __future__ import annotations

from pathlib import Path


class BuildError(Exception):
    """A failure of the compile-and-install step.

    Attributes
    ----------
    stage : str
        ``"toolchain"``, ``"cmake"``, ``"compile"`` or ``"install"``.
    model : str or None
        The model whose generated code failed to compile, when known.
    log : str or None
        Path of the full log.
    """

    def __init__(self, stage: str, message: str, model: str | None = None, log: Path | None = None):
        self.stage, self.model, self.log = stage, model, str(log) if log else None
        text = f"[{stage}] {message}"
        if model:
            text += f"\n  model: {model}"
        if log:
            text += f"\n  full log: {log}"
        super().__init__(text)
