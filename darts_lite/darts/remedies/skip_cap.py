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
from .base import Remedy, Setting, Study, register_remedy

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


@register_remedy
class SkipCap(Remedy):
    """At most M skip connections in the derived normal cell; more chosen by the alphas is a sign of collapse."""

    setting = Setting("skip_cap", 0, "P-DARTS: at most this many skips in the derived normal cell (paper: 2); 0: off",
                      high=lambda config: 2 * config.nodes)
    paper = "P-DARTS (Chen et al., 2019)"
    study = Study("p_darts", 2, "darts_travel + P-DARTS skip cap (M = 2)")

    def derive(self, model, genotype: Genotype) -> Genotype:
        normal = cap_skips(model.arch_weights()["normal"], model.primitives, self.value)
        return replace(genotype, normal=normal)

    def health(self, history: list[dict]) -> tuple[dict, str | None]:
        skips = history[-1]["skip_normal"]
        over = skips > self.value
        sign = (f"its alphas chose {skips} skip connections in the normal cell, over the cap of {self.value} "
                "(the derived cell was capped)") if over else None
        return {"skip_cap": self.value, "skips_over_cap": over}, sign
