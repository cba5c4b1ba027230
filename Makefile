# padron: two commands for a fresh machine -- `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
EXTRAS ?= face,fingerprint,test

.PHONY: setup demo test lint typecheck check clean browser

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24" "setuptools>=69,<81" wheel
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.installed-*
	@touch $@

setup: $(STAMP)

demo: setup
	$(VENV)/bin/padron demo

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: setup
	$(VENV)/bin/mypy

check: lint typecheck

# Debian's chromium and chromium-driver for the console's browser tests (tests/web/browser), when
# missing (CI runs as root). Playwright drives this chromium; it never downloads a browser.
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing chromium and chromium-driver (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium chromium-driver >/dev/null; }

# The whole suite, against SQLite and against a throwaway PostgreSQL server started here
# (as the `postgres` user, on 127.0.0.1) and stopped afterwards, also on failure; the browser
# tests must run (PADRON_REQUIRE_BROWSER=1), not skip. Screenshots land in test-artifacts/.
test: setup browser
	$(MAKE) --no-print-directory check
	PADRON_REQUIRE_POSTGRES=1 PADRON_REQUIRE_BROWSER=1 scripts/with-postgres.sh $(VENV)/bin/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) padron-data .pytest_cache .mypy_cache .ruff_cache .hypothesis test-artifacts
