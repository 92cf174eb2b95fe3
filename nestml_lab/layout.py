"""Where a project's builds live: the folders and stamps of a project (its manifest and build folder).

Below both :mod:`nestml_lab.project` (which makes modules) and :mod:`nestml_lab.module` (which loads them):
neither needs the other to find a stamp.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nestml_lab.codegen.manifest import Manifest, load_manifest


@dataclass(frozen=True)
class Project:
    """A project folder: its manifest (``module.yaml``) and where its builds go."""

    manifest: Manifest

    @classmethod
    def open(cls, path: Path | str | None = None) -> "Project":
        """The project in ``path`` (a folder with ``module.yaml``, or the manifest itself); default: this folder."""
        return cls(load_manifest(Path(path) if path is not None else Path.cwd()))

    @property
    def folder(self) -> Path:
        """The project folder (the manifest's)."""
        return self.manifest.models_dir

    @property
    def build_folder(self) -> Path:
        """The project's build folder."""
        return self.manifest.build_folder

    @property
    def generated_dir(self) -> Path:
        """The folder of the generated C++."""
        return self.build_folder / "generated"

    def target_dir(self, target) -> Path:
        """Folder of the module built for one NEST installation (a :class:`~nestml_lab.cmake.NestTarget`)."""
        return self.build_folder / target.key

    def stamp_path(self, target) -> Path:
        """The stamp of the module built for ``target``."""
        return self.target_dir(target) / f"{self.manifest.module}.json"

    def built_targets(self) -> list[dict]:
        """The NEST installations this project has an installed module for (from their stamps)."""
        out = []
        for stamp in sorted(self.build_folder.glob(f"nest-*/{self.manifest.module}.json")):
            try:
                out.append(json.loads(stamp.read_text())["nest_target"])
            except (ValueError, KeyError):
                continue
        return out
