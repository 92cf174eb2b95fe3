# Thin wrappers around scripts/setup.sh and the `nestml-lab` command.
VENV ?= .venv
LAB = $(VENV)/bin/nestml-lab
OUT ?= results

.PHONY: all setup module test test-quick stdp-window clean

all: stdp-window

setup:
	@bash scripts/setup.sh

module: setup
	@$(LAB) module

# The main job: the module, then the STDP window experiment and its figure.
stdp-window: module
	@$(LAB) stdp-window --out $(OUT)/stdp_window

test: setup
	@$(VENV)/bin/python -m pytest

test-quick: setup
	@$(VENV)/bin/python -m pytest -m "not nest"

# Generated code, build tree and installed module; `make module` brings them back.
clean:
	rm -rf nest_module/generated nest_module/build nest_module/install
