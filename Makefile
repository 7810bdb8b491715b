# One command rebuilds everything from the shipped data: `make`.
# `make test` runs the test suite in the same virtualenv.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: all install panels results reports test test-fast clean

all: reports

# The library and what the reports need; versions pinned by requirements.lock.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e .
	touch $(STAMP)

# Plus pytest and the peer packages the estimators are validated against.
$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c requirements.lock -e ".[test]"
	touch $(TEST_STAMP)

install: $(STAMP)

# data/raw (hash-checked) -> data/processed/*.parquet
panels: $(STAMP)
	$(PY) -m analysis.build

# panels -> results/ (estimates, saved for the reports)
results: panels
	$(PY) -m analysis.evaluate

# results -> figures/*.png and reports/*.html (notebooks executed, never re-estimating)
reports: results
	$(PY) -m analysis.report

test: $(TEST_STAMP)
	$(PY) -m pytest

test-fast: $(TEST_STAMP)
	$(PY) -m pytest -m "not slow"

clean:
	rm -rf data/processed results figures/*.png reports
