"""Where the catalog, the generated code, the build and the installed module live."""

from __future__ import annotations

import os
from pathlib import Path

#: The checkout: models/, codegen/, nest_module/ sit here.
REPO_ROOT = Path(os.environ.get("NESTML_LAB_ROOT", Path(__file__).resolve().parent.parent))
MODELS_DIR = REPO_ROOT / "models"
NEST_MODULE_DIR = REPO_ROOT / "nest_module"
#: Disposable: generated C++ (cache), the CMake build tree, the installed module.
GENERATED_DIR = NEST_MODULE_DIR / "generated"
BUILD_DIR = NEST_MODULE_DIR / "build"
INSTALL_DIR = Path(os.environ.get("NESTML_LAB_INSTALL_DIR", NEST_MODULE_DIR / "install"))
