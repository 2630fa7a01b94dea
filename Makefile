# Every target installs what it needs: a fresh clone only needs python3 (3.11) and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.requirements-installed
STACK   ?= dev
PYTEST_ARGS ?= -n 2 -p no:cacheprovider

# Local data plane ports (0 = pick a free one).
CH_PORT   ?= 18123
EDGE_PORT ?= 18443
API_PORT  ?= 18080

.PHONY: help venv run test lint typecheck unit plan bench bench-ingest bench-api bench-backfill clean

help:
	@echo "make run                 the whole data plane locally (ClickHouse engine + mTLS Caddy edge + API)"
	@echo "make test                ruff, mypy and every test (what CI runs)"
	@echo "make plan STACK=dev|prod the real Pulumi program under the mock runtime, offline"
	@echo "make bench               every benchmark (ratios against baselines measured in the same run)"
	@echo "make bench-api           API latency: warm handler, 60 s load at 100 req/s, cold init (BENCH_API_ARGS=...)"
	@echo "make bench-backfill      backfill ledgers/s (1 and 2 workers, fan-out fn) and the full-history projection"
	@echo "  variables: CH_PORT=$(CH_PORT) EDGE_PORT=$(EDGE_PORT) API_PORT=$(API_PORT) PYTEST_ARGS=..."

$(STAMP): requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m local.dataplane --clickhouse-port $(CH_PORT) --edge-port $(EDGE_PORT) --api-port $(API_PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

unit: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# pytest exits 5 when it collects nothing; make treats it as the failure it is.
test: lint typecheck unit

plan: $(STAMP)
	$(PY) -m offline.plan --stack $(STACK) $(PLAN_ARGS)

# Benchmarks print ratios against a baseline measured in the same run; tests never assert timings.
bench: bench-ingest bench-api bench-backfill

bench-ingest: $(STAMP)
	$(PY) -m bench.ingest

# e.g. make bench-api BENCH_API_ARGS="--duration 10 --rate 50" for a quick run
bench-api: $(STAMP)
	$(PY) -m bench.api $(BENCH_API_ARGS)

# e.g. make bench-backfill BENCH_BACKFILL_ARGS="--passes 8 --json"
bench-backfill: $(STAMP)
	$(PY) -m bench.backfill $(BENCH_BACKFILL_ARGS)

clean:
	rm -rf .local .pytest_cache .mypy_cache .ruff_cache
