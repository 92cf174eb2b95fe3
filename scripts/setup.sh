#!/usr/bin/env bash
# Set up everything `make module` needs on a fresh Debian machine with Python 3.11:
# the Debian headers NEST's headers include, and a virtual environment with
# the pinned Python packages. Idempotent and quick when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
DEBIAN_PACKAGES="libboost-dev libgsl-dev libltdl-dev g++ ccache"

source scripts/debian_packages.sh   # after the cd above: the repository root
install_debian_packages setup "NEST's headers" "make" $DEBIAN_PACKAGES

"$PYTHON" - <<'PY' || { echo "[setup] Python 3.11 is required (the NEST 3.10 wheel is pinned for it)" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)
PY

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "[setup] installing the pinned Python packages into $VENV"
  # pip's own notes (this machine's index locations, setuptools on editable installs) go to a log, shown
  # only when the install fails
  log="$VENV/pip-install.log"
  if ! { "$VENV/bin/python" -m pip install -q --upgrade pip && "$VENV/bin/python" -m pip install -q -e ".[test]"; } \
      >"$log" 2>&1; then
    cat "$log" >&2
    echo "[setup] pip failed (log above, also in $log)" >&2
    exit 1
  fi
  touch "$stamp"
  # once, after the install: the command lives in the environment, not on PATH
  echo "[setup] done: the nestml-lab command is $VENV/bin/nestml-lab; \`source $VENV/bin/activate\` puts it on PATH"
fi
