# Témoin: `make demo` and `make test` work on a fresh Debian machine (root or sudo).
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# gnupg: crypto; chromium: browser tests and nothing else; dovecot-imapd: the test IMAP
# server; poppler-utils: render bulletin PDFs in tests; zbar-tools: decode the QR code;
# fonts-dejavu-core: Unicode font embedded in bulletin PDFs; openssl: test TLS certificates.
APT_PACKAGES := gnupg chromium dovecot-imapd poppler-utils zbar-tools fonts-dejavu-core openssl git

.PHONY: help system venv demo test lint typecheck bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

system: ## Install missing system packages with apt-get
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

venv: $(VENV)/.installed ## Create .venv and install Témoin with its test tools

demo: system venv ## Build the fictional demo site into site/ and run the end-to-end demo
	@bash scripts/demo.sh

test: system venv ## Run the whole test suite (real gpg, mkdocs, dovecot, chromium)
	$(VENV)/bin/pytest -q

lint: venv ## ruff
	$(VENV)/bin/ruff check src tests scripts

typecheck: venv ## mypy
	$(VENV)/bin/mypy

bench: system venv ## Benchmarks (scripts/bench/): build and ingest at scale; writes docs/benchmarks.md
	$(PY) scripts/bench/run.py

clean: ## Remove build outputs (keeps .venv)
	rm -rf site artifacts .pytest_cache .mypy_cache .ruff_cache
