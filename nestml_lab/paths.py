"""Where this repository's catalog project lives (``models/``) and where its build folder is."""

from __future__ import annotations

import os
from pathlib import Path

#: The checkout (models/ and nest_module/ sit here); NESTML_LAB_ROOT points elsewhere.
REPO_ROOT = Path(os.environ.get("NESTML_LAB_ROOT", Path(__file__).resolve().parent.parent))
#: The catalog: a project like any user's (module.yaml + .nestml files).
MODELS_DIR = REPO_ROOT / "models"
#: The catalog's build folder (``build: ../nest_module`` in its manifest): generated C++, builds, modules.
NEST_MODULE_DIR = REPO_ROOT / "nest_module"
GENERATED_DIR = NEST_MODULE_DIR / "generated"

#: Environment variable naming the machine-wide cache folder (default: ``$XDG_CACHE_HOME/nestml-lab``, else
#: ``~/.cache/nestml-lab``).
CACHE_ENV = "NESTML_LAB_CACHE"


def user_cache() -> Path:
    """The machine-wide cache of the user's builds: ``$NESTML_LAB_CACHE``, else ``$XDG_CACHE_HOME/nestml-lab``, else
    ``~/.cache/nestml-lab`` (the notebook calls' modules in ``modules/``, the shapes of generated units in
    ``shapes/``).
    """
    base = os.environ.get(CACHE_ENV) or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "nestml-lab"
    return Path(base)
