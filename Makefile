# Two commands for a fresh machine: `make demo` and `make test`. Each sets up what it
# needs (virtualenv, install, local Kafka broker) and reuses it on the next run.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EP     := $(BIN)/eventpipes

.PHONY: install demo test lint broker-start broker-stop clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "eventpipes needs Python 3.11 or newer; run with PYTHON=python3.11 (or newer)" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

install: $(VENV)/.installed

# The demo: a local broker (or KAFKA_BOOTSTRAP_SERVERS), a worker running
# topologies/orders.yaml, sample events put on the `orders` bus, and where each went:
# an HTTP endpoint the demo serves, a Kafka topic (input transformer), a dead-letter topic.
demo: install
	@$(EP) broker start
	@$(EP) demo

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/lint-imports
	$(BIN)/mypy

broker-start: install
	@$(EP) broker start

broker-stop: install
	@$(EP) broker stop

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .hypothesis
