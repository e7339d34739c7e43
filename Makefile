# The habits of this repository. `make demo` and `make test` are the README's two commands.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv demo serve test test-sqlite lint types contracts check bench clean

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)  ## create .venv and install the project with its dev tools

demo: venv  ## build a demo school on SQLite (CLASSLEDGER_DATABASE_URL) and serve the API
	$(BIN)/classledger demo

serve: venv  ## serve the API on the configured database
	$(BIN)/classledger serve

test: venv  ## every test, on SQLite and on a private PostgreSQL (started if needed)
	scripts/with-postgres.sh $(BIN)/pytest -q $(PYTEST_ARGS)

test-sqlite: venv  ## every test, SQLite only
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: venv  ## ruff
	$(BIN)/ruff check src tests scripts bench

types: venv  ## mypy --strict (src/ is the package classledger, seen through build/typing)
	mkdir -p build/typing && ln -sfn ../../src build/typing/classledger
	$(BIN)/mypy -p classledger

contracts: venv  ## import-linter: the layering of docs/architecture.md
	$(BIN)/lint-imports

check: lint types contracts test  ## what CI runs

BENCH_EVENTS ?= 1000000
bench: venv  ## benchmarks, ratios against this machine's raw limits (BENCH_EVENTS=200000 for a quicker replay run)
	scripts/with-postgres.sh sh -c 'export CLASSLEDGER_BENCH_POSTGRES_URL=$$CLASSLEDGER_TEST_POSTGRES_URL; \
	  $(BIN)/python bench/bench_import.py && $(BIN)/python bench/bench_books.py && \
	  $(BIN)/python bench/bench_activity.py 10000 && $(BIN)/python bench/bench_replay.py --events $(BENCH_EVENTS)'

clean:  ## remove the venv, caches and the private PostgreSQL data
	-scripts/pg-cluster.sh stop
	rm -rf $(VENV) build .pgdata .pytest_cache .mypy_cache .ruff_cache .hypothesis
