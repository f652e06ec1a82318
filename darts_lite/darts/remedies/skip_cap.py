"""P-DARTS's cap on skip connections (Chen et al., ICCV 2019, Sec. 3.3, "search space regularization").

After the search, the derived normal cell keeps at most M skip connections: while it has more,
the skip with the smallest softmax weight among the chosen ones is set to weight 0 on its edge,
and the cell is derived again from the weights (the other weights of that edge are not
renormalised, as in the authors' code). The edge then keeps its next-best operation, or loses its
place to a stronger edge of the same node. The paper uses M = 2 for 8-edge cells.
"""
from __future__ import annotations

from dataclasses import replace

import torch

from ..genotypes import Gene, Genotype, edge_index, nodes_from_edges, parse_weights
from .base import Remedy, register_remedy

SKIP = "skip_connect"


def cap_skips(weights: torch.Tensor, primitives, max_skips: int, k: int = 2) -> Gene:
    """The cell derived from softmax `weights` (edges x ops) with at most `max_skips` skip connections."""
    primitives = list(primitives)
    if SKIP not in primitives:
        return parse_weights(weights, primitives, k)
    if not any(p not in ("none", SKIP) for p in primitives):
        raise ValueError(f"cannot cap skip connections: {SKIP} is the only operation besides 'none'")
    w = weights.detach().double().cpu().clone()
    column = primitives.index(SKIP)
    row = {edge: r for r, edge in enumerate(edge_index(nodes_from_edges(w.shape[0])))}
    for _ in range(w.shape[0] + 1):
        gene = parse_weights(w, primitives, k)
        skips = [row[(j, 2 + pos // k)] for pos, (op, j) in enumerate(gene) if op == SKIP]
        if len(skips) <= max_skips:
            return gene
        weakest = min(skips, key=lambda r: (w[r, column].item(), r))
        w[weakest, column] = 0.0
    raise AssertionError("unreachable: every pass removes one skip")


class SkipCap(Remedy):
    """At most `max_skips` skip connections in the derived normal cell."""

    def __init__(self, max_skips: int):
        self.max_skips = max_skips

    def derive(self, model, genotype: Genotype) -> Genotype:
        normal = cap_skips(model.arch_weights()["normal"], model.primitives, self.max_skips)
        return replace(genotype, normal=normal)


register_remedy("skip_cap", "P-DARTS (Chen et al., 2019)", lambda config: SkipCap(config.skip_cap))
