# pg_rrd: `make run` to try it, `make test` to check everything.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)

PG_CONFIG   := /usr/lib/postgresql/15/bin/pg_config
PGBIN       := /usr/lib/postgresql/15/bin
# Private clusters live here, one folder each.
CLUSTER_DIR ?= $(CURDIR)/.pgdata
RUN_DIR     := $(CLUSTER_DIR)/run
RUN_PORT    ?= 55414
TEST_DIR    := $(CLUSTER_DIR)/test
TEST_PORT   ?= 55415
# pgrx-tests/journal.py's clusters use this port and the next three.
JOURNAL_PORT ?= 55430
# pgrx-tests/grafana.py's cluster (.pgdata/grafana).
GRAFANA_PORT ?= 55442
# pgrx-tests/graph.py's cluster (.pgdata/graph).
GRAPH_PORT ?= 55450
PY          := /usr/bin/python3
# graphite-web and the pg_rrd finder (scripts/install-graphite.sh); its test cluster's port.
VENV        := $(CURDIR)/.venv
GRAPHITE_PORT ?= 55440
# pgrx-tests/interop.py's cluster (.pgdata/interop).
INTEROP_PORT ?= 55444
# pgrx-tests/listener.py's cluster (.pgdata/listener); the Graphite listener uses the next three.
LISTENER_PORT ?= 55446
# pgrx-tests/plproxy.py's clusters (.pgdata/plproxy): three shards, the proxy, one single node.
PLPROXY_PORT ?= 55470
# pgrx-tests/upgrade.py's cluster (.pgdata/upgrade).
UPGRADE_PORT ?= 55485
# pgrx-tests/sqlfuzz.py's cluster (.pgdata/sqlfuzz).
SQLFUZZ_PORT ?= 55460

# pgrx-tests/pgbench.py's cluster (.pgdata/pgbench).
PGBENCH_PORT ?= 55490
# Where make test's suites write their lines for docs/reliability.md (pgrx-tests/reliability.py).
RELIABILITY_DIR ?= $(CLUSTER_DIR)/reliability

TEST_ENV = PGHOST=$(TEST_DIR)/sock PGPORT=$(TEST_PORT) PGUSER=postgres PGDATABASE=pg_rrd_test PGTZ=UTC
RUN_PSQL = $(PGBIN)/psql -X -h $(RUN_DIR)/sock -p $(RUN_PORT) -U postgres -d pg_rrd

.PHONY: deps build install install-release run stop test fmt-check clippy unit fuzz pgtest \
        test-cluster regress doctest differential holes journal listener pgbench reliability-clear venv graphite grafana graph interop upgrade plproxy sqlfuzz sqlfuzz-long clean bench

deps:
	@bash scripts/install-deps.sh

build: deps
	cargo build

install: deps
	@bash scripts/install-ext.sh --debug

install-release: deps
	@bash scripts/install-ext.sh

# Build in release, install, start a private cluster, load a demo series.
run: install-release
	@bash scripts/cluster.sh start $(RUN_DIR) $(RUN_PORT)
	@$(PGBIN)/psql -X -q -h $(RUN_DIR)/sock -p $(RUN_PORT) -U postgres -d postgres -tAc \
	  "SELECT 1 FROM pg_database WHERE datname = 'pg_rrd'" | grep -q 1 || \
	  $(PGBIN)/createdb -h $(RUN_DIR)/sock -p $(RUN_PORT) -U postgres pg_rrd
	@# The background worker folds the journal of the demo database.
	@if ! $(PGBIN)/psql -X -q -h $(RUN_DIR)/sock -p $(RUN_PORT) -U postgres -d postgres -tAc \
	    "SHOW shared_preload_libraries" | grep -q pg_rrd; then \
	  $(PGBIN)/psql -X -q -h $(RUN_DIR)/sock -p $(RUN_PORT) -U postgres -d postgres \
	    -c "LOAD 'pg_rrd'" -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_rrd'" \
	    -c "ALTER SYSTEM SET pg_rrd.flush_database = 'pg_rrd'" && \
	  bash scripts/cluster.sh stop $(RUN_DIR) && bash scripts/cluster.sh start $(RUN_DIR) $(RUN_PORT); \
	fi
	@$(RUN_PSQL) -q -v ON_ERROR_STOP=1 -f scripts/demo.sql
	@echo
	@echo "pg_rrd is running. Continue with:"
	@echo "  $(RUN_PSQL)"
	@echo "Stop it with: make stop"

