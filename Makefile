# Two commands set everything up: `make run` and `make test`. Each installs
# what it needs into .venv first (Python 3.13, the Lambda runtime's version).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# python3.13 from pyenv when the machine has it (as ours do), else from PATH.
PYTHON313 := $(shell v=$$(pyenv versions --bare 2>/dev/null | grep -E '^3\.13(\.[0-9]+)?$$' | tail -1); \
	if [ -n "$$v" ]; then echo "$$(pyenv root)/versions/$$v/bin/python3.13"; else command -v python3.13; fi)
# sam build looks for python3.13 on PATH; the venv provides it.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= eu-west-1

.PHONY: help venv browser lint format typecheck test unit integration e2e build check-build run invoke redrive backfill-work-keys bench

help:
	@echo "make run    - run the cashier locally (local stack)"
	@echo "make test   - lint, type-check, validate the template, sam build, all tests"
	@echo "make build  - sam build into .aws-sam/"
	@echo "make redrive - move dead-lettered credits back to the credit queue"
	@echo "make backfill-work-keys - key pre-sharding items in the work index (runbook)"
	@echo "make bench  - cold start, AWS calls, warm latency, layer size -> docs/benchmarks.md"

# `make run` and `make test` started together on a fresh clone would both build
# .venv at once: one lock (flock, util-linux) lets the first build it; the other
# waits, then finds it up to date. The locked half is the same rule run again.
VENV_LOCK := .venv.lock
ifeq ($(VENV_LOCKED),1)
$(STAMP): requirements-dev.txt layers/cashier_core/requirements.txt Makefile
	@test -n "$(PYTHON313)" || { echo "python3.13 is required (the Lambda runtime's version)"; exit 1; }
	@echo "setting up $(VENV) (once, and again when requirements change): about a minute"
	@echo "  creating the virtualenv with $(PYTHON313)"
	@$(PYTHON313) -m venv $(VENV)
	@echo "  installing requirements-dev.txt: the layer's packages, moto, pytest, ruff, mypy, cfn-lint, SAM CLI, Playwright"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@# Like Lambda's /opt/python: the layer's and the providers' folders are import roots.
	@$(BIN)/python -c 'import sysconfig, pathlib; root = pathlib.Path.cwd(); \
		pathlib.Path(sysconfig.get_paths()["purelib"], "cashier.pth").write_text( \
		"".join(f"{root / d}\n" for d in ("layers/cashier_core", "providers", ".")))'
	@touch $@
	@echo "  $(VENV) is ready"
else
$(STAMP): requirements-dev.txt layers/cashier_core/requirements.txt Makefile
	@command -v flock >/dev/null || { echo "flock (util-linux) is required"; exit 1; }
	@flock --nonblock $(VENV_LOCK) true || echo "waiting for another make to finish setting up $(VENV)"
	@flock $(VENV_LOCK) $(MAKE) -s --no-print-directory VENV_LOCKED=1 $(STAMP)
endif

venv: $(STAMP)

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# checkov in its own venv: it pins boto3 and packaging below what .venv needs.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	@test -n "$(PYTHON313)" || { echo "python3.13 is required (the Lambda runtime's version)"; exit 1; }
	$(PYTHON313) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $@

lint: $(STAMP) $(CHECKOV_VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --template-file template.yaml
	@# Every finding is fixed or skipped in template.yaml with its reason.
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation --file template.yaml

typecheck: $(STAMP)
	$(BIN)/mypy layers/cashier_core/cashier_core cashier_local providers/cashier_providers
	@# Every function's module is named app, as Lambda wants; check each alone,
	@# printing only what fails (the config note is the first run's to give).
	@echo "$(BIN)/mypy functions/<each>/app.py"
	@for dir in functions/*/; do \
		out=$$($(BIN)/mypy --no-warn-unused-configs "$$dir/app.py" 2>&1) || { echo "$$out"; exit 1; }; \
	done; echo "Success: every function's app.py ($$(ls -d functions/*/ | wc -l) of them)"

# The functions carry no requirements.txt (their packages are in the layers), and
# the deploy advice is not for this Makefile's readers: both are left out.
build: $(STAMP)
	@echo "$(BIN)/sam build --template-file template.yaml --parallel --cached"
	@set -o pipefail; $(BIN)/sam build --template-file template.yaml --parallel --cached 2>&1 \
		| sed -u -e '/requirements.txt file not found/d' -e '/^Commands you can use next/,$$d'

check-build: build
	$(BIN)/python -m pytest -q -m build tests/build

# The browser test drives Debian's Chromium; the script installs it where missing.
browser:
	@scripts/ensure-chromium.sh

test: lint typecheck check-build browser
	$(BIN)/python -m pytest -q -m "not build"

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

run: $(STAMP)
	$(BIN)/python -m cashier_local.stack

# Like `sam local invoke`, without Docker: make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json
invoke: $(STAMP)
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<LogicalId> EVENT=events/<file>.json"; exit 2; }
	$(BIN)/python -m cashier_local.invoke "$(FUNCTION)" "$(EVENT)"

# Move dead-lettered credit messages back to the credit queue (docs/runbook.md).
# Against `make run` by default; in AWS: make redrive ARGS="--dlq-arn <arn>"
redrive: $(STAMP)
	$(BIN)/python -m cashier_local.redrive $(ARGS)

# Give items written before the sharded work index their work_key (docs/capacity.md).
# Against `make run` by default; in AWS: make backfill-work-keys ARGS="--table <name>"
backfill-work-keys: $(STAMP)
	$(BIN)/python -m cashier_local.backfill_work_keys $(ARGS)

# Cold start, AWS calls per operation, warm latency and layer size -> docs/benchmarks.md.
# Cold starts are measured in a venv holding only what a function has in Lambda.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: layers/cashier_core/requirements.txt providers/requirements.txt requirements-dev.txt
	$(PYTHON313) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -r layers/cashier_core/requirements.txt \
		-r providers/requirements.txt "$$(grep -E '^boto3==' requirements-dev.txt)"
	touch $@

bench: build $(BENCH_VENV)/.installed
	BENCH_PYTHON=$(BENCH_VENV)/bin/python $(BIN)/python bench/benchmark.py
