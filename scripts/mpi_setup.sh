#!/usr/bin/env bash
# `make mpi-setup`: NEST 3.10.0 built with MPI, in its own virtual environment
# (.venv-mpi) beside the wheel's (.venv), with the toolkit installed in it.
#
# The PyPI wheel of NEST has no MPI, so NEST is built from its source
# distribution against Debian's OpenMPI: 15-20 min on 2 cores, once. The built
# wheel is kept in a cache outside the checkout (NESTML_LAB_CACHE, default
# ~/.cache/nestml-lab), so a second set-up on the same machine, or in a fresh
# clone, installs it in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${MPI_VENV:-.venv-mpi}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
NEST_VERSION=3.10.0
CACHE=${NESTML_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nestml-lab}
WHEELS="$CACHE/nest-$NEST_VERSION-mpi"
DEBIAN_PACKAGES="openmpi-bin libopenmpi-dev libboost-dev libgsl-dev libltdl-dev g++ ccache"
say() { echo "[mpi-setup] $*"; }
started=$(date +%s)

source scripts/debian_packages.sh   # after the cd above: the repository root
install_debian_packages mpi-setup "MPI and NEST's headers" "make mpi-setup" $DEBIAN_PACKAGES

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi

"$VENV/bin/python" -c "import mpi4py" 2>/dev/null || { say "installing mpi4py"; "$VENV/bin/python" -m pip install -q mpi4py; }

wheel=$(ls "$WHEELS"/nest_simulator-"$NEST_VERSION"-*.whl 2>/dev/null | head -n1 || true)
if [ -z "$wheel" ]; then
  jobs=$(nproc)
  log="$CACHE/nest-$NEST_VERSION-mpi-build.log"
  tmp="$CACHE/tmp-wheel-$$"
  mkdir -p "$CACHE" "$tmp"
  say "building NEST $NEST_VERSION with MPI from its source distribution ($jobs jobs; 15-20 min on 2 cores)"
  say "log: $log"
  CMAKE_BUILD_PARALLEL_LEVEL=$jobs "$VENV/bin/python" -m pip wheel -v --no-deps --no-binary nest-simulator \
    --config-settings=cmake.define.with-mpi=ON -w "$tmp" "nest-simulator==$NEST_VERSION" >"$log" 2>&1 &
  pid=$!
  # Progress: the build's own "[84/219]" (ninja) or "[ 42%]" (make) lines, one line a minute.
  while kill -0 "$pid" 2>/dev/null; do
    sleep 60
    step=$(grep -oE '^ *\[ *[0-9]+(/[0-9]+|%)\]' "$log" 2>/dev/null | tail -n1 | tr -d '[] ' || true)
    say "$(( ($(date +%s) - started) / 60 )) min: $([ -n "$step" ] && echo "$step compiled" || echo configuring)"
  done
  if ! wait "$pid"; then
    echo "[mpi-setup] building NEST failed; the end of $log:" >&2
    tail -n 30 "$log" >&2
    rm -rf "$tmp"
    exit 1
  fi
  mkdir -p "$WHEELS"
  built=$(ls "$tmp"/nest_simulator-*.whl)
  mv "$built" "$WHEELS/"   # the cache holds only complete wheels
  echo $(( $(date +%s) - started )) > "$WHEELS/build_seconds"   # for the benchmark's set-up row
  rm -rf "$tmp"
  wheel="$WHEELS/$(basename "$built")"
  say "NEST built in $(( ($(date +%s) - started) / 60 )) min; cached in $WHEELS"
else
  say "using the cached NEST $NEST_VERSION with MPI: $wheel"
fi

"$VENV/bin/python" -m pip install -q --no-deps --force-reinstall "$wheel"
stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing the toolkit and its pinned packages into $VENV"
  "$VENV/bin/python" -m pip install -q -e ".[test]"
  touch "$stamp"
fi

# The NEST in $VENV must be the MPI one (the toolkit's requirements must not have replaced it).
"$VENV/bin/python" - <<'PY'
import sys
from nestml_lab.cmake import running_nest
nest = running_nest()
if not nest.mpi:
    sys.exit(f"[mpi-setup] the NEST in this environment has no MPI: {nest.describe()}")
print(f"[mpi-setup] ready: {nest.describe()}")
PY
say "done in $(( $(date +%s) - started )) s. Build the catalog for it: make module NEST=mpi"
