# The template repository's tasks. `make` lists them.
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
MAKEFLAGS += --no-print-directory

export MLFLOW_DISABLE_TELEMETRY := true
export DVC_NO_ANALYTICS := 1

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# Baked projects find Poetry (installed in this venv) on PATH.
export PATH := $(abspath $(VENV))/bin:$(PATH)
unexport VIRTUAL_ENV
DEMO_DIR ?= build/demo

.PHONY: help
help: ## Show the targets and what they do
	@# Colour only on a terminal, so the listing stays greppable in pipes and CI logs.
	@tty=; [ -t 1 ] && tty=1; awk -v tty="$$tty" 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf (tty ? "  \033[36m%-8s\033[0m %s\n" : "  %-8s %s\n"), $$1, $$2}' $(MAKEFILE_LIST)

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --group dev
	@touch $@

.PHONY: install
install: $(INSTALLED) ## Install the template's dev tools into .venv (pip)

.PHONY: demo
demo: $(INSTALLED) ## Bake a project with the defaults, install it, run its checks and its pipeline
	rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	$(VENV)/bin/cookiecutter . --no-input -o $(DEMO_DIR) package_index_url="$$($(PY) -m tests.index_url)"
	$(MAKE) -C $(DEMO_DIR)/tumor-classifier install lint typecheck test train metrics
	@echo "Demo project ready: $(abspath $(DEMO_DIR))/tumor-classifier (try: make -C $(DEMO_DIR)/tumor-classifier deploy)"

# One end-to-end test looks at the MLflow UI page a user lands on with a real headless Chromium.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
		{ echo "error: the end-to-end tests need Chromium: install it (Debian: apt-get install chromium)" >&2; exit 1; }

# The image test builds a bake's Dockerfile on a Debian base made by debootstrap (no Docker engine), runs it with
# podman (the runc runtime) and buildah, and pushes it to a real registry (Distribution: Debian's docker-registry).
# The newer-Python test debootstraps Debian trixie and unstable too (with Debian's keyring, which Ubuntu lacks).
IMAGE_TOOLS := buildah debootstrap podman runc docker-registry
IMAGE_PACKAGES := $(IMAGE_TOOLS) debian-archive-keyring
.PHONY: image-tools
image-tools:
	@missing=; for tool in $(IMAGE_TOOLS); do command -v $$tool >/dev/null || missing=1; done; \
		[ -z "$$missing" ] && [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && apt-get install -y -qq $(IMAGE_PACKAGES) >/dev/null; } || \
		{ echo "error: the image and Python tests need $(IMAGE_PACKAGES) (Debian: apt-get install $(IMAGE_PACKAGES))" >&2; exit 1; }

.PHONY: test
test: $(INSTALLED) chromium image-tools ## Run the template's tests: bake and hook tests, then the slow end-to-end ones
	$(PY) -m pytest -n 2 -m "not slow"
	@# One process, so the end-to-end tests share one installed bake. Each asks for the state it needs (fixtures in
	@# tests/e2e.py), so they pass in any order: `pytest -m slow --reverse` runs them all backwards.
	$(PY) -m pytest -m slow --durations=40

.PHONY: test-fast
test-fast: $(INSTALLED) ## Run only the fast bake and hook tests
	$(PY) -m pytest -n 2 -m "not slow"

.PHONY: bench
bench: $(INSTALLED) ## Run the benchmarks against the demo project (run `make demo` first)
	$(PY) bench/tracking.py
	$(PY) bench/plugin.py
	$(PY) bench/train.py
	$(PY) bench/tune.py
	$(PY) bench/serve.py
	$(PY) bench/startup.py
	$(PY) bench/ttfp.py

.PHONY: lint
lint: $(INSTALLED) ## Lint and type-check the hooks, tests and benchmarks (the generated project's rules)
	$(PY) -m ruff check hooks tests bench
	$(PY) -m black --check hooks tests bench
	$(PY) -m mypy

.PHONY: clean
clean: ## Remove the demo bake and caches (keeps .venv)
	rm -rf build .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +
