# Thin wrappers around scripts/setup.sh and the `nestml-lab` command.
VENV ?= .venv
MPI_VENV ?= .venv-mpi
LAB = $(VENV)/bin/nestml-lab
OUT ?= results

# Every experiment (a module of nestml_lab/experiments/ that ends with `EXPERIMENT = Experiment(...)`) is a
# target of its name: `make stdp-window` = `nestml-lab stdp-window --out results/stdp_window`; ARGS="--seed 3"
# passes options (`nestml-lab <name> --help` lists them with their defaults).
EXPERIMENTS := $(sort $(subst _,-,$(basename $(notdir $(shell grep -l '^EXPERIMENT = ' nestml_lab/experiments/*.py)))))

.PHONY: all setup module mpi-setup test test-slow test-quick test-mpi $(EXPERIMENTS) experiments figures networks pd14-full \
	validate-library sweep-example golden brian2-setup bench bench-quick docs clean

all: stdp-window

setup:
	@bash scripts/setup.sh

# The catalog (models/) is a project like any other: `nestml-lab module <folder>` builds yours.
# `make module NO_REWRITES=1` builds NESTML's generated code without the speed rewrites;
# `make module NEST=mpi` builds it for the MPI NEST of `make mpi-setup` (beside the wheel's build).
module: setup
ifeq ($(NEST),mpi)
	@test -x $(MPI_VENV)/bin/nestml-lab || { echo "no MPI NEST in $(MPI_VENV): run make mpi-setup" >&2; exit 1; }
	@$(MPI_VENV)/bin/nestml-lab module models $(if $(NO_REWRITES),--no-rewrites)
else
	@$(LAB) module models $(if $(NO_REWRITES),--no-rewrites)
endif

# NEST 3.10 built with MPI (Debian's OpenMPI) in $(MPI_VENV), with the toolkit: 15-20 min once, then cached.
mpi-setup:
	@MPI_VENV=$(MPI_VENV) bash scripts/mpi_setup.sh

# Each experiment: `make <name>` (the list: `make experiments`).
$(EXPERIMENTS): module
	@$(LAB) $@ --out $(OUT)/$(subst -,_,$@) $(ARGS)

# The Brian2 cross-check of the AdEx network runs when its environment exists (make brian2-setup).
adex-network: ARGS += $(if $(wildcard .venv-brian2/bin/python),--brian2)

experiments:
	@echo $(EXPERIMENTS)

# Figures of the plasticity experiments; the network validations.
figures: stdp-window seed001 pairing-frequency short-term firing-patterns

networks: pd14 song2000 adex-network

# PD14 at full scale (77 177 neurons, ~0.3e9 synapses, about 15 GB, 8-9 min here for both implementations);
# not in any test suite.
pd14-full: module
	@$(LAB) pd14 --scale 1.0 --t-sim 1000 --out $(OUT)/pd14_full $(ARGS)

# docs/sweeps.md's example: the STDP window over 3 frequencies x 2 initial weights on a local Dask cluster
# (about 15 s on 2 cores); results/sweeps/stdp_window/{sweep.csv,sweep.parquet,figures/}. Again: nothing to run.
sweep-example: module
	@$(LAB) sweep stdp-window --grid frequency_hz=1,5,10 w0=20,50 \
		--set n_dt=21 n_pairings=20 dt_min_ms=-50 dt_max_ms=50 --out $(OUT)/sweeps/stdp_window $(ARGS)

# NESTML's shipped neurons against NEST's built-ins (nestml_lab/conformance/library.py): builds them in build/nestml_library
# (4-5 min), writes results/validate_library/conformance.{md,csv,json}.
validate-library: setup
	@$(LAB) validate --nestml-library --out $(OUT)/validate_library

# Optional: Brian2 for the AdEx-network cross-check, in its own environment (brian2 needs numpy < 2.4).
brian2-setup:
	@test -x .venv-brian2/bin/python || $$(command -v python3.11 || echo python3) -m venv .venv-brian2
	@.venv-brian2/bin/pip install --quiet "brian2" "numpy<2.4"

# Benchmarks (benchmarks/run.py, a tool of this repository, not of the installed toolkit): everything,
# rewrites BENCHMARKS.md (< 45 min); a quick subset (< 5 min).
bench: module
	@$(VENV)/bin/python -m benchmarks.run

bench-quick: module
	@$(VENV)/bin/python -m benchmarks.run --quick

# Rewrite the golden curves in tests/regression/ on purpose (see its README).
golden: module
	@$(LAB) golden

# The default suite: everything but the slow and the MPI tests (under 12 min from a fresh clone on 2 cores).
test: setup
	@$(VENV)/bin/python -m pytest -m "not slow and not mpi"

# The slow tests: the differential tests against NESTML's unrewritten code, build faults, Song 2000,
# a user project built with the pip-installed toolkit. CI runs them after `make test`.
test-slow: setup
	@$(VENV)/bin/python -m pytest -m "slow and not mpi"

test-quick: setup
	@$(VENV)/bin/python -m pytest -m "not nest and not mpi"

# The MPI tests (tests/mpi): mpirun -np 2 x 1 thread vs 1 process x 2 threads; needs `make mpi-setup`.
test-mpi: setup
	@$(VENV)/bin/python -m pytest -m mpi tests/mpi

# The documentation site (MkDocs, --strict) in site/: docs/ plus a page per experiment and per catalog model.
docs: setup
	@$(VENV)/bin/python -m nestml_lab.docs --out site

# The catalog's build folder (generated code, builds, modules); `make module` brings it back.
clean:
	rm -rf nest_module
