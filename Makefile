# The habits of this repository. `make demo` and `make test` are the README's two commands.
# `make` alone lists the targets.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv demo serve test test-sqlite lint types contracts check bench bench-compare \
        pg-start pg-stop pg-status clean

help:  ## list the targets
	@echo "make TARGET, with TARGET one of:"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'
	@echo "PYTEST_ARGS='-k money -x' passes arguments to pytest; the private PostgreSQL's port is"
	@echo "55432 (or the next free one), CLASSLEDGER_PGPORT=N chooses it: see scripts/pg-cluster.sh."

# Re-installs only when pyproject.toml changes (or the venv is new).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: $(STAMP)  ## create .venv and install the project with its dev tools

demo: venv  ## build a demo school on the configured database (CLASSLEDGER_DATABASE_URL) and serve it (PORT=N, HOST=H)
	$(BIN)/classledger demo $(if $(PORT),--port $(PORT)) $(if $(HOST),--host $(HOST))

serve: venv  ## serve the API on the configured database
	$(BIN)/classledger serve

test: venv  ## every test, on SQLite and on the private PostgreSQL (started if needed, left running)
	bash scripts/with-postgres.sh $(BIN)/pytest -q $(PYTEST_ARGS)

test-sqlite: venv  ## every test, SQLite only
	$(BIN)/pytest -q $(PYTEST_ARGS)

lint: venv  ## ruff check
	$(BIN)/ruff check src tests scripts bench

types: venv  ## mypy --strict (src/ is the package classledger, seen through build/typing), and bench/
	mkdir -p build/typing && ln -sfn ../../src build/typing/classledger
	$(BIN)/mypy -p classledger -p bench

contracts: venv  ## import-linter: the layering of docs/architecture.md
	$(BIN)/lint-imports

check: lint types contracts test  ## what CI runs: lint, types, contracts, test

BENCH_EVENTS ?= 1000000
BENCH_RUNS   ?= 3
BENCH_CLIENTS ?= 2000
BENCH_ARGS   ?=
bench: venv  ## benchmarks, ratios against this machine's raw limits, ending with one table (BENCH_EVENTS=200000 for a quicker replay run)
	bash scripts/with-postgres.sh sh -c 'export CLASSLEDGER_BENCH_POSTGRES_URL=$$CLASSLEDGER_TEST_POSTGRES_URL; \
	  $(BIN)/python bench/suite.py --runs $(BENCH_RUNS) --events $(BENCH_EVENTS) --clients $(BENCH_CLIENTS) $(BENCH_ARGS)'

bench-compare: venv  ## the benches of this checkout on REF's code and on this one, alternately, side by side (REF=f8513e7)
	@test -n "$(REF)" || { echo "make bench-compare REF=<git ref> [B=<git ref>] [BENCH_ARGS='--only bench_import']"; exit 2; }
	bash scripts/with-postgres.sh sh -c 'export CLASSLEDGER_BENCH_POSTGRES_URL=$$CLASSLEDGER_TEST_POSTGRES_URL; \
	  $(BIN)/python bench/compare.py $(REF) $(or $(B),.) --rounds $(BENCH_RUNS) --events $(BENCH_EVENTS) --clients $(BENCH_CLIENTS) $(BENCH_ARGS)'

pg-start:  ## start the private PostgreSQL cluster and print its URL
	bash scripts/pg-cluster.sh start
	@bash scripts/pg-cluster.sh url

pg-stop:  ## stop the private PostgreSQL cluster
	bash scripts/pg-cluster.sh stop

pg-status:  ## is the private PostgreSQL cluster running, where, on which port
	-bash scripts/pg-cluster.sh status

clean:  ## remove the venv, build output, caches and the private PostgreSQL cluster with its data
	-bash scripts/pg-cluster.sh destroy
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache
