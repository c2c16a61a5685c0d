# Two commands matter: `make run` and `make test`. Each builds .venv first if it is missing or stale.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run ui test lint format db-url db-stop clean

$(STAMP): pyproject.toml setup.py
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "odds_pipeline needs Python >= 3.11; set PYTHON=python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/odds-pipeline run

ui: $(STAMP)
	$(BIN)/odds-pipeline ui

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

db-url: $(STAMP)
	$(BIN)/odds-pipeline db url

db-stop: $(STAMP)
	$(BIN)/odds-pipeline db stop

clean:
	-test -x $(BIN)/odds-pipeline && $(BIN)/odds-pipeline db stop
	rm -rf $(VENV) var
