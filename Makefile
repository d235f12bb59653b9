# biomark: two commands on a fresh machine — `make report` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
VPY       := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
# Python >= 3.12 is required (PyMC 6, ArviZ 1.x). Prefer pyenv's 3.12.x, then any python3.12/3.13 on PATH.
PYTHON312 ?= $(shell { ls -d "$$(pyenv root 2>/dev/null)"/versions/3.12.*/bin/python 2>/dev/null | sort -V | tail -n 1; command -v python3.12; command -v python3.13; } | head -n 1)
# Debian packages the report and its tests need: WeasyPrint's Pango, poppler (pdftotext/pdftoppm), Chromium, fonts.
APT_PKGS  := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils chromium fonts-dejavu-core
APT_BINS  := pdftotext pdftoppm chromium
SYS_STAMP := $(VENV)/.sysdeps
export PYTENSOR_FLAGS ?= base_compiledir=$(HOME)/.cache/biomark-pytensor
export MPLBACKEND := Agg

.PHONY: help venv sysdeps test test-slow lint report families bench clean

help:
	@echo "make report    - set up .venv and build the outcome-family report on the embedded dataset"
	@echo "make test      - set up .venv and run lint, type, layer checks and the default test suite"
	@echo "make test-slow - the slow recovery/calibration tier"
	@echo "make bench     - benchmarks against NiMARE (own venv, on demand)"

$(SYS_STAMP):
	@mkdir -p $(VENV)
	@missing=""; for b in $(APT_BINS); do command -v $$b >/dev/null 2>&1 || missing=1; done; \
	for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "biomark: installing system packages: $(APT_PKGS)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PKGS) >/dev/null) \
	      || { echo "biomark: could not install $(APT_PKGS) with apt-get; install them and re-run make" >&2; exit 1; }; \
	  elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PKGS) >/dev/null \
	      || { echo "biomark: could not install $(APT_PKGS); install them and re-run make" >&2; exit 1; }; \
	  else \
	    echo "biomark: missing system packages ($(APT_PKGS)) and no apt-get/root to install them" >&2; exit 1; \
	  fi; \
	fi
	@touch $@

sysdeps: $(SYS_STAMP)

$(STAMP): pyproject.toml | $(SYS_STAMP)
	@if [ -z "$(PYTHON312)" ]; then echo "biomark: no Python >= 3.12 found (looked under pyenv and PATH); install one" >&2; exit 1; fi
	@[ -x $(VPY) ] || { echo "biomark: creating $(VENV) with $(PYTHON312)"; $(PYTHON312) -m venv $(VENV); }
	@$(VPY) -m pip install -q --upgrade pip
	@$(VPY) -m pip install -q -e '.[dev]'
	@touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check biomark tests benchmarks
	$(VENV)/bin/ruff format --check biomark tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: lint
	$(VENV)/bin/python -m pytest -q

test-slow: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m slow

report: $(STAMP)
	@if $(VENV)/bin/biomark report --help >/dev/null 2>&1; then \
	  $(VENV)/bin/biomark report --family outcome; \
	else \
	  echo "biomark: 'biomark report' is not built yet; running the parts that exist:"; \
	  $(VENV)/bin/biomark data validate data/embedded && $(VENV)/bin/biomark families; \
	  if $(VENV)/bin/biomark ale --help >/dev/null 2>&1; then echo "(ALE: see 'biomark ale --help')"; \
	  else echo "missing: ALE engine (biomark ale), peak-shift models (biomark shift), report (biomark report)"; fi; \
	fi

families: $(STAMP)
	$(VENV)/bin/biomark families

bench:
	bash benchmarks/run.sh

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
