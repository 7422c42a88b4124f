# Témoin: `make demo` and `make test` work on a fresh Debian machine (root or sudo).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
# The main job (temoin itself, make demo, make install): gnupg: crypto; git: the case
# repository; python3-venv: the virtualenv; poppler-utils: the PDF gate reads bulletins with
# pdftotext/pdfinfo; libpoppler-cpp-dev, pkg-config, g++: to build the `pdftotext` binding,
# with which the PDF gate reads a bulletin's text in process; fonts-dejavu-core: the Unicode
# font embedded in bulletin PDFs.
APT_RUNTIME := gnupg git python3-venv poppler-utils libpoppler-cpp-dev pkg-config g++ \
	fonts-dejavu-core
# make test only: chromium: browser tests; dovecot-imapd: the test IMAP server; zbar-tools:
# decode the QR code; openssl: test TLS certificates.
APT_TEST := chromium dovecot-imapd zbar-tools openssl
# Seconds to wait for another apt/dpkg to release its lock before giving up.
APT_LOCK_TIMEOUT ?= 300
# make install: venv in $(PREFIX)/lib/temoin, the command in $(PREFIX)/bin.
PREFIX ?= $(if $(filter 0,$(shell id -u)),/usr/local,$(HOME)/.local)
BUNDLE ?= dist/temoin-offline
# pytest-xdist workers (one per core); tests sharing an expensive fixture stay on one worker
# (xdist groups, set in tests/conftest.py).
TEST_JOBS ?= auto
# make bench: options of scripts/bench/run.py, e.g. BENCH_ARGS="--sizes 200,1000".
BENCH_ARGS ?=

.PHONY: help system system-test venv venv-test demo install offline-bundle test test-slow lint \
	typecheck bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

system: ## Install missing system packages for Témoin itself (waits for a busy apt lock)
	@APT_LOCK_TIMEOUT=$(APT_LOCK_TIMEOUT) bash scripts/apt_install.sh $(APT_RUNTIME)

system-test: system ## Install missing system packages the test suite needs too
	@APT_LOCK_TIMEOUT=$(APT_LOCK_TIMEOUT) bash scripts/apt_install.sh $(APT_TEST)

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed ## Create .venv with Témoin (runtime dependencies only)

venv-test: $(VENV)/.installed-dev ## Add the test and lint tools to .venv

demo: system venv ## Build the fictional demo site into site/ and run the end-to-end demo
	@bash scripts/demo.sh

install: system ## Put `temoin` on PATH (a venv in PREFIX/lib/temoin; PREFIX=/usr/local as root, else ~/.local)
	@bash scripts/install.sh --prefix $(PREFIX)

offline-bundle: ## Folder that installs Témoin with no network (wheels, fonts, SHA256SUMS, install.sh) into BUNDLE
	@bash scripts/offline_bundle.sh $(BUNDLE)

# Byte-compiled first: where PYTHONDONTWRITEBYTECODE is set, each of the suite's hundreds of
# `temoin` subprocesses would otherwise compile every module it imports (~0.1 s of CPU each).
test: system-test venv-test ## Run the test suite in parallel (real gpg, mkdocs, dovecot, chromium); slow ones: make test-slow
	$(PY) -m compileall -q src
	$(VENV)/bin/pytest -q -n $(TEST_JOBS) --dist loadgroup --durations=30 -m "not slow"

test-slow: system-test venv-test ## The slow tests: the offline bundle (builds its wheels from PyPI) and the 1,000-case page-size check
	$(VENV)/bin/pytest -q -n $(TEST_JOBS) --dist loadgroup -m slow

lint: venv-test ## ruff
	$(VENV)/bin/ruff check src tests scripts

typecheck: venv-test ## mypy
	$(VENV)/bin/mypy

bench: system venv ## Benchmarks (scripts/bench/): first build, rebuild, baseline, ingest; writes docs/benchmarks.md
	$(PY) scripts/bench/run.py $(BENCH_ARGS)

clean: ## Remove build outputs (keeps .venv)
	rm -rf site artifacts dist .pytest_cache .mypy_cache .ruff_cache
