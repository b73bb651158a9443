# Warden: `make run` starts the local stack, `make test` runs every check. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run test lint typecheck unit integration infrastructure e2e browser chromium synth deploy bench format clean fast-tier eval

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

# The reviewer console's browser test drives Debian's chromium (playwright never downloads a browser).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@test -x $(CHROMIUM) || { \
	  echo "Installing Debian's chromium for the reviewer console test (apt-get)..."; \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; } \
	  || { echo "error: could not install chromium with apt-get; the browser test needs $(CHROMIUM)." \
	            "Install it as root: apt-get update && apt-get install -y --no-install-recommends chromium" >&2; exit 1; }; \
	  test -x $(CHROMIUM) || { echo "error: apt-get installed chromium but $(CHROMIUM) is missing" >&2; exit 1; }; }

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

browser: $(STAMP) chromium
	WARDEN_REQUIRE_BROWSER=1 $(PY) -m pytest tests/browser -q -s

test: install chromium lint typecheck
	WARDEN_REQUIRE_BROWSER=1 $(PY) -m pytest tests -q

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

# Recall, false-positive rate and latency of the offline tiers on the dev sets, then on the project's probe set
# (never trained on: the estimate for phrasing the model has not seen).
eval: $(STAMP)
	$(VENV)/bin/warden eval ../shared/eval/dev/*.jsonl
	$(VENV)/bin/warden eval evaluation/probe/*.jsonl
	$(PY) evaluation/long_texts.py

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf cdk.out .build .pytest_cache .mypy_cache .ruff_cache
