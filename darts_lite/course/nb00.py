"""Notebook 00, DARTS in ten minutes: its findings and exercises (the size of the search space)."""
from __future__ import annotations

from math import prod

from ..core.decision import DECIDED
from ..darts.genotypes import count_architectures
from ..darts.ops import PRIMITIVES
from .exercise import Exercise


def findings(results: dict) -> list[str]:
    data = results.get("dataset")
    on = f" on {data}" if data else ""
    uniform = 1 / sum(p != "none" for p in PRIMITIVES)
    lines = [f"The derived network ({results['derived_params']:,} parameters) reaches test accuracy "
             f"{results['test_acc']:.3f}{on}. The supernet reached {results['supernet_val_acc']:.3f} "
             "on search-val."]
    kept = results["kept_weight_normal"]
    moved = "concentrated on the kept operations" if kept >= DECIDED else "stayed spread out"
    lines.append(f"The alphas {moved}: kept weight {kept:.2f} in the normal cell, where uniform alphas give "
                 f"{uniform:.2f} and one-hot alphas 1.00.")
    skips = results["skip_connections_normal"]
    lines.append(f"The derived normal cell holds {skips} skip connection{'s' if skips != 1 else ''} among its "
                 f"{len(results['genotype']['normal'])} operations.")
    size = f"{results['test_images']} test images, " if "test_images" in results else ""
    lines.append(f"Data: {data + ', ' if data else ''}{size}one search seed and no random baseline: "
                 "small-sample numbers.")
    return lines


def headline(results: dict) -> str | None:
    """None: the quickstart compares its cell with no baseline, so it has nothing to claim (notebook 08 does)."""
    return None


def _unanswered(value) -> str | None:
    if value is None or value is Ellipsis:
        return "no answer yet: your function returns nothing; write its body in place of the `...`."
    return None


def _edges(nodes: int) -> int:
    """Edges of the mixed cell, enumerated: every intermediate node i takes an edge from each earlier node."""
    return len([(j, i) for i in range(2, 2 + nodes) for j in range(i)])


def _alpha_shape(answer) -> str | None:
    for nodes in range(1, 9):
        got = answer(nodes)
        if reason := _unanswered(got):
            return reason
        try:
            edges, ops = (int(v) for v in got)
        except (TypeError, ValueError):
            return f"alpha_shape({nodes}) gave {got!r}; return a pair (edges, operations per edge)."
        if ops == len(PRIMITIVES) - 1:
            return ("`none` is a candidate too: it sits in every edge's softmax mixture (eq. 2); only the "
                    "derivation of the discrete cell leaves it out.")
        if ops != len(PRIMITIVES):
            return f"{ops} operations per edge: every edge mixes all of PRIMITIVES ({len(PRIMITIVES)} of them)."
        if edges != _edges(nodes):
            return (f"with {nodes} intermediate node(s) you gave {edges} edges, the cell has {_edges(nodes)}. "
                    "Intermediate node i (from 0) takes an edge from both inputs and from each node before it.")
    return None


def _enumerate_cells(nodes: int, n_ops: int) -> int:
    """Distinct discrete cells, by brute force: per node, a set of two (input, operation) pairs, inputs distinct."""
    per_node = []
    for i in range(nodes):
        choices = {frozenset({(a, p), (b, q)}) for a in range(2 + i) for b in range(2 + i) if a != b
                   for p in range(n_ops) for q in range(n_ops)}
        per_node.append(len(choices))
    return prod(per_node)  # the nodes choose independently of each other


def _count_cells(answer) -> str | None:
    cases = [(n, k) for n in (1, 2, 3) for k in (1, 2, 3)] + [(4, 7), (5, 3), (6, 7)]
    for nodes, n_ops in cases:
        got = answer(nodes, n_ops)
        if reason := _unanswered(got):
            return reason
        want = _enumerate_cells(nodes, n_ops) if nodes <= 3 else count_architectures(nodes, n_ops)
        if got == want:
            continue
        ordered = prod((2 + i) * (1 + i) * n_ops ** 2 for i in range(nodes))
        why = (" You counted each pair of inputs twice, once per order: the two kept inputs are a set."
               if got == ordered else
               " Each node keeps only two of its inputs; the other edges are dropped, not given an operation."
               if got in (n_ops ** _edges(nodes), (n_ops + 1) ** _edges(nodes)) else "")
        return f"count_cells({nodes}, {n_ops}) gave {got!r}; it should be {want:,}.{why}"
    return None


q1 = Exercise(
    "q1", "Write `alpha_shape(nodes)`: the shape (edges, operations per edge) of one cell kind's alphas, for a "
    "cell with `nodes` intermediate nodes.",
    _alpha_shape, "Each edge carries one row of alphas over all eight candidates: a cell of four nodes has 14 rows, "
    "as `result.alphas['normal']` shows.",
    wrong=lambda nodes: (nodes * (nodes + 1) // 2, len(PRIMITIVES) - 1),
    hint="Intermediate node i (from 0) receives 2 + i edges. Count every candidate, `none` included.",
    cpu_seconds=0.1)
q2 = Exercise(
    "q2", "Write `count_cells(nodes, n_ops)`: the discrete cells of the space when every node keeps two of its "
    "inputs and one of `n_ops` operations on each.",
    _count_cells, "The count is a product over nodes, so it grows fast: about a billion normal cells with "
    "four nodes and seven operations, which is why DARTS does not try them one by one.",
    wrong=lambda nodes, n_ops: prod((2 + i) * (1 + i) * n_ops ** 2 for i in range(nodes)),
    hint="Node i chooses a pair of its 2 + i inputs (`math.comb`) and an operation for each of the two.",
    cpu_seconds=0.2)
exercises = [q1, q2]

__all__ = ["exercises", "findings", "headline", "q1", "q2"]
