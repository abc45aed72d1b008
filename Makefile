# Two commands a newcomer needs: `make run` and `make test`. Everything else is a convenience.
# Every install comes from uv.lock (README, "Dependencies"), through the uv release that
# pyproject.toml's [tool.uv] required-version names; it lives apart in .venv/.uv so that
# `uv sync`, which removes whatever the lock does not list, never removes uv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV_VERSION := $(shell sed -n 's/^required-version = "==\(.*\)"$$/\1/p' pyproject.toml)
UV     := $(VENV)/.uv/bin/uv
UV_STAMP := $(VENV)/.uv/.installed-$(UV_VERSION)

# uv uses the venv made from $(PYTHON) and never downloads a Python build of its own.
export UV_PYTHON_DOWNLOADS := never

.PHONY: run test lint lock-check lock typecheck pytest migrate clean

$(UV_STAMP):
	test -f $(VENV)/pyvenv.cfg || $(PYTHON) -m venv $(VENV)
	$(PYTHON) -m venv $(VENV)/.uv
	$(VENV)/.uv/bin/pip install --quiet --disable-pip-version-check 'uv==$(UV_VERSION)'
	touch $@

# The runtime set and the dev extra at uv.lock's versions, each file checked against its hash;
# `--locked` stops here if the lock no longer matches pyproject.toml.
$(STAMP): $(UV_STAMP) pyproject.toml uv.lock
	$(UV) sync --locked --extra dev
	touch $@

run: $(STAMP) ## start the service on the embedded SQLite database at http://127.0.0.1:8000
	@echo "namecase: starting on http://127.0.0.1:8000 (embedded SQLite at ./namecase.db; Ctrl+C stops)"
	$(BIN)/namecase serve --host 127.0.0.1 --port 8000

test: lock-check lint typecheck pytest ## the lock, ruff, hadolint, mypy --strict and the whole test suite

lock-check: $(UV_STAMP) ## fail when uv.lock no longer matches pyproject.toml (a changed range, say)
	@$(UV) lock --check || { echo "uv.lock does not match pyproject.toml: run 'make lock'" \
	  "(or '$(UV) lock' to change only what pyproject.toml changed) and commit uv.lock" >&2; exit 1; }

lock: $(UV_STAMP) ## refresh uv.lock: every package at its newest release inside pyproject.toml's ranges
	$(UV) lock --upgrade

lint: $(STAMP)
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations
	$(BIN)/hadolint Dockerfile

typecheck: $(STAMP)
	$(BIN)/mypy --strict

pytest: $(STAMP)
	$(BIN)/pytest -q

migrate: $(STAMP)
	$(BIN)/namecase migrate

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis namecase.db namecase.key
