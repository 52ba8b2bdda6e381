# 掌上办 backend. `make run` and `make test` work on a fresh Debian machine with Python ≥ 3.11.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test test-embedded test-server lint fmt bench schema worker migrations install graphiql chromium test-browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# GraphiQL's scripts come from the npm registry once, so that the page works without internet access.
GRAPHIQL := var/graphiql/node_modules/graphiql/graphiql.min.js
$(GRAPHIQL):
	@mkdir -p var/graphiql
	npm install --prefix var/graphiql --no-audit --no-fund --loglevel=error \
	  graphiql@3.8.3 react@18.2.0 react-dom@18.2.0 \
	  || echo "warning: GraphiQL assets not installed; the API works, the GraphiQL page will not load"

graphiql: $(GRAPHIQL)

run: install graphiql
	$(BIN)/zsb migrate
	$(BIN)/zsb seed
	$(BIN)/zsb serve

worker: install
	$(BIN)/zsb worker

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schema: install
	$(BIN)/zsb export-schema

migrations: install
	$(BIN)/python -m tortoise -c api.database.MIGRATIONS_CONFIG makemigrations

# The browser journeys (tests/browser) drive Debian's chromium through Playwright's Python package (a dev extra);
# the browser comes from apt, never from a Playwright download, with a small CJK font so that the screenshots show
# Chinese text. No npm package is needed: the H5 app and its client are dependency-free ES modules served by the API.
BROWSER_PACKAGES := chromium fonts-wqy-microhei
chromium:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo "sudo -n" ); \
	  $$SUDO apt-get update -qq </dev/null && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends -o Dpkg::Use-Pty=0 $(BROWSER_PACKAGES) </dev/null; \
	fi

# The embedded run (SQLite, fakeredis) always; with CI=true also the server run, where the test setup starts a
# real PostgreSQL and a real Redis on loopback.
test: install lint test-embedded
	@if [ "$${CI:-}" = "true" ]; then $(MAKE) --no-print-directory test-server; fi

test-embedded: install chromium
	ZSB_TEST_BACKEND=embedded $(BIN)/pytest -p no:cacheprovider

# The browser journeys alone (about a minute): screenshots and console logs land in var/test-artifacts/browser/.
test-browser: install chromium
	ZSB_TEST_BACKEND=embedded $(BIN)/pytest -p no:cacheprovider tests/browser

test-server: install
	ZSB_TEST_BACKEND=server $(BIN)/pytest -p no:cacheprovider

bench: install
	$(BIN)/python -m bench
