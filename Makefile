# The two commands: `make run` and `make test`. Both work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint fix bench clean db-stop assets browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# htmx, SortableJS and Swagger UI (for /docs) come from npm (package-lock.json); their dist files
# are also committed under web/static/vendor/, so a machine without npm still serves the UI.
assets:
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --silent && npm run --silent vendor || echo "assets: npm failed; keeping the committed copies in src/bettercallsold/web/static/vendor/"; else echo "assets: no npm; using the committed copies in src/bettercallsold/web/static/vendor/"; fi

# Debian's chromium for the browser tests (installed when missing and we may install packages).
browser:
	bash scripts/ensure-browser.sh

run: install assets
	$(BIN)/bcs migrate
	$(BIN)/bcs demo
	$(BIN)/bcs serve

test: install assets browser
	$(BIN)/pytest

lint: install
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_table_ownership.py src/bettercallsold

fix: install
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

bench: install
	$(BIN)/python -m bench

db-stop: install
	$(BIN)/bcs db stop

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
