# One command rebuilds everything from the shipped data: `make`.
# `make test` runs the test suite in the same virtualenv.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# The dashboard's browser test (marked slow) renders the page in headless
# Chromium, the Debian package `chromium`; `make test` installs it if missing.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || { command -v sudo >/dev/null 2>&1 && echo sudo -n; })

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
# panels -> reports/compliance_dashboard.html (one self-contained page)
reports: results
	$(PY) -m analysis.report
	$(PY) -m analysis.dashboard

test: $(TEST_STAMP) $(CHROMIUM)
	CHROMIUM=$(CHROMIUM) $(PY) -m pytest

# Chromium for the dashboard's browser test, installed only when missing.
$(CHROMIUM):
	@command -v apt-get >/dev/null 2>&1 || { echo "error: $(CHROMIUM) is missing and \
	apt-get is not available. Install Chromium and run make test CHROMIUM=/path/to/it." >&2; \
	exit 1; }
	@echo "Installing the Debian package chromium for the dashboard browser test"
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
	|| { $(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y chromium; } \
	|| { echo "error: could not install chromium with apt-get (needs root or \
	passwordless sudo and the Debian mirror). Run: sudo apt-get install -y chromium" >&2; \
	exit 1; }
	@test -x $(CHROMIUM) || { echo "error: chromium installed but $(CHROMIUM) is \
	missing; run make test CHROMIUM=/path/to/chromium" >&2; exit 1; }

test-fast: $(TEST_STAMP)
	$(PY) -m pytest -m "not slow"

clean:
	rm -rf data/processed results figures/*.png reports
