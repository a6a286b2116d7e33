# Set-up and everyday commands. `make demo` and `make test` work on a fresh machine.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
PYTEST_ARGS ?= -q -n 2

.PHONY: demo test test-sqlite test-postgresql lint install clean

$(BIN)/.installed: pyproject.toml examples/acme_plugin/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' -e examples/acme_plugin
	touch $@

install: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/kliendihaldus demo

lint: $(BIN)/.installed
	$(BIN)/ruff check .

test-sqlite: $(BIN)/.installed
	KH_TEST_DATABASE=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgresql: $(BIN)/.installed
	KH_TEST_DATABASE=postgresql $(BIN)/pytest $(PYTEST_ARGS)

test: lint test-sqlite test-postgresql

clean:
	rm -rf $(VENV) var build *.egg-info
