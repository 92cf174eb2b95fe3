"""Errors of the code-generation step, each naming the step and the place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelMessage:
    """One NESTML message about a model source.

    Parameters
    ----------
    file : str
        Path of the ``.nestml`` file.
    line, column : int
        1-based line and 0-based column NESTML reports (0 when unknown).
    message : str
        NESTML's message.
    """

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class CodegenError(Exception):
    """Base class: a failure of the code-generation step."""

    step = "codegen"


class ManifestError(CodegenError):
    """The manifest (models/module.yaml) is malformed or names missing models."""

    step = "manifest"

    def __init__(self, path: Path | str, message: str):
        self.path = str(path)
        super().__init__(f"[{self.step}] {self.path}: {message}")


class ModelError(CodegenError):
    """NESTML rejected one or more model sources."""

    step = "nestml"

    def __init__(self, unit: str, messages: list[ModelMessage], log: Path | str | None = None):
        self.unit = unit
        self.messages = messages
        self.log = str(log) if log else None
        lines = [f"[{self.step}] NESTML rejected {unit}:"] + [f"  {m}" for m in messages]
        if self.log:
            lines.append(f"  full NESTML log: {self.log}")
        super().__init__("\n".join(lines))


class SourceError(CodegenError):
    """A model source the toolkit refuses before NESTML sees it: not text, misnamed, or accepted by NESTML
    9.0.0 but generating wrong dynamics.
    """

    step = "source"

    def __init__(self, messages: list[ModelMessage]):
        self.messages = messages
        super().__init__("\n".join(f"[{self.step}] {m}" for m in messages))
