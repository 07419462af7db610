# Queuey — build, run and ops entry points. `make` (or `make help`) lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON3 ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(VENV)/bin/pip
STAMP   := $(VENV)/.installed
REQS    := requirements.txt requirements-dev.txt

export REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: help venv install redis redis-stop run test lint fmt bench bench-peers bench-dashboard chaos chaos-hog clean

help: ## list the targets
	@echo "Queuey make targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
	  | awk 'BEGIN {FS = ":.*## "} {printf "  %-12s %s\n", $$1, $$2}'
	@echo
	@echo "Variables: PORT (make run, default 8000), REDIS_URL, PYTEST_ARGS (make test),"
	@echo "           PYTHON3 (interpreter used to create $(VENV), must be 3.11+)"

$(PY):
	@$(PYTHON3) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ needed, found " + sys.version.split()[0])'
	$(PYTHON3) -m venv $(VENV)

venv: $(PY) ## create .venv (python3 3.11+)

$(STAMP): $(REQS) | $(PY)
	$(PIP) install -r requirements-dev.txt
	@touch $@

install: $(STAMP) ## install requirements-dev.txt into .venv (only when requirements changed)

redis: ## make sure a Redis answers at REDIS_URL (starts a local one, installs it if missing)
	scripts/ensure_redis.sh

redis-stop: ## stop the Redis that `make redis` started (var/redis.pid)
	scripts/ensure_redis.sh stop

# The development stack: Debug on, plain-HTTP cookies, multi-process metrics for gunicorn.
run: export DJANGO_DEBUG ?= true
run: export DJANGO_SECURE_SSL_REDIRECT ?= false
run: export DJANGO_SECURE_COOKIES ?= false
run: export PORT ?= 8000
run: install redis ## run API (:$PORT, default 8000) + 2 worker processes + watchdog in the foreground
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_dev
	exec $(PY) scripts/run_stack.py --prometheus-dir var/prometheus

test: install ## ruff + mypy + the test suite on SQLite and on PostgreSQL (PYTEST_ARGS=... passed to pytest)
	scripts/ensure_redis.sh install
	scripts/test.sh

lint: install ## ruff check + ruff format --check + mypy (pyproject.toml [tool.mypy])
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: install ## ruff format + ruff check --fix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install redis ## run the benchmark (python -m benchmarks.run); BENCH_WITH_PEERS=1 adds bench-peers
	$(PY) -m benchmarks.run
	@if [ "$${BENCH_WITH_PEERS:-0}" = 1 ]; then $(PY) -m benchmarks.peers.run; fi

# Queuey beside Huey, SAQ, Dramatiq and BullMQ (pinned, installed under var/peers), rounds
# interleaved, each run on its own redis-server; BENCH_RUNS, BENCH_QUICK=1, BENCH_PEERS.
bench-peers: install ## Queuey vs Huey/SAQ/Dramatiq/BullMQ in one run: medians and ratios
	$(PY) -m benchmarks.peers.run

# The dashboard's pages at BENCH_JOBS rows (default 1,000,000 jobs, ~3 attempts each) in a
# database of its own (var/bench-dashboard-<jobs>.sqlite3, or queuey_bench_dash on the
# server DATABASE_URL names); the fill is kept for the next run. BENCH_ARGS=--explain.
BENCH_JOBS ?= 1000000
bench-dashboard: install ## dashboard pages' p95 at 1M jobs (DATABASE_URL picks the backend)
	scripts/ensure_redis.sh install
	$(PY) -m benchmarks.dashboard --jobs $(BENCH_JOBS) $(BENCH_ARGS)

# The soak: CHAOS_SECONDS (default 600) at 100 jobs/s with random faults, then the
# oracle's table (also written to var/chaos-report-<database>[-hog].txt). DATABASE_URL
# picks the backend (SQLite unset). The fast fault cases in tests/chaos run with `make test`.
CHAOS_SECONDS ?= 600
chaos: install ## the soak: CHAOS_SECONDS (default 600) of load + random faults, oracle's table
	scripts/ensure_redis.sh install
	CHAOS_SECONDS=$(CHAOS_SECONDS) $(VENV)/bin/pytest tests/chaos -m soak \
	  --timeout $$(( $(CHAOS_SECONDS) + 900 )) $(PYTEST_ARGS)

chaos-hog: ## the soak with a busy process per core beside it (CPU contention)
	CHAOS_HOG=1 $(MAKE) chaos

clean: ## remove caches, var/ (SQLite file, local Redis files, metrics) and collected static
	@if [ -f var/redis.pid ]; then scripts/ensure_redis.sh stop || true; fi
	rm -rf var staticfiles bench-results .pytest_cache .ruff_cache .mypy_cache
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	@echo "(kept $(VENV); remove it with: rm -rf $(VENV))"
