"""Figures for DARTS: cell drawings, alpha heatmaps and trajectories, training curves.

Cells are drawn with Graphviz like the figures of the DARTS paper (Liu et al.,
2019) when the `dot` program is installed, and with a matplotlib-only fallback
otherwise, so every notebook also runs on a bare machine. Functions return their
figure (a `matplotlib.figure.Figure` or a `graphviz.Digraph`) instead of showing
it: Jupyter displays a returned figure inline, and `core.figures.savefig` writes either
kind into the figures directory.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import graphviz
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath
from matplotlib.ticker import MaxNLocator

from ..core import figures
from .genotypes import Genotype, edge_index, node_name, num_edges
from .ops import PRIMITIVES

_OUTPUT = "c_{k}"


def _cell_edges(genotype: Genotype, kind: str) -> tuple[list[tuple[int, int, str | None]], int]:
    """(source, target, op) of every edge of a cell, op None for edges into the output, and the output's id."""
    gene, concat = genotype.cell(kind)
    out = 2 + len(gene) // 2  # one id past the last intermediate node
    edges = [(j, 2 + pos // 2, op) for pos, (op, j) in enumerate(gene)]
    return edges + [(n, out, None) for n in concat], out


def _role(n: int, out: int) -> str:
    return "input" if n < 2 else "output" if n == out else "node"


def plot_genotype(genotype: Genotype, kind: str = "normal", fmt: str = "png") -> graphviz.Digraph:
    """The `kind` cell as a left-to-right Graphviz digraph in the style of the DARTS paper."""
    edges, out = _cell_edges(genotype, kind)
    name = lambda n: _OUTPUT if n == out else node_name(n)  # noqa: E731
    g = graphviz.Digraph(name=f"{kind}_cell", format=fmt, engine="dot", graph_attr={"rankdir": "LR"},
                         node_attr={"style": "filled", "shape": "rect", "align": "center", "fontsize": "20",
                                    "height": "0.5", "width": "0.5", "penwidth": "2", "fontname": "times"},
                         edge_attr={"fontsize": "20", "fontname": "times"})
    for n in range(out + 1):
        g.node(name(n), fillcolor=figures.NODE_COLORS[_role(n, out)])
    for src, dst, op in edges:
        # gray, unlabelled edges into c_{k} are the concatenation, not operations
        g.edge(name(src), name(dst), **({"label": op} if op else {"color": "gray"}))
    return g


def _bezier(p0: np.ndarray, c: np.ndarray, p1: np.ndarray, t) -> np.ndarray:
    t = np.atleast_1d(t)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t ** 2 * p1


def plot_genotype_matplotlib(genotype: Genotype, kind: str = "normal", ax=None) -> Figure:
    """The `kind` cell drawn with matplotlib only (nodes in columns by depth), for machines without `dot`."""
    edges, out = _cell_edges(genotype, kind)
    depth = {0: 0, 1: 0}
    for src, dst, op in edges:  # genes list a node's inputs before any later node, so depth[src] is known
        if op is not None:
            depth[dst] = max(depth.get(dst, 1), depth[src] + 1)
    depth[out] = max(depth.values()) + 1
    columns: dict[int, list[int]] = {}
    for n in sorted(depth):
        columns.setdefault(depth[n], []).append(n)
    dx, w, h = 3.0, 1.0, 0.42  # column spacing, node box size (data units)
    pos = {n: np.array([d * dx, (len(col) - 1) / 2 - r]) for d, col in columns.items() for r, n in enumerate(col)}
    rows = max(len(col) for col in columns.values())
    if ax is None:
        fig = Figure(figsize=(0.85 * (dx * (len(columns) - 1) + w) + 0.6, 0.85 * rows + 0.9), layout="constrained")
        ax = fig.add_subplot()
    fig = ax.figure
    for n, (x, y) in pos.items():
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02",
                                    facecolor=figures.NODE_COLORS[_role(n, out)], edgecolor="black", lw=1.5, zorder=3))
        label = _OUTPUT if n == out else node_name(n)
        ax.text(x, y, f"${label}$" if n < 2 or n == out else label, ha="center", va="center", fontsize=11, zorder=4)
    for src, dst, op in edges:
        p0, p1 = pos[src] + [w / 2, 0], pos[dst] - [w / 2, 0]
        others = [pos[n] for n in pos if n not in (src, dst)]
        ctrl = (p0 + p1) / 2
        # an edge that skips a column bends until it clears the boxes it would cross
        for off in (0.0, 0.4, -0.4, 0.8, -0.8, 1.2, -1.2, 1.6, -1.6):
            pts = _bezier(p0, (p0 + p1) / 2 + [0, off], p1, np.linspace(0, 1, 60))
            if not any(((abs(pts - o) < [w / 2 + 0.1, h / 2 + 0.1]).all(axis=1)).any() for o in others):
                ctrl = (p0 + p1) / 2 + [0, off]
                break
        path = MplPath([p0, ctrl, p1], [MplPath.MOVETO, MplPath.CURVE3, MplPath.CURVE3])
        ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=12, lw=1.2,
                                     color="black" if op else "gray", zorder=2))
        if op:
            # labels sit nearer the target than the midpoint, where edges from two inputs cross
            lx, ly = _bezier(p0, ctrl, p1, 0.66)[0]
            ax.text(lx, ly, op, ha="center", va="center", fontsize=8, zorder=3,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    ax.set_xlim(-w / 2 - 0.3, max(depth.values()) * dx + w / 2 + 0.3)
    ax.set_ylim(-(rows - 1) / 2 - 0.6, (rows - 1) / 2 + 0.6)
    ax.set_axis_off()
    ax.set_title(f"{kind} cell", fontsize=11)
    return fig


def draw_genotype(genotype: Genotype, kind: str = "normal") -> graphviz.Digraph | Figure:
    """The Graphviz drawing if `dot` is installed, else (with a one-time warning) the matplotlib one."""
    if figures.dot_or_warn("the cell"):
        return plot_genotype(genotype, kind)
    return plot_genotype_matplotlib(genotype, kind)


def save_genotype(genotype: Genotype, path_without_suffix: str | Path,
                  kinds: Sequence[str] = ("normal", "reduce")) -> list[Path]:
    """Write `<stem>_<kind>.png` for each cell kind (Graphviz if available, else matplotlib); returns the paths."""
    base = Path(path_without_suffix)
    if base.suffix.lower() in (".png", ".pdf", ".svg"):  # forgive "cell.png": we add the suffix ourselves
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in kinds:
        path = base.with_name(f"{base.name}_{kind}.png")
        if figures.has_dot():
            path.write_bytes(plot_genotype(genotype, kind).pipe(format="png"))
        else:
            plot_genotype_matplotlib(genotype, kind).savefig(path, dpi=150)
        paths.append(path)
    return paths


def _to_numpy(x: Any) -> np.ndarray:
    """A float array from a torch tensor, a numpy array or (nested) lists of either."""
    if hasattr(x, "detach"):
        return x.detach().float().cpu().numpy()
    if isinstance(x, (list, tuple)) and x:
        return np.stack([_to_numpy(e) for e in x])
    return np.asarray(x, dtype=float)


def _nodes_for(shape: tuple[int, ...], ndim: int, primitives: Sequence[str], expected: str) -> int:
    """Intermediate node count for weights of `shape`; a ValueError naming both shapes otherwise."""
    edges = shape[-2] if len(shape) >= 2 else -1
    nodes = next((n for n in range(1, 64) if num_edges(n) == edges), None)
    if len(shape) != ndim or shape[-1] != len(primitives) or nodes is None:
        raise ValueError(f"weights have shape {tuple(shape)}, expected {expected} with ops = "
                         f"{len(primitives)} (one column per primitive) and edges one of 2, 5, 9, 14, 20, ... "
                         f"(a cell with 1, 2, 3, 4, 5, ... nodes)")
    return nodes


def _edge_labels(nodes: int) -> list[str]:
    return [f"{node_name(j)} -> {node_name(i)}" for j, i in edge_index(nodes)]


def plot_alpha_heatmap(weights, primitives: Sequence[str] = PRIMITIVES, title: str | None = None,
                       ax=None) -> Figure:
    """Heatmap of one cell's softmax weights, shape (edges, ops), one labelled row per edge."""
    import seaborn as sns  # imported here because seaborn pulls in pandas, which slows `import darts_lite`

    w, primitives = _to_numpy(weights), list(primitives)
    nodes = _nodes_for(w.shape, 2, primitives, "(edges, ops)")
    if ax is None:
        fig = Figure(figsize=(1.2 + 0.95 * len(primitives), 1.0 + 0.4 * w.shape[0]), layout="constrained")
        ax = fig.add_subplot()
    # Colours span the data, not [0, 1]: early in a search every weight sits near 1/ops and
    # only the ranking (what derivation uses) differs.
    sns.heatmap(w, ax=ax, annot=True, fmt=".3f", cmap="viridis", annot_kws={"fontsize": 7},
                xticklabels=primitives, yticklabels=_edge_labels(nodes), cbar_kws={"label": "softmax weight"})
    ax.set_xticklabels(primitives, rotation=40, ha="right")
    ax.set_yticklabels(_edge_labels(nodes), rotation=0)
    ax.set_xlabel("operation")
    ax.set_ylabel("edge (input -> node)")
    if title:
        ax.set_title(title)
    return ax.figure


def plot_alpha_trajectories(trajectory, primitives: Sequence[str] = PRIMITIVES, steps=None,
                            title: str | None = None, xlabel: str = "epoch") -> Figure:
    """Softmax weights over time, shape (T, edges, ops): one subplot per edge (a row per node), a line per op."""
    traj, primitives = _to_numpy(trajectory), list(primitives)
    nodes = _nodes_for(traj.shape, 3, primitives, "(T, edges, ops)")
    x = np.arange(1, traj.shape[0] + 1) if steps is None else _to_numpy(steps)
    if x.shape != (traj.shape[0],):
        raise ValueError(f"steps has shape {x.shape} but the trajectory has T = {traj.shape[0]} snapshots")
    ncols = nodes + 1  # the last node has the most inputs
    fig = Figure(figsize=(2.4 * ncols, 1.7 * nodes + 1.0), layout="constrained")
    axes = fig.subplots(nodes, ncols, sharex=True, sharey=True, squeeze=False)
    for e, ((j, i), label) in enumerate(zip(edge_index(nodes), _edge_labels(nodes))):
        ax = axes[i - 2][j]
        for k, op in enumerate(primitives):
            ax.plot(x, traj[:, e, k], label=op, color=f"C{k % 10}", ls="-" if k < 10 else "--",
                    marker="." if len(x) <= 30 else None)
        ax.set_title(label, fontsize=9)
        ax.grid(alpha=0.3)
    for r in range(nodes):
        axes[r][0].set_ylabel("weight")
        for j in range(r + 2, ncols):  # node r has only r + 2 inputs
            axes[r][j].remove()
    for ax in axes[-1]:
        ax.set_xlabel(xlabel)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(primitives), 4), fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def plot_curves(history: list[dict], keys: Sequence[str] | None = None) -> Figure:
    """Per-epoch curves: `*_loss` keys on one axis, `*_acc` keys on another, other requested keys on a third."""
    history = list(history)
    if not history:
        raise ValueError("history is empty; expected a list of per-epoch dicts such as "
                         "{'epoch': 1, 'train_loss': 1.2, 'val_acc': 0.6}")
    if not all(isinstance(rec, dict) for rec in history):
        raise TypeError("history must be a list of dicts, one per epoch")
    available = list(dict.fromkeys(k for rec in history for k in rec))
    if keys is None:
        keys = [k for k in available if k.endswith(("_loss", "_acc"))]
    keys = [k for k in keys if k in available and k != "epoch"]  # a key no epoch logged is skipped
    if not keys:
        raise ValueError(f"no key to plot; the history has the keys {available}")
    other = [k for k in keys if not k.endswith(("_loss", "_acc"))]
    groups = {"loss": [k for k in keys if k.endswith("_loss")], "accuracy": [k for k in keys if k.endswith("_acc")],
              (other[0] if len(other) == 1 else "value"): other}
    panels = [(name, ks) for name, ks in groups.items() if ks]
    fig = Figure(figsize=(4.6 * len(panels), 3.4), layout="constrained")
    for ax, (name, ks) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        for k in ks:
            # epochs that did not log k (e.g. no validation that epoch) leave no point rather than a zero
            pts = [(rec.get("epoch", i + 1), float(rec[k])) for i, rec in enumerate(history) if rec.get(k) is not None]
            xs, ys = zip(*pts)
            ax.plot(xs, ys, label=k, marker="o" if len(pts) <= 30 else None, ms=4)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    return fig
