"""Drawings of a DAG-wired dense block (Graphviz, or matplotlib where `dot` is missing).

Layers are drawn left to right in topological order: `x` (the network input) feeds layer 0,
layer n-1 feeds the output. Edges of length 1 are straight; skips arc over the layers they jump.
"""
from __future__ import annotations

import graphviz
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from ..core import figures
from .dag import DAG


def plot_dag(dag: DAG, title: str | None = None, fmt: str = "png") -> graphviz.Digraph:
    """The block as a left-to-right Graphviz digraph: x -> layer 0 -> ... -> layer n-1 -> out."""
    g = graphviz.Digraph(name="dag_block", format=fmt, engine="dot", graph_attr={"rankdir": "LR"},
                         node_attr={"style": "filled", "shape": "rect", "fontsize": "16", "fontname": "times",
                                    "penwidth": "2"})
    if title:
        g.attr(label=title, labelloc="t", fontsize="16")
    g.node("x", fillcolor=figures.NODE_COLORS["input"])
    for v in range(dag.n):
        g.node(f"L{v}", label=f"layer {v}", fillcolor=figures.NODE_COLORS["node"])
    g.node("out", fillcolor=figures.NODE_COLORS["output"])
    g.edge("x", "L0", color="gray")
    for i, j in dag.edges:
        g.edge(f"L{i}", f"L{j}", **({} if j - i == 1 else {"constraint": "false"}))
    for v in range(dag.n - 1):  # invisible chain keeps the layers in order even without a 1-edge
        g.edge(f"L{v}", f"L{v + 1}", style="invis")
    g.edge(f"L{dag.n - 1}", "out", color="gray")
    return g


def plot_dag_matplotlib(dag: DAG, title: str | None = None, ax=None) -> Figure:
    """The same drawing with matplotlib only: layers on a line, skips as arcs above it."""
    fig = ax.figure if ax is not None else Figure(figsize=(1.3 * (dag.n + 2), 2.4), layout="constrained")
    ax = ax or fig.subplots()
    xs = {"x": 0.0, **{v: v + 1.0 for v in range(dag.n)}, "out": dag.n + 1.0}
    labels = {"x": "x", **{v: f"L{v}" for v in range(dag.n)}, "out": "out"}
    for key, xpos in xs.items():
        role = "input" if key == "x" else "output" if key == "out" else "node"
        ax.text(xpos, 0, labels[key], ha="center", va="center", fontsize=11,
                bbox={"boxstyle": "round", "facecolor": figures.NODE_COLORS[role], "edgecolor": "black"})
    arrows = [("x", 0, "gray"), *[(i, j, "black") for i, j in dag.edges], (dag.n - 1, "out", "gray")]
    for src, dst, color in arrows:
        skip = xs[dst] - xs[src]
        ax.add_patch(FancyArrowPatch((xs[src] + 0.2, 0.08 if skip > 1 else 0), (xs[dst] - 0.2, 0.08 if skip > 1 else 0),
                                     connectionstyle=f"arc3,rad={-0.35 if skip > 1 else 0}", arrowstyle="-|>",
                                     mutation_scale=12, color=color, lw=1.3))
    ax.set_xlim(-0.6, dag.n + 1.6)
    ax.set_ylim(-0.5, 0.35 * max(dag.longest_skip, 1) + 0.4)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def draw_dag(dag: DAG, title: str | None = None) -> graphviz.Digraph | Figure:
    """Graphviz if `dot` is installed, else (warning once) the matplotlib drawing."""
    if figures.dot_or_warn("the block"):
        return plot_dag(dag, title)
    return plot_dag_matplotlib(dag, title)


def plot_dags(dags: list[DAG], titles: list[str] | None = None, columns: int = 3) -> Figure:
    """Several blocks on one matplotlib figure (e.g. the k blocks of a search)."""
    rows = int(np.ceil(len(dags) / columns))
    n = dags[0].n if dags else 2
    fig = Figure(figsize=(columns * 1.1 * (n + 2), rows * 2.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    for k, ax in enumerate(axes):
        if k < len(dags):
            plot_dag_matplotlib(dags[k], None if titles is None else titles[k], ax=ax)
        else:
            ax.set_axis_off()
    return fig
