# darts-lite: `make demo` (the main job) and `make test` (what CI runs).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: help demo test install install-test graphviz lint-notebooks clean

help:
	@echo "make demo   - create $(VENV), install darts_lite, run a DARTS search end to end (<10 min on a CPU)"
	@echo "make test   - install test dependencies, check the import layering, run every test and notebook"
	@echo "make clean  - remove runs/ and caches (keeps $(VENV))"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

install: $(PY)
	$(PIP) install -q -e .

install-test: $(PY)
	$(PIP) install -q -e ".[test,notebooks]"

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

demo: install graphviz
	$(PY) -m darts_lite demo

# lint-imports checks the layering contracts of pyproject.toml ([tool.importlinter]) first.
test: install-test graphviz
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

clean:
	rm -rf runs notebooks/runs .pytest_cache
