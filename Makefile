# One command rebuilds everything from the shipped data: `make`.
# `make test` runs the test suite in the same virtualenv.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: all install panels results reports test test-fast clean

all: reports

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e ".[test]"
	touch $(STAMP)

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

test: $(STAMP)
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

clean:
	rm -rf data/processed results figures/*.png reports
