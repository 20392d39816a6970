# servekit developer commands. The README's two set-up commands are `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
PORT ?= 8000
ARGS ?=
# jsii warns on every synth that Node 20 is past end of life; the CDK works with it.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: setup setup-test run test pytest lint format models layer synth bench clean

setup:                ## Python environment + example models
	scripts/setup.sh run

setup-test:           ## ...plus the CDK CLI (npm), the Lambda layer and the test tools
	scripts/setup.sh test

run: setup            ## serve the API on http://127.0.0.1:$(PORT) with the example models
	.venv/bin/servekit serve --port $(PORT) $(ARGS)

test: setup-test lint pytest  ## everything CI runs

pytest:               ## the test suite; "no tests collected" (exit 5) counts as a failure
	@$(PY) -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

lint:                 ## ruff (lint + format check) and mypy --strict
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

models:               ## (re)build the example ONNX models when their inputs changed
	$(PY) models/build.py --out models/artifacts --if-changed

layer:                ## build (or reuse) the Lambda layer for the configured architecture
	$(PY) layers/build_layer.py

synth: setup-test     ## synthesize the CloudFormation templates into cdk.out/
	npx cdk synth --quiet

bench:                ## every benchmark; each prints its figures as a JSON last line
	@for script in bench/[!_]*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache build
