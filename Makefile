# Quick start: `make demo` and `make test` each create .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= runs/demo
PYTEST_ARGS ?=

.PHONY: demo test test-all lint install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) setup.py
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/animalpose demo --out $(OUT)

lint: $(STAMP)
	$(VENV)/bin/ruff check --output-format concise animalpose datasets ccssl wscda evaluation tests scripts
	$(VENV)/bin/lint-imports --no-cache

test: lint
	$(PY) -m pytest -q -n 2 -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2 $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) runs build *.egg-info .pytest_cache
