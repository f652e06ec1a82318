"""Did a DARTS search decide? The measures of `core.decision` for cells, and chance levels.

The top-2 rule of Sec. 2.4 turns any alphas into a genotype, even alphas that never left the
uniform start: such a genotype is a random draw from the space, however carefully it is drawn.
`cell_decision` reads, from the same softmax(alpha) that `genotypes.parse_cell` reads:

- `kept_weight`: on each kept edge, the kept operation's share of the edge's non-`none` weight,
  w[e, o*] / sum_{o != none} w[e, o], averaged over the kept edges. Uniform alphas give
  1 / (non-`none` operations), 1/7 in the paper's space;
- `entropy_ratio`: the mean over all edges of H(w_e) / log(operations); 1 at uniform, 0 one-hot;
- `margin`: per node with more than two inputs, the weakest kept edge's strength minus the
  strongest dropped edge's (strength = largest non-`none` weight, as the top-2 rule ranks edges),
  averaged over those nodes; 0 when the edges cannot be told apart;
- `decided`: `kept_weight >= core.decision.DECIDED` (0.5). At 0.5 the kept operation outweighs all its
  alternatives together, so discretising an edge removes at most half of what the supernet
  computed there. A cell below it was chosen by small differences that another seed, another
  batch order or another run of the same seed at a slightly different learning rate reorders.

`seed_agreement` compares the genotypes of several seeds, and `chance_agreement` gives what two
random genotypes of the same space share (exactly, not by sampling), so that an agreement
between seeds can be read against chance.
"""
from __future__ import annotations

import math
from itertools import combinations
from typing import Sequence

import torch

from ..core.decision import DECIDED, entropy_ratio
from .genotypes import Gene, Genotype, nodes_from_edges, num_edges
from .ops import PRIMITIVES


def _node_rows(n_edges: int) -> list[range]:
    """The alpha rows of each intermediate node's incoming edges, in `genotypes.edge_index` order."""
    return [range(num_edges(i), num_edges(i + 1)) for i in range(nodes_from_edges(n_edges))]


def cell_decision(weights: torch.Tensor, primitives: Sequence[str] = PRIMITIVES, k: int = 2) -> dict:
    """kept_weight, entropy_ratio, margin and decided of one cell's softmax(alpha) (edges x operations)."""
    w = weights.detach().double().cpu()
    if w.dim() != 2 or w.shape[1] != len(primitives):
        raise ValueError(f"weights must be (edges, {len(primitives)}) for the primitives {list(primitives)}, "
                         f"got shape {tuple(w.shape)}")
    keep = [c for c, name in enumerate(primitives) if name != "none"]
    real = w[:, keep]
    strength = real.max(1).values
    share = strength / real.sum(1)
    kept_shares, margins = [], []
    for rows in _node_rows(w.shape[0]):
        s = strength[list(rows)].tolist()
        order = sorted(range(len(s)), key=lambda j: (-s[j], j))  # the tie rule of parse_cell
        kept = order[:k]
        kept_shares += [float(share[rows[j]]) for j in kept]
        if len(order) > k:
            margins.append(min(s[j] for j in kept) - max(s[j] for j in order[k:]))
    kept_weight = sum(kept_shares) / len(kept_shares)
    return {"kept_weight": kept_weight, "entropy_ratio": entropy_ratio(w),
            "margin": sum(margins) / len(margins) if margins else 0.0,
            "uniform_kept_weight": 1 / len(keep), "decided": kept_weight >= DECIDED}


def decision(arch_weights: dict[str, torch.Tensor], primitives: Sequence[str] = PRIMITIVES) -> dict:
    """`cell_decision` per cell kind of `{"normal": softmax(alpha), "reduce": ...}`, and `decided` for all."""
    out = {kind: cell_decision(w, primitives) for kind, w in arch_weights.items()}
    return {**out, "decided": all(d["decided"] for d in out.values())}


DARTS_REMEDY = ("More epochs or a larger arch_lr make the alphas move, but moving is not finding: on the ground "
                "truth (notebook 08) the schedules that decide collapse onto skip-heavy cells. Judge the genotype "
                "against random search at the same cost and against the null, not by its kept weight.")
SAMPLED_REMEDY = ("Give the alphas more steps (epochs, a larger dataset) or a larger arch_travel, then judge the "
                  "genotype against random search at the same cost (notebook 08): deciding is not finding.")


def gene_agreement(a: Gene, b: Gene) -> dict[str, int]:
    """Shared choices of two cells: `exact` (input, operation) pairs per node, `ops` shared operation kinds."""
    if len(a) != len(b):
        raise ValueError(f"cells of different sizes: {len(a)} and {len(b)} (input, operation) pairs")
    exact = 0
    for node in range(0, len(a), 2):
        pa, pb = list(a[node:node + 2]), list(b[node:node + 2])
        for pair in pa:
            if pair in pb:
                pb.remove(pair)
                exact += 1
    ops_a, ops_b = [op for op, _ in a], [op for op, _ in b]
    ops = sum(min(ops_a.count(op), ops_b.count(op)) for op in set(ops_a))
    return {"exact": exact, "ops": ops, "choices": len(a)}


def seed_agreement(genotypes: Sequence[Genotype], kinds: Sequence[str] = ("normal", "reduce")) -> dict:
    """Mean share of choices shared by every pair of genotypes, per cell kind: exact pairs and operation kinds."""
    if len(genotypes) < 2:
        raise ValueError(f"seed agreement needs at least 2 genotypes, got {len(genotypes)}")
    out = {}
    for kind in kinds:
        pairs = [gene_agreement(getattr(a, kind), getattr(b, kind)) for a, b in combinations(genotypes, 2)]
        out[kind] = {m: sum(p[m] / p["choices"] for p in pairs) / len(pairs) for m in ("exact", "ops")}
    return out


def chance_agreement(nodes: int = 4, primitives: Sequence[str] = PRIMITIVES, k: int = 2) -> dict[str, float]:
    """Expected shares of `gene_agreement` for two independent random genotypes (`random_genotype`), exactly.

    A random genotype keeps a uniform k-subset of each node's n inputs and a uniform non-`none`
    operation (m of them) on each kept edge. So input j of a node is kept by both with probability
    (k/n)^2 and carries the same operation with 1/m: E[exact] = sum_nodes n (k/n)^2 / m. The same
    holds against any fixed genotype (a planted one): each planted pair is kept with k/n and
    matched with 1/m, so E[exact] = sum_nodes k (k/n) / m. For operation kinds, each cell draws
    K = k * nodes operations uniformly, and E[sum_o min(X_o, Y_o)] = m sum_{c>=1} P(X >= c)^2 with
    X ~ Binomial(K, 1/m).
    """
    m = sum(name != "none" for name in primitives)
    K = k * nodes
    exact = sum(k * k / (2 + i) for i in range(nodes)) / m
    p_at_least = [sum(math.comb(K, j) * (1 / m) ** j * (1 - 1 / m) ** (K - j) for j in range(c, K + 1))
                  for c in range(1, K + 1)]
    ops = m * sum(p * p for p in p_at_least)
    return {"exact": exact / K, "ops": ops / K}
