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

# The suite runs in TEST_WORKERS processes (pytest-xdist), each test file whole in one of them (its
# module fixtures made once); many tests wait on a fake Telegram or a paced sender, so three share two
# cores well. TEST_WORKERS=0 runs it in this process.
TEST_WORKERS ?= 3

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

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
