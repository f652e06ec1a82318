"""Notebook 02, the continuous relaxation: its findings and exercises."""
from __future__ import annotations

import torch

from ..core.decision import DECIDED
from ..darts.genotypes import edge_index, parse_cell
from ..darts.ops import PRIMITIVES
from ..darts.search_cell import MixedOp
from .exercise import Exercise


def _seeds(n: int) -> str:
    return f"{n} seed" + ("" if n == 1 else "s")


def findings(results: dict) -> list[str]:
    lines = []
    if results.get("architectures") and results.get("n_alpha"):
        lines.append(f"One supernet with {results['n_alpha']} alphas stands for "
                     f"{results['architectures']:.1e}".replace("e+", "e") + " discrete architectures, trained once.")
    if results.get("kept_weight_normal") is not None:
        k, uniform = results["kept_weight_normal"], 1 / sum(p != "none" for p in PRIMITIVES)
        need = results.get("decided_threshold", DECIDED)
        verdict = results.get("decided", k >= need)
        lines.append(f"The search is {'decided' if verdict else 'undecided'}: its normal cell's kept weight is "
                     f"{k:.2f}; uniform alphas give {uniform:.2f}, deciding needs {need:.2f}." +
                     ("" if verdict else " Its genotype is close to a random draw."))
    s, d, g = results["supernet_acc"], results["discretized_acc"], results["gap"]
    size = "large" if g >= 0.1 else ("small" if g > 0.02 else "none to speak of")
    lines.append(f"The discretisation gap is {size}: validation accuracy {s:.3f} as a mixture, {d:.3f} as the "
                 f"derived cell with the same weights (gap {g:+.3f}).")
    if results.get("discretized_acc_bn_recomputed") is not None:
        b = results["discretized_acc_bn_recomputed"]
        lines.append(f"Recomputing BatchNorm statistics gives {b:.3f}: " +
                     ("most of the loss is the function, not the statistics, so the cell is retrained."
                      if s - b > (s - d) / 2 else "much of the loss was the statistics; the cell is still retrained."))
    if results.get("planted_recovery") is not None:
        r, c = results["planted_recovery"], results["planted_chance"]
        per_seed = results.get("planted_recoveries") or [r]
        full = sum(x >= 1.0 for x in per_seed)
        verdict = "well above" if min(per_seed) > 3 * c else ("above" if r > c else "not above")
        lines.append(f"The planted cell is found {verdict} chance: mean recovery {r:.2f} against {c:.3f} for a "
                     f"random genotype. {full} of {_seeds(len(per_seed))} recovered every pair.")
    if results.get("dataset"):
        planted_seeds = _seeds(len(results.get("planted_recoveries") or [0])).replace(" ", " planted ")
        lines.append(f"Data: {results['dataset']} at {results['image_size']} px, one search of {results['epochs']} "
                     f"epochs, {planted_seeds}: small-sample numbers.")
    return lines


def headline(results: dict) -> str | None:
    """The README's line: the relaxation finds a planted cell, against chance."""
    if results.get("planted_recovery") is None:
        return None
    return (f"The relaxation finds a known answer: learning only the alphas recovers {results['planted_recovery']:.0%} "
            f"of a planted cell's choices; a random cell gets {results['planted_chance']:.0%}.")


# q1: eq. 2 by hand against MixedOp.

def _mixed_op(answer) -> str | None:
    g = torch.Generator().manual_seed(11)
    for C, stride in ((4, 1), (6, 2)):
        edge = MixedOp(C, stride).eval()  # eval: BatchNorm uses fixed statistics, so every call is the same
        x = torch.randn(2, C, 8, 8, generator=g)
        alpha = 2 * torch.randn(len(PRIMITIVES), generator=g)
        with torch.no_grad():
            want = edge(x, torch.softmax(alpha, dim=-1))
            got = answer(x, alpha.clone(), list(edge.ops))
        if got is None:
            return "your function returns None: replace the `...` with the weighted sum."
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(want.shape):
            return (f"the mixed edge should return a tensor of shape {tuple(want.shape)} (every candidate's output "
                    f"has that shape), got {getattr(got, 'shape', type(got).__name__)}.")
        if not torch.allclose(got, want, atol=1e-5, rtol=1e-4):
            with torch.no_grad():
                raw = sum(a * op(x) for a, op in zip(alpha, edge.ops))
            if torch.allclose(got, raw, atol=1e-5, rtol=1e-4):
                return "you weighted by alpha itself. Eq. 2 weights by softmax(alpha): positive, summing to 1."
            return (f"on an edge of {C} channels (stride {stride}) your mixture differs from MixedOp's by up to "
                    f"{(got - want).abs().max():.3g}. Weight op k's output by exp(alpha_k) / sum_j exp(alpha_j).")
    return None


