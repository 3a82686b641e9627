# astra-otel developer entry points. Two commands set everything up on a fresh clone:
#   make up    - venv + package, builds/installs the local stack on first use, starts it
#                with the demo service, prints the URLs (stop with `make down`)
#   make test  - lint, type-check and the whole test suite, end-to-end tests included
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv up down status test lint unit bench bench-oldest screenshots clean

# The exact versions CI and the demo use: constraints/default.txt (pyproject.toml has ranges).
$(STAMP): pyproject.toml constraints/default.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints/default.txt -e '.[all,demo,dev]'
	@touch $(STAMP)

venv: $(STAMP)

up: $(STAMP)
	$(BIN)/astra-otel stack up --demo

down: $(STAMP)
	$(BIN)/astra-otel stack down

status: $(STAMP)
	$(BIN)/astra-otel stack status

lint: $(STAMP)
	$(BIN)/ruff check astra_otel dashboards tests benchmarks
	$(BIN)/ruff format --check astra_otel dashboards tests benchmarks
	$(BIN)/mypy
	$(BIN)/mypy tests/typing  # the public API as users write it

# Builds or installs the stack's binaries first (cached under ~/.cache/astra-otel), so the
# long cold build prints its progress here rather than inside a test fixture.
test: lint
	$(BIN)/astra-otel stack build --browser
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest -m "not e2e"

# The HTTP benchmarks load the app with wrk from a second process (Debian package).
bench: $(STAMP)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk; }
	$(BIN)/astra-otel stack build
	$(BIN)/python -m benchmarks

# The README's screenshots: the browser test run on its own, saving them into docs/img/.
screenshots: $(STAMP)
	$(BIN)/astra-otel stack build --browser
	$(BIN)/pytest tests/e2e/test_viewer_browser.py --screenshots docs/img

# The same setup() benchmarks on the oldest supported set (SDK 1.40, contrib 0.61b0, FastAPI
# 0.100: the venv the compatibility matrix builds; this checkout's code on PYTHONPATH).
bench-oldest: $(STAMP)
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends wrk; }
	$(BIN)/astra-otel stack build
	PYTHONPATH=$(CURDIR) "$$($(BIN)/python -m tests._support.installs python oldest)" -m benchmarks --only bench_setup $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
