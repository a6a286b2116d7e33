# Set-up and everyday commands. `make demo` and `make test` work on a fresh machine.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
PYTEST_ARGS ?= -q -n 2

DEBIAN_PACKAGES := chromium fonts-dejavu-core
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test test-sqlite test-postgresql lint install system-packages clean

# Debian packages the tests need: a real browser for the end-to-end tests and a font with
# Estonian letters for PDFs. Installed once, only when missing.
system-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

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

test-sqlite: $(BIN)/.installed system-packages
	KH_TEST_DATABASE=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgresql: $(BIN)/.installed system-packages
	KH_TEST_DATABASE=postgresql $(BIN)/pytest $(PYTEST_ARGS)

test: lint test-sqlite test-postgresql

clean:
	rm -rf $(VENV) var build *.egg-info
