# bfplan — two commands: `make demo` and `make test`. Each creates .venv on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
BUCKET := data/bucket
SEED   ?= 2021

.PHONY: demo test lint bq-emulator bq-emulator-stop bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

$(BUCKET)/raw/_manifest.json: $(wildcard plugins/nba/simulate/*.py) | $(BIN)/python
	$(BIN)/python plugins/nba/simulate --out $(BUCKET) --seed $(SEED)

## demo: simulate the synthetic 2021-22 season (once), run plans/2021-nov.yaml on DuckDB, summarize
demo: $(VENV)/.installed $(BUCKET)/raw/_manifest.json
	$(BIN)/bfplan run plans/2021-nov.yaml
	$(BIN)/python plugins/nba/summary.py plans/2021-nov.yaml

## test: dev install, then pytest (the test session starts the BigQuery emulator itself)
test: $(VENV)/.installed-dev
	$(BIN)/ruff check bfplan plugins tests tools benchmarks examples
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check bfplan plugins tests tools benchmarks examples

## bq-emulator: start a BigQuery emulator on 127.0.0.1 and print BIGQUERY_EMULATOR_HOST=...
bq-emulator:
	@$(PYTHON) tools/bq_emulator.py setup >&2
	@$(PYTHON) tools/bq_emulator.py start

bq-emulator-stop:
	@$(PYTHON) tools/bq_emulator.py stop

## bench: the hand-run benchmarks (figures go in the issue notes)
bench: $(VENV)/.installed-dev $(BUCKET)/raw/_manifest.json
	$(BIN)/python benchmarks/overhead.py
	$(BIN)/python benchmarks/season.py

clean:
	rm -rf .bfplan $(VENV) .venv-bq
