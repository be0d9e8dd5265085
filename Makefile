# repayguard — every target bootstraps what it needs (a virtualenv with the locked dependencies).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test check lint format typecheck contracts bench serve venv browser nats redis clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set (as on CI machines)
# nothing caches it later, and every process (serve, worker, CLI, a simulation's workers)
# then compiled its imports afresh: 7.9 s to import the API and the CLI against 3.2 s.
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras --compile-bytecode --python $(PYTHON) --quiet
	@touch $@

venv: $(VENV)/.synced

demo: venv ## generate → ingest → decide → summary → serve on 127.0.0.1:8000
	$(BIN)/repayguard demo $(DEMO_ARGS)

serve: venv ## serve the API over the default data directory
	$(BIN)/repayguard serve

# The console's browser tests drive Debian's Chromium (browsers are never downloaded).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser:
	@[ -x $(CHROMIUM) ] || { echo "installing Debian's chromium for the console's browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

# The shared bus's tests use a real NATS JetStream server on 127.0.0.1:4222; started when absent.
NATS_SERVER ?= /usr/sbin/nats-server
NATS_UP := $(PYTHON) -c "import socket; socket.create_connection(('127.0.0.1', 4222), 2)"

nats:
	@$(NATS_UP) 2>/dev/null || { \
	  [ -x $(NATS_SERVER) ] || { echo "installing Debian's nats-server for the shared-bus tests"; \
	    $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nats-server >/dev/null; }; \
	  echo "starting NATS JetStream on 127.0.0.1:4222 (store in $(TOOLS)/nats)"; \
	  mkdir -p $(TOOLS)/nats; \
	  nohup $(NATS_SERVER) -a 127.0.0.1 -p 4222 -js -sd $(TOOLS)/nats >$(TOOLS)/nats/server.log 2>&1 & \
	  for _ in 1 2 3 4 5 6 7 8 9 10; do $(NATS_UP) 2>/dev/null && exit 0; sleep 1; done; \
	  echo "NATS did not start; see $(TOOLS)/nats/server.log" >&2; exit 1; }

# The rate limits' shared-storage tests use a real Redis on 127.0.0.1:6379; started when absent.
REDIS_SERVER ?= /usr/bin/redis-server
REDIS_UP := $(PYTHON) -c "import socket; s = socket.create_connection(('127.0.0.1', 6379), 2); s.sendall(b'PING\r\n'); assert s.recv(5) == b'+PONG'"

redis:
	@$(REDIS_UP) 2>/dev/null || { \
	  [ -x $(REDIS_SERVER) ] || { echo "installing Debian's redis-server for the rate-limit tests"; \
	    $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server >/dev/null; }; \
	  echo "starting Redis on 127.0.0.1:6379 (nothing kept on disk)"; \
	  mkdir -p $(TOOLS)/redis; \
	  $(REDIS_SERVER) --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
	    --dir $(TOOLS)/redis --logfile $(abspath $(TOOLS))/redis/server.log; \
	  for _ in 1 2 3 4 5 6 7 8 9 10; do $(REDIS_UP) 2>/dev/null && exit 0; sleep 1; done; \
	  echo "Redis did not start; see $(TOOLS)/redis/server.log" >&2; exit 1; }

test: venv browser nats redis ## the whole test suite (SQLite, PostgreSQL on 127.0.0.1:5432, NATS, Redis, Chromium)
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: venv
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: venv
	$(BIN)/mypy

contracts: venv
	$(BIN)/lint-imports

check: lint typecheck contracts test

# Every benchmark at a documented size (≈15 minutes on 2 quiet cores), each JSON kept in
# bench/results/<name>.json, then docs/performance.md rendered from them. BENCH_FULL=1 adds the
# 300k and 1M-borrower decide points (the 1M one alone ingests ~35M events first: an hour);
# BENCH_SMALL=1 runs every benchmark at a small size (a few minutes, for a busy machine: the
# ratios hold, the absolute rates do not).
BENCH_OUT := bench/results
ifdef BENCH_SMALL
DECIDE_SIZES := 1000 2000 5000 10000
BENCH_ARGS_ingest := --borrowers 2000 --repeat 1
BENCH_ARGS_policy := --single-calls 200000 --zen-calls 5000 --zen-batch-rows 10000 --rows 1000000 --repeat 2
BENCH_ARGS_jdm := --rows 300000 --zen-rows 5000 --repeat 2
BENCH_ARGS_scoring := --borrowers 5000 --rows 200000 --repeat 2
BENCH_ARGS_audit_privacy := --records 5000
BENCH_ARGS_online := --seconds 10
BENCH_ARGS_authorize := --borrowers 2000 --seconds 3 --repeat 1
BENCH_ARGS_propagation := --rounds 10 --borrowers 500 --seconds 3 --repeat 1
BENCH_ARGS_simulate := --borrowers 10000
else
DECIDE_SIZES := 10000 30000 100000 $(if $(BENCH_FULL),300000 1000000)
BENCH_ARGS_policy := --rows 1000000 10000000 --repeat 3
BENCH_ARGS_audit_privacy := --records 20000
BENCH_ARGS_online := --seconds 20
endif
BENCH_RUN = $(BIN)/python bench/$(1).py $(2) > $(BENCH_OUT)/$(3).json.part && \
	mv $(BENCH_OUT)/$(3).json.part $(BENCH_OUT)/$(3).json
BENCHES := ingest policy jdm scoring g1_check audit_privacy view_memory online authorize \
	propagation simulate false_alarms overlays

bench: venv nats ## benchmarks → bench/results/*.json → docs/performance.md (bench/README.md)
	@command -v wrk >/dev/null || { echo "the HTTP benchmarks need wrk: apt-get install wrk" >&2; exit 1; }
	@mkdir -p $(BENCH_OUT) && rm -f $(BENCH_OUT)/*.json
	for n in $(DECIDE_SIZES); do $(call BENCH_RUN,decide,--borrowers $$n --repeat 1,decide-$$n) || exit 1; done
	$(foreach b,$(BENCHES),$(call BENCH_RUN,$(b),$(BENCH_ARGS_$(b)),$(b)) && ) true
	$(BIN)/python bench/render.py --command "make bench$(if $(BENCH_FULL), BENCH_FULL=1)$(if $(BENCH_SMALL), BENCH_SMALL=1)"

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
