# Warden: `make run` starts the local stack, `make test` runs every check. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run test lint typecheck unit integration infrastructure e2e synth deploy bench format clean fast-tier eval

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

run: install
	$(VENV)/bin/warden local

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

integration: $(STAMP)
	$(PY) -m pytest tests/integration -q

infrastructure: install
	$(PY) -m pytest tests/infrastructure -q

e2e: $(STAMP)
	$(PY) -m pytest tests/e2e -q

test: install lint typecheck
	$(PY) -m pytest tests -q

synth: install
	npx cdk synth --quiet
	@echo "CloudFormation template: cdk.out/Warden.template.json"

deploy: install
	npx cdk deploy Warden

bench: install
	$(PY) -m benchmarks

# Rebuild the fast tier model (functions/warden/data/) from the project's examples and ../shared/eval/dev.
fast-tier: $(STAMP)
	$(PY) -m warden_build.fast_tier --eval-dir ../shared/eval/dev

# Recall, false-positive rate and latency of the offline tiers on the dev sets.
eval: $(STAMP)
	$(VENV)/bin/warden eval ../shared/eval/dev/*.jsonl

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf cdk.out .build .pytest_cache .mypy_cache .ruff_cache