stop:
	@bash scripts/cluster.sh stop $(RUN_DIR)
	@bash scripts/cluster.sh stop $(TEST_DIR)

# Every suite writes its lines into RELIABILITY_DIR; reliability.py makes docs/reliability.md
# of them and fails if any line counts a failure.
test: export RELIABILITY_DIR := $(RELIABILITY_DIR)
test: reliability-clear deps fmt-check clippy unit pgtest regress doctest differential holes journal listener pgbench grafana graph graphite interop upgrade plproxy sqlfuzz
	@bash scripts/cluster.sh stop $(TEST_DIR)
	@$(PY) pgrx-tests/reliability.py
	@echo "make test: all suites passed"

reliability-clear:
	@rm -rf $(RELIABILITY_DIR) && mkdir -p $(RELIABILITY_DIR)

fmt-check:
	cargo fmt --all --check

clippy:
	cargo clippy --workspace --all-targets --features pg_rrd/pg_test -- -D warnings

# The pure core alone: no PostgreSQL, no pgrx in its dependency tree. Its integration tests
# include the replay of the fuzz corpus (crates/rrd-core/tests/corpus.rs).
unit:
	cargo test -p rrd-core --lib --tests

# Coverage-guided fuzzing of the core's parsers with AFL++ (afl.rs, stable Rust), not part of
# make test: each target FUZZ_SECONDS (default 60), niced, then new inputs minimized into
# crates/rrd-core/fuzz/corpus and crashes into crates/rrd-core/fuzz/crashes, which `unit`
# replays. Builds in target-fuzz/; scripts/install-fuzz.sh installs cargo-afl when missing.
FUZZ_SECONDS ?= 60
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh

# The pgrx test server runs as postgres and makes its data folder here.
pgtest:
	@bash scripts/cluster.sh prepare $(CLUSTER_DIR)/pgrx-test
	cargo pgrx test pg15 --runas postgres --pgdata $(CLUSTER_DIR)/pgrx-test

test-cluster: install
	@bash scripts/cluster.sh start $(TEST_DIR) $(TEST_PORT)
	@$(TEST_ENV) $(PGBIN)/psql -X -q -d postgres -c "DROP DATABASE IF EXISTS pg_rrd_test" \
	  -c "CREATE DATABASE pg_rrd_test" -c "\c pg_rrd_test" -c "CREATE EXTENSION pg_rrd"

regress: test-cluster
	@bash pgrx-tests/regress.sh $(TEST_DIR) $(TEST_PORT)

