# Each target creates .venv and installs the project when needed, so that a fresh clone
# needs one command for each.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test run demo bench lint clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

run: $(STAMP)
	$(BIN)/pitstop run

demo: $(STAMP)
	$(BIN)/pitstop demo

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/pip install --quiet 'ruff>=0.6,<1' 'mypy>=1.10,<2'
	$(BIN)/ruff check bot tests bench
	$(BIN)/mypy bot

clean:
	rm -rf $(VENV) .pytest_cache
