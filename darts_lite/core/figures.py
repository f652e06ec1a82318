"""What every drawing of the library shares: the figures directory, `savefig`, Graphviz detection, colours.

Drawings are made with Graphviz when its `dot` program is installed and with matplotlib
otherwise, so every notebook also runs on a bare machine; `dot_or_warn` makes that choice and
says once per session what to install.
"""
from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import graphviz

INSTALL_HINT = ("install the Graphviz `dot` program (the `graphviz` Python package alone cannot render): "
                "`apt-get install graphviz` (Colab: `!apt-get install -y graphviz`), "
                "`conda install graphviz` or `brew install graphviz`")

#: The colours of the DARTS paper figures (darkseagreen2, lightblue, palegoldenrod), for inputs,
#: inner nodes and outputs of any drawn graph (cells, DAG blocks), in both renderers.
NODE_COLORS = {"input": "#b4eeb4", "node": "#add8e6", "output": "#eee8aa"}
_warned_no_dot = False  # dot_or_warn warns once per session, not once per drawing


def has_dot() -> bool:
    """Whether the Graphviz `dot` executable is on PATH."""
    return shutil.which("dot") is not None


def dot_or_warn(what: str) -> bool:
    """True if `dot` can render; else False, with a one-time warning that `what` falls back to matplotlib."""
    global _warned_no_dot
    if has_dot():
        return True
    if not _warned_no_dot:
        warnings.warn(f"Graphviz `dot` not found, drawing {what} with matplotlib instead; for the "
                      f"paper-style drawing {INSTALL_HINT}", RuntimeWarning, stacklevel=3)
        _warned_no_dot = True
    return False


def figures_dir(directory: str | Path | None = None) -> Path:
    """The (created) figures directory: `directory`, $DARTS_LITE_FIGURES, ./figures, ../figures, else ./figures."""
    if directory is not None:
        path = Path(directory)
    elif os.environ.get("DARTS_LITE_FIGURES"):
        path = Path(os.environ["DARTS_LITE_FIGURES"])
    else:
        # notebooks run from notebooks/, so the repository's figures/ is one level up
        path = next((p for p in (Path("figures"), Path("../figures")) if p.is_dir()), Path("figures"))
    path = path.expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def savefig(fig, name: str, directory: str | Path | None = None, dpi: int = 150) -> Path:
    """Write a matplotlib Figure or a graphviz graph to `figures_dir(directory)/name` (`.png` by default)."""
    path = figures_dir(directory) / name
    if not path.suffix:
        path = path.with_name(path.name + ".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(fig, (graphviz.Digraph, graphviz.Graph, graphviz.Source)):
        if not has_dot():
            raise RuntimeError(f"cannot render the graphviz figure {name!r}: the `dot` program is missing; "
                               f"{INSTALL_HINT}. Or save the matplotlib fallback of the drawing "
                               "(darts.viz.plot_genotype_matplotlib, dag_blocks.viz.plot_dag_matplotlib)")
        if not isinstance(fig, graphviz.Source):
            fig = fig.copy()
            fig.attr(dpi=str(dpi))
        path.write_bytes(fig.pipe(format=path.suffix[1:]))
    elif hasattr(fig, "savefig"):
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    else:
        raise TypeError(f"savefig expects a matplotlib Figure or a graphviz Digraph, got {type(fig).__name__}")
    return path
