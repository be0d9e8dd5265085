# repayguard — every target bootstraps what it needs (a virtualenv with the locked dependencies).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test check lint format typecheck contracts bench serve venv browser nats clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-extras --python $(PYTHON) --quiet
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

test: venv browser nats ## the whole test suite (SQLite, PostgreSQL on 127.0.0.1:5432, NATS, Chromium)
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

bench: venv ## benchmarks print JSON (see bench/README.md)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/decide.py
	$(BIN)/python bench/policy.py
	$(BIN)/python bench/g1_check.py
	$(BIN)/python bench/scoring.py
	$(BIN)/python bench/jdm.py
	$(BIN)/python bench/authorize.py
	$(BIN)/python bench/propagation.py
	$(BIN)/python bench/simulate.py

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
