# Voices: the two commands a newcomer needs.
#   make demo   set up, load the demo data and serve http://127.0.0.1:8000
#   make test   set up and run the whole test suite
# Both are idempotent: a second run reuses the virtual environment and node_modules.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export VOICES_DATABASE_URL ?= sqlite:///./voices.db
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
ASSETS_STAMP := src/voices/web/static/vendor/.built

.PHONY: demo test setup browser serve migrate clean audit benchmarks

demo: setup migrate
	$(BIN)/voices demo
	@echo ""
	@echo "Voices is starting at http://127.0.0.1:8000"
	@echo "Sign in as admin@voices.example with the password harbour-lantern-meadow"
	@echo "Start with the published experience measures: http://127.0.0.1:8000/measure/published"
	$(BIN)/voices serve --host 127.0.0.1 --port 8000

test: setup browser
	@command -v chromium >/dev/null 2>&1 || echo "Note: Debian's chromium is not installed, so browser tests will be skipped (apt-get install -y chromium)."
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not serial" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m serial $(PYTEST_ARGS)

setup: $(PY_STAMP) $(ASSETS_STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip wheel

$(PY_STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev,scale]'
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(ASSETS_STAMP): $(NODE_STAMP) $(PY_STAMP)
	$(BIN)/voices assets
	touch $@

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here). As root
# with apt-get, install it when missing; otherwise the tests say they were skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
		&& echo "Installing Debian's chromium for the browser tests" \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } || true

migrate: setup
	$(BIN)/voices db upgrade

serve: setup migrate
	$(BIN)/voices serve

audit: setup
	$(BIN)/python tools/audit_dependencies.py

benchmarks: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) node_modules src/voices/web/static/vendor .pytest_cache
