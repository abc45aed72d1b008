# Two commands a newcomer needs: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest migrate emulator demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP) ## start the service on the embedded SQLite database at http://127.0.0.1:8000
	@echo "namecase: starting on http://127.0.0.1:8000 (embedded SQLite at ./namecase.db; Ctrl+C stops)"
	$(BIN)/namecase serve --host 127.0.0.1 --port 8000

test: lint typecheck pytest ## ruff, mypy --strict and the whole test suite on PostgreSQL and SQLite

lint: $(STAMP)
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

typecheck: $(STAMP)
	$(BIN)/mypy --strict

pytest: $(STAMP)
	$(BIN)/pytest -q

migrate: $(STAMP)
	$(BIN)/namecase migrate

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis namecase.db namecase.key
