# Two entry points, each setting up what it needs on a fresh machine:
#   make demo   - local demo on the bundled example snapshot (no AWS, no Statsig account)
#   make test   - lint, type-check and the whole test suite
#   sam build   - runs build-StatsigLiteLayer below (template.yaml: the layer's BuildMethod is makefile)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

.PHONY: setup demo test lint build-StatsigLiteLayer
setup: $(BIN)/.installed

demo: setup
	$(BIN)/python -m statsig_lite demo

lint: setup
	$(BIN)/ruff check statsig_lite tests benchmarks layers
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

# sam build: the layer for the template's runtime, with its byte code when a python3.12 is on this machine
# (layers/build.py says so when it is not: the layer then works, with slower cold starts), into ARTIFACTS_DIR.
build-StatsigLiteLayer:
	$(PYTHON) layers/build.py --python 3.12 --bytecode optional --tree "$(ARTIFACTS_DIR)"

# Differential run against both official SDKs (issue 14): seeds from SEED up, for BUDGET seconds.
SEED ?= 1
BUDGET ?= 300
.PHONY: fuzz
fuzz: setup
	$(BIN)/python -m tests.differential.run --seed $(SEED) --budget $(BUDGET)
