# Every target depends on `setup`, which is a no-op once .venv/ matches pyproject.toml and scripts/setup.sh.
VENV := .venv
PY := $(VENV)/bin/python
RLKD := $(VENV)/bin/rlkd

.PHONY: setup test test-all demo lint format clean

setup:
	@bash scripts/setup.sh

test: setup
	$(PY) -m pytest -q

test-all: setup
	$(PY) -m pytest -q -m "not gpu"

demo: setup
	$(RLKD) demo

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

clean:
	rm -rf runs/ .pytest_cache