def _mixed_op_wrong(x, alpha, ops):
    return sum(a * op(x) for a, op in zip(alpha, ops))  # alpha, not softmax(alpha)


q1 = Exercise(
    "q1", "Write `mixed_op(x, alpha, ops)`: eq. 2, the softmax(alpha)-weighted sum of `op(x)` over the candidates.",
    _mixed_op, "One edge of the supernet is this sum: every candidate runs, and a gradient reaches every alpha "
    "through its softmax weight.", wrong=_mixed_op_wrong,
    hint="w = torch.softmax(alpha, dim=-1); return the sum over k of w[k] * ops[k](x).", cpu_seconds=0.5)


# q2: the top-2 rule of Sec. 2.4.

def _raw_alpha_rule(alpha: torch.Tensor, primitives) -> list[tuple[str, int]]:
    """The top-2 rule read on raw alphas instead of softmax weights: the answer q2 explains away."""
    keep = [k for k, name in enumerate(primitives) if name != "none"]
    gene, start, node = [], 0, 0
    while start < alpha.shape[0]:
        rows = alpha[start:start + 2 + node][:, keep]
        strength = rows.max(dim=1).values.tolist()
        for j in sorted(sorted(range(2 + node), key=lambda j: (-strength[j], j))[:2]):
            gene.append((primitives[keep[int(rows[j].argmax())]], j))
        start, node = start + 2 + node, node + 1
    return gene


def _by_node(gene) -> list[list[tuple[str, int]]]:
    pairs = [(str(op), int(j)) for op, j in gene]
    return [sorted(pairs[i:i + 2], key=lambda p: p[1]) for i in range(0, len(pairs), 2)]


def _derive(answer) -> str | None:
    g = torch.Generator().manual_seed(5)
    none = PRIMITIVES.index("none")
    edges = edge_index(4)
    for trial in range(6):
        alpha = 1.5 * torch.randn(len(edges), len(PRIMITIVES), generator=g)
        alpha[torch.randperm(len(edges), generator=g)[:3], none] += 4.0  # `none` leads on a few edges
        want = _by_node(parse_cell(alpha, PRIMITIVES))
        got = answer(alpha.clone(), list(PRIMITIVES))
        if got is None:
            return "your function returns None: replace the `...` with the derived (operation, input) pairs."
        try:
            got = _by_node(got)
        except (TypeError, ValueError):
            return "return a list of (operation name, input node) pairs, two per node, node after node."
        if len(got) != len(want) or sum(len(n) for n in got) != 2 * len(want):
            return (f"a 4-node cell has {2 * len(want)} (operation, input) pairs, two per node; "
                    f"you returned {sum(len(n) for n in got)}.")
        if got == want:
            continue
        if any(op == "none" for node in got for op, _ in node):
            return ("your cell contains `none`. Leave `none` out, both when ranking a node's edges and when "
                    "picking an edge's operation.")
        if got == _by_node(_raw_alpha_rule(alpha, PRIMITIVES)):
            return ("you ranked edges by their raw alphas. Rank them by softmax weights: each edge's softmax "
                    "is normalised over its own row, `none` included, so the two orders can differ.")
        node = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
        return (f"node {node} should keep {want[node]}, you kept {got[node]}. Keep its two inputs whose best "
                "non-`none` softmax weight is largest, each with that operation.")
    return None


def _derive_wrong(alpha, primitives):
    w = torch.softmax(alpha, dim=-1)
    gene, start, node = [], 0, 0
    while start < w.shape[0]:
        rows = w[start:start + 2 + node]
        strength = rows.max(dim=1).values.tolist()  # `none` counted
        for j in sorted(sorted(range(2 + node), key=lambda j: -strength[j])[:2]):
            gene.append((primitives[int(rows[j].argmax())], j))
        start, node = start + 2 + node, node + 1
    return gene


q2 = Exercise(
    "q2", "Write `derive(alpha, primitives)`: the top-2 rule of Sec. 2.4 on one cell's alphas (14 edges x 8 ops), "
    "`none` excluded.", _derive, "Any alphas give a cell, even near-uniform ones: the rule reads a ranking, "
    "however small the differences behind it.", wrong=_derive_wrong,
    hint="w = softmax(alpha) per row. The edges into node i are the next 2 + i rows (inputs 0 .. i + 1). Rank "
    "them by their largest non-`none` weight, keep two, and give each its best non-`none` operation.",
    cpu_seconds=0.1)
exercises = [q1, q2]
