# darts-lite: `make demo` (the main job) and `make test` (what CI runs).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip

.PHONY: help demo test notebooks results links site install install-test graphviz chromium clean ground-truth score nulls benchmarks

help:
	@echo "make demo   - create $(VENV), install darts_lite, run a DARTS search end to end (<10 min on a CPU)"
	@echo "make test   - install test dependencies, check the import layering, run every test and notebook"
	@echo "make notebooks - execute every notebook in place at its CPU defaults (about 22 min on 2 cores)"
	@echo "make results - write the notebooks' measured results into the README, docs/ and their Summaries"
	@echo "make links  - rewrite the notebooks' Colab badges and install guards from pyproject.toml"
	@echo "make ground-truth - rebuild the ground-truth table data/ground_truth/ (every cell trained; resumable, ~16 min on 2 cores)"
	@echo "make score  - score every search method on it over 3 seeds, with their shuffled-label nulls (~16 min)"
	@echo "make nulls  - measure the null of the demo's search (its kept weight on shuffled labels, 3 seeds)"
	@echo "make benchmarks - run every script of benchmarks/ at its defaults: JSON lines into build/benchmarks/"
	@echo "make site   - render the README, docs/ and the executed notebooks into an HTML book: build/site/"
	@echo "make clean  - remove runs/, build/ (the book, notebook work folders) and caches (keeps $(VENV))"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

install: $(PY)
	$(PIP) install -q -e .

install-test: $(PY)
	$(PIP) install -q -e ".[test,notebooks,site]"

# $(call found_or_apt,COMMAND,PACKAGE,WITHOUT IT,HOW TO INSTALL): say COMMAND is there, else install the
# Debian PACKAGE with apt-get when root, else say what goes missing without it and how to install it.
define found_or_apt
	@if command -v $(1) >/dev/null 2>&1; then \
	  echo "$(2): $(1) found"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  (apt-get update -qq && apt-get install -y -qq $(2) >/dev/null) || echo "$(2): install failed; $(3)"; \
	else \
	  echo "$(2): '$(1)' not found; $(3). Install it with: $(4)"; \
	fi
endef

# The `dot` program renders the cell drawings; without it darts_lite falls back to matplotlib.
graphviz:
	$(call found_or_apt,dot,graphviz,cell drawings use the matplotlib fallback,sudo apt-get install graphviz | conda install graphviz | brew install graphviz)

# Headless Chromium, for the test that opens the HTML book as a reader would.
chromium:
	$(call found_or_apt,chromium,chromium,the browser test of the HTML book is skipped,sudo apt-get install chromium)

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

# The ground truth (notebook 08). Each writes into data/ what is committed there; run them after changing
# the space, the recipe or a search method, then `make notebooks NB=08`.
ground-truth: install
	$(PY) -m darts_lite bench

score: install
	$(PY) -m darts_lite score

nulls: install
	$(PY) -m darts_lite null --demo

# Time the hot paths and check the CPU kernels on this machine (docs/benchmarks.md says what each measures).
# Each script prints JSON lines; they land in build/benchmarks/NAME.jsonl. Run on an otherwise idle machine.
BENCHMARKS := $(wildcard benchmarks/*.py)
benchmarks: install
	@mkdir -p build/benchmarks
	@for script in $(BENCHMARKS); do \
	  name=$$(basename $$script .py); echo "benchmarks/$$name.py -> build/benchmarks/$$name.jsonl"; \
	  $(PY) $$script > build/benchmarks/$$name.jsonl || exit 1; \
	done

# Fill the generated blocks of the README, docs/ and the notebooks' Summaries from the committed results.
results: install-test
	$(PY) tools/results.py

links: install-test
	$(PY) tools/notebooks.py links

site: install-test
	$(PY) tools/site.py build/site

clean:
	rm -rf runs notebooks/runs build .pytest_cache
