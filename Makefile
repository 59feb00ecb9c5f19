# Microservices Architect: commands for working on the template itself. `make` alone lists them.
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
DEST ?= my-app
PYTEST_ARGS ?=

.PHONY: help bootstrap project test test-fast lint bench

help: ## List the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/copier: requirements-dev.txt
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

bootstrap: $(BIN)/copier ## Create .venv with Copier and the test tools (system tools: see README)

project: $(BIN)/copier ## Generate a project with the default answers from this checkout into DEST (default: my-app)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/copier copy --trust --defaults --vcs-ref HEAD . $(DEST)

test: $(BIN)/copier ## Run the template's whole test suite (generates projects and runs their gates)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-fast: $(BIN)/copier ## The suite without the slow tier
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -n 2 -m "not slow" $(PYTEST_ARGS)

lint: $(BIN)/copier ## Format check and lint of the template's own Python
	$(BIN)/ruff format --check extensions hooks scripts tests template/scripts bench
	$(BIN)/ruff check extensions hooks scripts tests template/scripts bench

bench: $(BIN)/copier ## Measure a generated system and the template; writes bench/RESULTS.md and bench/results.json
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/run.py
