# Every target bootstraps .venv on a fresh machine that has Python 3.11+ and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export HYPOTHESIS_PROFILE ?= dev

.PHONY: demo test lint bench install clean chromium

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[web,postgres,testing]" --group dev
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/twores demo

lint: $(STAMP)
	$(BIN)/ruff check src integrations tests benchmarks
	$(BIN)/ruff format --check src integrations tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# Debian's chromium (and CJK fonts for its screenshots) for the browser tests in tests/web;
# Playwright never downloads a browser.
chromium:
	@(test -x /usr/bin/chromium && test -d /usr/share/fonts/opentype/noto) || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq chromium chromium-driver fonts-noto-cjk) || \
	  echo "WARNING: chromium could not be installed: browser tests will be skipped" >&2

# Tests run on every core (pytest-xdist): each worker's stores, schemas and ports are its own.
test: lint chromium
	$(BIN)/python -m pytest -n auto

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
