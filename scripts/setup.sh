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

missing=""
for p in $DEBIAN_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[setup] installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "[setup] NEST's headers need Debian packages that are missing. Run:" >&2
    echo "    sudo apt-get install -y$missing" >&2
    echo "then run make again." >&2
    exit 1
  fi
fi

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
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[test]"
  touch "$stamp"
fi
