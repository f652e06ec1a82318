"""The course around the library: what each notebook found, and its exercises with their checks.

One module per notebook (`nb00` ... `nb09`). Each has

* `findings(results) -> list[str]`: the notebook's findings in plain words, computed from the
  results it records (its cell tagged `results`): beats, ties or loses against random, decided or
  undecided, replicated or not. The notebook prints them under "What we found"; `make results`
  writes them into its Summary, the README and docs/results.md, so no measured number is typed;
* `exercises`: its checkable exercises (`exercise.Exercise`), as `q1`, `q2`, ... attributes too.

`what_we_found(results)` in a notebook prints its findings; `NOTEBOOKS` maps each notebook to its module.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from . import nb00, nb01, nb02, nb03, nb04, nb05, nb06, nb07, nb08, nb09  # noqa: F401 (the notebooks' modules)
from .exercise import Exercise

NOTEBOOKS = {
    "00_quickstart": "nb00", "01_data": "nb01", "02_continuous_relaxation": "nb02",
    "03_bilevel_approximation": "nb03", "04_dag_dense_blocks": "nb04", "05_meta_kernels": "nb05",
    "06_latency_constrained_search": "nb06", "07_hand_gender_search": "nb07", "08_ground_truth": "nb08",
    "09_training_free": "nb09",
}


def module(notebook: str) -> ModuleType:
    """The course module of a notebook, by its name (`07_hand_gender_search`) or number (`07`)."""
    names = [n for n in NOTEBOOKS if n == notebook or n[:2] == notebook]
    if len(names) != 1:
        raise KeyError(f"no course notebook {notebook!r}: one of {sorted(NOTEBOOKS)} (or its number)")
    return importlib.import_module(f"{__name__}.{NOTEBOOKS[names[0]]}")


def findings(notebook: str, results: dict) -> list[str]:
    """The findings of `notebook` from its recorded results, one plain sentence each (Markdown)."""
    return module(notebook).findings(results)


def exercises(notebook: str) -> list[Exercise]:
    return list(module(notebook).exercises)


def what_we_found(notebook: str, results: dict) -> None:
    """Show the findings as a Markdown list in a notebook (printed as text elsewhere)."""
    text = "\n".join(f"- {line}" for line in findings(notebook, results))
    try:
        from IPython.display import Markdown, display
    except ImportError:  # outside Jupyter
        print(text)
        return
    display(Markdown(text))


__all__ = ["Exercise", "NOTEBOOKS", "exercises", "findings", "module", "what_we_found", *NOTEBOOKS.values()]
