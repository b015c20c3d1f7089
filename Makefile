# lmsdrive — every target installs what it needs itself (a local .venv).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint demo bench llama-server snapshots mutate clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check lmsdrive tests bench tools
	$(BIN)/ruff format --check lmsdrive tests bench tools
	$(BIN)/mypy

# The demo also shows LM Studio's HTTP side against the real llama.cpp server: built once
# per machine (cached); if that build fails the demo still runs and says it skipped that part.
demo: $(STAMP)
	-tools/llama-server.sh > /dev/null
	$(BIN)/python -m lmsdrive.demo

bench: $(STAMP)
	$(BIN)/python bench/run.py

# The real llama.cpp server (llama-cpp-python[server]) for the LM Studio HTTP tests:
# compiled once per machine and cached under $${LMSDRIVE_CACHE:-~/.cache/lmsdrive}.
llama-server:
	tools/llama-server.sh

# Re-record syrupy snapshots after a deliberate parser change; review the diff like code.
snapshots: $(STAMP)
	$(BIN)/python -m pytest -q tests/test_fixtures.py --snapshot-update

# Mutation testing (mutmut 3, [tool.mutmut] in pyproject.toml): the modules where a wrong answer
# reaches a user, against the fast tests, niced on one child; mutants live in mutants/.
# MUTANTS='lmsdrive._schema*' narrows it; `$(BIN)/mutmut show NAME` shows one survivor.
MUTANTS ?=
mutate: $(STAMP)
	nice -n 10 $(BIN)/mutmut run --max-children 1 $(MUTANTS)
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) .venv-bench .pytest_cache .mypy_cache .ruff_cache .hypothesis mutants
