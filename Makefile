# The same commands locally and in CI. Everything installs into .venv (Python 3.11).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
API_PORT ?= 8000
DEMO_PORT ?= 7860
# Which demo front `make run` and `make demo` serve: gradio (a Hugging Face Space) or streamlit (Community Cloud).
DEMO ?= gradio

.PHONY: run test api demo install install-dev services browser lint train lock clean screenshots mutation

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Serving, the demo, and what saving a bundle needs (skl2onnx, pinned by the dev lock); then
# freeport itself, editable, so `from api.bundle import save_bundle` works from any folder.
$(VENV)/.serve: requirements.txt requirements-demo.txt requirements-dev.txt requirements/train.in pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-demo.txt
	$(BIN)/pip install --quiet -r requirements/train.in -c requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.serve requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.serve
install-dev: $(VENV)/.dev

## run: the API with the bundled models and SQLite on :$(API_PORT), and the demo beside it on :$(DEMO_PORT) (DEMO=streamlit for the Streamlit front)
run: install
	API_PORT=$(API_PORT) DEMO_PORT=$(DEMO_PORT) DEMO=$(DEMO) PATH="$(CURDIR)/$(BIN):$$PATH" scripts/run_local.sh

## api: only the API (python -m api), configured from the environment
api: install
	PORT=$(API_PORT) $(BIN)/python -m api

## demo: only the demo (DEMO=gradio|streamlit), for the API at $$API_URL (default: one running locally on :$(API_PORT))
demo: install
	API_URL=$${API_URL:-http://127.0.0.1:$(API_PORT)} DEMO_PORT=$(DEMO_PORT) PATH="$(CURDIR)/$(BIN):$$PATH" scripts/run_demo.sh $(DEMO)

## test: the whole suite, with PostgreSQL, Redis and Chromium (browser tests) provisioned first
test: install-dev services browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## mutation: mutation-test the serving core, at most MUTATION_MINUTES (60); MODULES=api.serving.batching to pick (docs/mutation.md)
mutation: install-dev services
	scripts/mutation.sh $(MODULES)

services:
	scripts/services.sh

browser:
	scripts/browser.sh

lint: install-dev
	$(BIN)/ruff check .

## train: rebuild the example bundles in models/ from packaged real data
train: install-dev
	$(BIN)/python scripts/train_examples.py

## screenshots: re-make the README's pictures (the demo on a laptop and a phone, /docs) in headless Chromium
screenshots: install-dev browser
	$(BIN)/python scripts/screenshots.py

lock:
	scripts/lock.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache freeport.db artifacts mutants .test-bundles