doctest: test-cluster
	@$(TEST_ENV) $(PY) pgrx-tests/doctest.py docs/*.md

# The same traces one update per call, then through the batch forms (arrays, rrd.points),
# then with a tune, resize, added or dropped archive between two halves; then rrd.explain of every
# NULL of the traces' fetches, each reason checked against the trace.
# late points: the traces shuffled inside a lateness window, against rrdtool fed in order.
differential: test-cluster
	@$(TEST_ENV) $(PY) pgrx-tests/differential.py --exact
	@$(TEST_ENV) $(PY) pgrx-tests/differential.py --exact --path mixed --rollbacks
	@$(TEST_ENV) $(PY) pgrx-tests/differential.py --exact --path many --heavy --traces 40
	@$(TEST_ENV) $(PY) pgrx-tests/alter_differential.py
	@$(TEST_ENV) $(PY) pgrx-tests/explain_differential.py --traces 100
	@$(TEST_ENV) $(PY) pgrx-tests/late_differential.py --traces 100

# Two real sessions, a cancelled batch, pg_dump and pg_restore -j 4, a hot
# standby made from the test cluster, rings at the 100M-slot limit.
holes: test-cluster
	@$(TEST_ENV) $(PY) pgrx-tests/holes.py --cluster $(TEST_DIR)

# The journal of many-series statements, on clusters of its own (.pgdata/journal-*,
# ports 55430-55433): 8 sessions of batches, one-series writers, folds, tunes and
# renames replayed on one session; kill -9 during ingest and rrd.flush(); the
# background worker; the inline fold's bound; pg_dump and a hot standby with points
# pending. JOURNAL_ARGS=--long for longer soak rounds.
journal: install
	@$(PY) pgrx-tests/journal.py --dir $(CLUSTER_DIR) --port $(JOURNAL_PORT) $(JOURNAL_ARGS)

# The Graphite listener, on a cluster of its own (.pgdata/listener, port 55446; the listener on
# 55447, moved to 55448 by a reload; 55449 receives a copy of collectd's lines): 500 series over
# 4 connections against a replay through rrd.update, every refusal counter, the rules, the
# connection limit, fairness between senders, 2,000,000 lines with the listener's memory
# sampled, kill -9 during a stream, a real collectd for 15 s, a reload that moves and stops it.
listener: install
	@bash scripts/install-listener-deps.sh
	@$(PY) pgrx-tests/listener.py --dir $(CLUSTER_DIR)/listener --port $(LISTENER_PORT)

# pg_rrd's writers under load from pgbench, on a cluster of its own (.pgdata/pgbench, port 55490):
# first, a write waiting for a rename, drop, drop and create or tune of its series, in each form;
# then 60 s of 8 clients on one series, 8 on a series each, 6 sending overlapping batches in
# shuffled orders and stray writers, 1 renaming, tuning, dropping and re-creating other series and
# folding: no deadlock, no error but 22008 races and 42704, every committed point replayed into a
# fresh database and every read compared, rrd.verify() clean. PGBENCH_ARGS="--seconds 300" for more.
pgbench: install
	@$(PY) pgrx-tests/pgbench.py --dir $(CLUSTER_DIR)/pgbench --port $(PGBENCH_PORT) $(PGBENCH_ARGS)

# The queries of docs/grafana.md expanded as Grafana's PostgreSQL data source expands them,
# for several ranges, panel widths and variable values, as a read-only role, and checked
# against what Grafana draws, on a cluster of its own (.pgdata/grafana, port 55442).
grafana: install
	@$(PY) pgrx-tests/grafana.py --dir $(CLUSTER_DIR)/grafana --port $(GRAFANA_PORT)

# Files of other tools in and out, on a cluster of its own (.pgdata/interop, port 55444): random
# rrdtool files imported from their dumps and compared row by row with rrdtool restore of the same
# dump, before and after both are updated further; rrd.dump restored by rrdtool; update strings;
# a real collectd's files through scripts/import-rrd; whisper 1.1.10's files; bad dumps and .wsp
# bytes refused. INTEROP_ARGS="--traces 1000" for more.
interop: install
	@bash scripts/install-interop.sh $(VENV)
	@$(VENV)/bin/python pgrx-tests/interop.py --dir $(CLUSTER_DIR)/interop --port $(INTEROP_PORT) $(INTEROP_ARGS)

# pg_rrd sharded by series name with PL/Proxy (sql/plproxy/pg_rrd_proxy.sql) against one node
# given the same calls, on clusters of their own (.pgdata/plproxy, TCP on 127.0.0.1, ports
# 55470-55474: three shards, the proxy, the single node): 300 series through every form of
# rrd.update, every read compared row for row, the spread over the shards, refusals and their
# SQLSTATEs, what a failed many-series update leaves; ingest rates with 1 and 3 shards (printed).
plproxy: install
	@bash scripts/install-plproxy.sh
	@$(PY) pgrx-tests/plproxy.py --dir $(CLUSTER_DIR)/plproxy --port $(PLPROXY_PORT) $(PLPROXY_ARGS)

# rrd.graph's SVG rendered by headless chromium (scripts/install-graph.sh) and read pixel by
# pixel, on a cluster of its own (.pgdata/graph, port 55450): series colours where known and
# none where unknown, areas and stacks, pattern and tags, labels at local hours across a DST
# change, refusals with their SQLSTATEs, rrd.sparkline against its rows.
# GRAPH_ARGS=--write-docs rewrites docs/graph/lines.png and docs/graph/stack.png.
graph: install
	@bash scripts/install-graph.sh
	@$(PY) pgrx-tests/graph.py --dir $(CLUSTER_DIR)/graph --port $(GRAPH_PORT) $(GRAPH_ARGS)

venv:
	@bash scripts/install-graphite.sh $(VENV)

# graphite-web 1.1.10 with the finder of integrations/graphite, in-process, against the same
# computations over rrd.fetch, on a cluster of its own (.pgdata/graphite, port 55440).
graphite: install venv
	@$(VENV)/bin/python pgrx-tests/graphite.py --dir $(CLUSTER_DIR)/graphite --port $(GRAPHITE_PORT)

# ALTER EXTENSION pg_rrd UPDATE from every released version (sql/released) against a fresh
# install of this one, on a cluster of its own (.pgdata/upgrade, port 55485).
upgrade: install
	@$(PY) pgrx-tests/upgrade.py --dir $(CLUSTER_DIR) --port $(UPGRADE_PORT)

# Random calls with hostile arguments over every function of schema rrd (as pg_proc lists them),
# on a cluster of its own (.pgdata/sqlfuzz, port 55460): a crash, a lost session, SQLSTATE XX, an
# empty message, a call past statement_timeout (2 s) + 1 s or a backend past 1.5 GB fails it. A
# self-test of each check and the fixed regression calls first, then 30 s of random calls; it
# prints its seed, and SQLFUZZ_ARGS="--seed S --calls N" replays a run. The regression calls are
# the defects it found (docs/reliability.md, "Findings, fixed").
sqlfuzz: install
	@$(PY) pgrx-tests/sqlfuzz.py --dir $(CLUSTER_DIR)/sqlfuzz --port $(SQLFUZZ_PORT) --seconds 30 --self-test $(SQLFUZZ_ARGS)

# The same for 20 minutes, not in make test (SQLFUZZ_ARGS="--calls N" for a number of calls).
sqlfuzz-long: install
	@$(PY) pgrx-tests/sqlfuzz.py --dir $(CLUSTER_DIR)/sqlfuzz --port $(SQLFUZZ_PORT) --seconds 1200 $(SQLFUZZ_ARGS)

clean: stop
	cargo clean
	rm -rf $(CLUSTER_DIR)

# Benchmark: pg_rrd beside a naive table, a tgres-style schema and rrdtool, on a private
# cluster (port 55416, restarted with the settings below); prints one table and writes
# bench/results.md. BENCH_QUICK=1: small scale; BENCH_RUNS=N: runs per figure (default 3).
bench: install-release
	@bash scripts/cluster.sh start $(CLUSTER_DIR)/bench 55416
	@$(PGBIN)/psql -X -q -h $(CLUSTER_DIR)/bench/sock -p 55416 -U postgres -d postgres \
	  -c "ALTER SYSTEM SET shared_buffers = '1GB'" -c "ALTER SYSTEM SET synchronous_commit = on" \
	  -c "ALTER SYSTEM SET max_wal_size = '16GB'" -c "ALTER SYSTEM SET checkpoint_timeout = '1h'"
	@bash scripts/cluster.sh stop $(CLUSTER_DIR)/bench
	@bash scripts/cluster.sh start $(CLUSTER_DIR)/bench 55416
	@status=0; $(PY) bench/bench.py --host $(CLUSTER_DIR)/bench/sock --port 55416 || status=$$?; \
	  bash scripts/cluster.sh stop $(CLUSTER_DIR)/bench; exit $$status
