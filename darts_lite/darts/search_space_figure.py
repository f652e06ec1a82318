"""The DARTS search space in one figure, after Fig. 1 of Liu, Simonyan & Yang (ICLR 2019).

(a) the search cell, a DAG whose every edge is a *mixed operation*: one thin curve per candidate,
    as wide as its softmax weight (Sec. 2.2, eq. 2); (b) the supernet, the cell stacked with
    reduction cells at 1/3 and 2/3 of the depth (Sec. 3.1); (c) the derived cell, each node keeping
    its two strongest inputs and one operation on each (Sec. 2.4).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path as MplPath

from ..core import figures
from .genotypes import DARTS_V2, Genotype, edge_index, node_name, num_edges, parse_cell, random_genotype
from .layout import check_shape, reduction_layers
from .ops import PRIMITIVES

REDUCTION_COLOR = "#f4a582"  # reduction cells in (b); normal cells take the inner-node colour


def search_space_figure(genotype: Genotype | None = None, alphas: Any = None,
                        primitives: Sequence[str] = PRIMITIVES, nodes: int = 4, layers: int = 8) -> Figure:
    """Fig. 1 of the DARTS paper for this library's search space: (a) mixed cell, (b) supernet, (c) derived cell.

    `alphas`, shape (edges, ops) with the rows in `edge_index` order (or a supernet's `alphas`, of
    which the normal cell's are drawn), sets the widths of the curves in (a); uniform without it.
    (c) draws `genotype`'s normal cell, else the cell `parse_cell` derives from `alphas`, else
    DARTS_V2, the paper's cell (for another node count or candidate list, a random cell, seed 0).
    """
    check_shape(layers=layers, nodes=nodes, multiplier=1)
    primitives = list(primitives)
    shape = (num_edges(nodes), len(primitives))
    weights = np.full(shape, 1 / len(primitives))
    if alphas is not None:
        alphas = alphas["normal"] if hasattr(alphas, "keys") else alphas
        alphas = torch.as_tensor(alphas.detach().cpu() if hasattr(alphas, "detach") else np.asarray(alphas, float))
        if tuple(alphas.shape) != shape:
            raise ValueError(f"alphas has shape {tuple(alphas.shape)}, expected {shape}: one row per edge of a "
                             f"{nodes}-node cell, one column per primitive")
        weights = torch.softmax(alphas.double(), dim=-1).numpy()
    concat = range(2, 2 + nodes)
    if genotype is not None:
        if genotype.nodes != nodes:
            raise ValueError(f"the genotype's cells have {genotype.nodes} nodes, but nodes={nodes}")
        (gene, concat), source = genotype.cell("normal"), "the genotype given"
    elif alphas is not None:
        gene, source = parse_cell(alphas, primitives), "from alphas"
    elif nodes == DARTS_V2.nodes and all(op in primitives for op, _ in DARTS_V2.normal):
        gene, source = DARTS_V2.normal, "DARTS_V2, from the paper"
    else:
        gene = random_genotype(torch.Generator().manual_seed(0), primitives, nodes).normal
        source = "a random cell, seed 0"

    fig = Figure(figsize=(14, 4.5), layout="constrained")
    ax_a, ax_b, ax_c = fig.subplots(1, 3, width_ratios=[0.95, 0.9, 1.25])
    _draw_mixed_cell(ax_a, weights, primitives, nodes)
    _draw_supernet(ax_b, layers)
    _draw_derived_cell(ax_c, gene, concat, primitives, nodes, source)
    return fig


def _arc(x0: float, x1: float, y: float, height: float) -> tuple[np.ndarray, np.ndarray]:
    """A quadratic Bezier from (x0, y) to (x1, y), its control point `height` above (below if < 0)."""
    t = np.linspace(0, 1, 40)
    return (1 - t) * x0 + t * x1, y + 2 * (1 - t) * t * height


def _height(j: int, i: int) -> float:
    """Control-point height of the arc j -> i: the longer the edge, the higher (apexes at half of it)."""
    return (i - j) + 0.2


def _draw_cell_nodes(ax, nodes: int, concat: Sequence[int]) -> None:
    """Inputs, intermediate nodes and output on a line; dashed arcs below: the output concatenates `concat`."""
    out, w, h = nodes + 2, 0.62, 0.42
    for n in range(out + 1):
        role = "input" if n < 2 else "output" if n == out else "node"
        ax.add_patch(FancyBboxPatch((n - w / 2, -h / 2), w, h, boxstyle="round,pad=0.02", lw=1.3,
                                    facecolor=figures.NODE_COLORS[role], edgecolor="black", zorder=3))
        label = node_name(n) if role == "node" else "$c_{k}$" if role == "output" else f"${node_name(n)}$"
        ax.text(n, 0, label, ha="center", va="center", fontsize=10, zorder=4)
    for n in concat:  # concatenation, not searched
        ax.plot(*_arc(n + 0.1, out - 0.1, -h / 2, -0.4 * (out - n) - 0.1), color="gray", ls="--", lw=1.1, zorder=1)
    ax.set_xlim(-0.4, out + 0.4)
    ax.set_ylim(-0.2 * nodes - 0.55, _height(0, out - 1) / 2 + 0.5)
    ax.set_aspect("equal")
    ax.set_axis_off()


def _color(k: int) -> dict:
    return {"color": f"C{k % 10}", "ls": "-" if k < 10 else "--"}


def _draw_mixed_cell(ax, weights: np.ndarray, primitives: list[str], nodes: int) -> None:
    """Every edge j -> i an arc of one curve per candidate operation, as wide as its softmax weight."""
    _draw_cell_nodes(ax, nodes, range(2, 2 + nodes))
    for e, (j, i) in enumerate(edge_index(nodes)):
        for k, op in enumerate(primitives):
            w = weights[e, k]
            offset = 0.06 * (k - (len(primitives) - 1) / 2)  # fans the curves of one edge apart
            ax.plot(*_arc(j + 0.12, i - 0.12, 0.21, _height(j, i) + offset), **_color(k), lw=0.4 + 5 * w,
                    alpha=0.35 + 0.65 * w / weights[e].max(), solid_capstyle="butt", gid=f"mixed_edge:{e}:{op}",
                    zorder=2)
    handles = [Line2D([], [], lw=2.5, label=op, **_color(k)) for k, op in enumerate(primitives)]
    handles.append(Line2D([], [], color="gray", ls="--", lw=1.1, label="concatenation\n(not searched)"))
    ax.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, handlelength=1.2, columnspacing=1.0,
              title="candidate operations", title_fontsize=9, frameon=False)
    ax.set_ylim(bottom=-0.2 * nodes - 1.85)  # room for the legend
    ax.set_title("(a) a cell: a DAG of mixed edges, one curve per\noperation, "
                 "as wide as its softmax(alpha)", fontsize=11)


def _draw_supernet(ax, layers: int) -> None:
    """Stem, `layers` cells, pooling and classifier left to right; each cell reads the two before it."""
    h, reductions = 2.6, reduction_layers(layers)
    # (centre, width, label, colour) of the stem (box 0), the cells (box k + 1 is cell k) and the head
    boxes = [(0, 0.62, "stem", "#dddddd")]
    boxes += [(k + 1, 0.62, "reduction", REDUCTION_COLOR) if k in reductions
              else (k + 1, 0.62, "normal", figures.NODE_COLORS["node"]) for k in range(layers)]
    boxes += [(layers + 1.2, 0.95, "global pool\n+ classifier", "#dddddd")]
    for b, (x, w, label, color) in enumerate(boxes):
        gid = f"cell:{b - 1}" if 0 < b <= layers else None
        ax.add_patch(FancyBboxPatch((x - w / 2, -h / 2), w, h, boxstyle="round,pad=0.03", lw=1.3,
                                    facecolor=color, edgecolor="black", zorder=3, gid=gid))
        ax.text(x, 0, label, rotation=90, ha="center", va="center", fontsize=9.5, zorder=4, gid=gid)
        if gid:
            ax.text(x, -h / 2 - 0.2, str(b - 1), ha="center", va="top", fontsize=9)
        if b:  # c_{k-1}: the box before (the stem, for cell 0)
            x0 = boxes[b - 1][0] + boxes[b - 1][1] / 2
            ax.add_patch(FancyArrowPatch((x0 + 0.03, 0), (x - w / 2 - 0.03, 0), arrowstyle="-|>",
                                         mutation_scale=11, lw=1.2, color="black", zorder=2))
        if gid:  # c_{k-2}: two boxes back (the stem again, for cells 0 and 1)
            src = max(b - 2, 0)
            path = MplPath([(src + 0.1, h / 2 + 0.05), ((src + x) / 2, h / 2 + 0.5 + 0.35 * (x - src)),
                            (x - 0.1, h / 2 + 0.05)], [MplPath.MOVETO, MplPath.CURVE3, MplPath.CURVE3])
            ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=10, lw=1.0,
                                         color="dimgray", zorder=2))
    ax.text((layers + 1) / 2, -h / 2 - 0.75, "cell k reads $c_{k-1}$ (straight arrow) and $c_{k-2}$ (arc),\n"
            "the outputs of the two cells before it", ha="center", va="top", fontsize=9)
    ax.set_xlim(-0.45, layers + 1.75)
    ax.set_ylim(-h / 2 - 1.7, h / 2 + 1.3)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"(b) the supernet: {layers} cells, reduction cells\n(stride 2) at {reductions[0]} and "
                 f"{reductions[1]}, 1/3 and 2/3 of the depth", fontsize=11)


def _draw_derived_cell(ax, gene, concat, primitives: list[str], nodes: int, source: str) -> None:
    """Each kept edge j -> i: the arc of (a) in its operation's colour, labelled with the operation."""
    _draw_cell_nodes(ax, nodes, concat)
    for pos, (op, j) in enumerate(gene):
        i, k = 2 + pos // 2, primitives.index(op) if op in primitives else len(primitives)
        ax.plot(*_arc(j + 0.12, i - 0.12, 0.21, _height(j, i)), **_color(k), lw=2.2, zorder=2)
        ax.text((i + j) / 2, 0.21 + _height(j, i) / 2, op, ha="center", va="center", fontsize=7, zorder=3,
                gid="derived_op", bbox={"boxstyle": "round,pad=0.12", "facecolor": "white", "edgecolor": "none"})
    ax.set_title(f"(c) the derived cell ({source}):\neach node keeps its 2 strongest inputs, one op each",
                 fontsize=11)
