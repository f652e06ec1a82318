# darts-lite: `make demo` (the main job) and `make test` (what CI runs).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: help demo test notebooks links site install install-test graphviz chromium clean

help:
	@echo "make demo   - create $(VENV), install darts_lite, run a DARTS search end to end (<10 min on a CPU)"
	@echo "make test   - install test dependencies, check the import layering, run every test and notebook"
	@echo "make notebooks - execute every notebook in place at its CPU defaults (about 30 min on 2 cores)"
	@echo "make links  - rewrite the notebooks' Colab badges and install guards from pyproject.toml"
	@echo "make site   - render the README and the executed notebooks into an HTML book: build/site/"
	@echo "make clean  - remove runs/ and caches (keeps $(VENV))"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

install: $(PY)
	$(PIP) install -q -e .

install-test: $(PY)
	$(PIP) install -q -e ".[test,notebooks,site]"

# The `dot` program renders the cell drawings; without it darts_lite falls back to matplotlib.
graphviz:
	@if command -v dot >/dev/null 2>&1; then \
	  echo "graphviz: dot found"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && apt-get install -y -qq graphviz >/dev/null) \
	    || echo "graphviz: install failed; cell drawings will use the matplotlib fallback"; \
	else \
	  echo "graphviz: 'dot' not found; cell drawings use the matplotlib fallback."; \
	  echo "  install it with: sudo apt-get install graphviz | conda install graphviz | brew install graphviz"; \
	fi

# Headless Chromium, for the test that opens the HTML book as a reader would.
chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then \
	  echo "chromium: found"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	    || echo "chromium: install failed; the browser test of the HTML book will be skipped"; \
	else \
	  echo "chromium: not found; the browser test of the HTML book will be skipped."; \
	  echo "  install it with: sudo apt-get install chromium"; \
	fi

demo: install graphviz
	$(PY) -m darts_lite demo

# lint-imports checks the layering contracts of pyproject.toml ([tool.importlinter]) first.
test: install-test graphviz chromium
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

# Executed notebooks are committed: refresh them (and their figures/) after changing a notebook or the
# library. HANDS11K_ROOT names the 11K Hands folder for 01 and 07 (default: the mini set beside the repo).
# One notebook: make notebooks NB=05
notebooks: install-test graphviz
	$(PY) tools/notebooks.py execute $(NB)

links: install-test
	$(PY) tools/notebooks.py links

site: install-test
	$(PY) tools/site.py build/site

clean:
	rm -rf runs notebooks/runs .pytest_cache
