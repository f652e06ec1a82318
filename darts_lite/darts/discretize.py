"""Discretisation: from the supernet's softmax mixture to the derived cell (Liu et al., 2019, Sec. 2.4).

After search, DARTS keeps on each intermediate node the two strongest incoming
edges and, on each kept edge, the strongest non-`none` operation. The supernet
was trained as a *mixture*, so cutting it down to one-hot choices changes its
function: the accuracy lost in that cut, measured with the supernet's own
weights before any retraining, is the **discretisation gap**. A large gap means
the alphas did not commit to the architecture that is finally derived.
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch

from ..core.training import evaluate, recalibrate_bn
from ..data import Split
from .genotypes import Gene, Genotype, edge_index
from .supernet import SearchNetwork


def discrete_weights(genotype: Genotype, primitives: Sequence[str], nodes: int) -> dict[str, torch.Tensor]:
    """One-hot mixing weights, (edges, ops) per cell kind: 1 on each kept edge's op, 0 rows on dropped edges."""
    primitives = list(primitives)
    rows = {edge: e for e, edge in enumerate(edge_index(nodes))}
    out = {}
    for kind in ("normal", "reduce"):
        gene: Gene = genotype.cell(kind)[0]
        if len(gene) != 2 * nodes:
            raise ValueError(f"the genotype's {kind} cell has {len(gene) // 2} nodes, the supernet {nodes}")
        w = torch.zeros(len(rows), len(primitives))
        for pos, (op, j) in enumerate(gene):
            if op not in primitives:
                raise ValueError(f"operation {op!r} of the genotype is not a supernet primitive {primitives}")
            w[rows[(j, 2 + pos // 2)], primitives.index(op)] = 1.0
        out[kind] = w
    return out


class DiscretizedSupernet(torch.nn.Module):
    """The supernet's modules run with fixed one-hot weights: the derived network *before* retraining."""

    def __init__(self, model: SearchNetwork, genotype: Genotype):
        super().__init__()
        self.model = model
        device = next(model.parameters()).device
        self.weights = {k: w.to(device) for k, w in
                        discrete_weights(genotype, model.primitives, model.nodes).items()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, self.weights)


@torch.no_grad()
def evaluate_discretized(model: SearchNetwork, genotype: Genotype | None, split: Split,
                         batch_size: int = 256, recalibrate: Split | None = None) -> dict[str, float]:
    """Loss and accuracy of the supernet with its mixture replaced by `genotype`'s one-hot choices.

    The BatchNorm statistics were collected on the mixture; `recalibrate=<split>` recomputes
    them for the discrete cells on a copy of the model (the supernet itself is never changed).
    """
    genotype = model.genotype() if genotype is None else genotype
    if recalibrate is not None:
        model = copy.deepcopy(model)
        net = recalibrate_bn(DiscretizedSupernet(model, genotype), recalibrate, batch_size)
    else:
        net = DiscretizedSupernet(model, genotype)
    return evaluate(net, split, batch_size)


def discretization_gap(model: SearchNetwork, split: Split, batch_size: int = 256,
                       genotype: Genotype | None = None, recalibrate: Split | None = None) -> dict[str, float]:
    """Supernet accuracy, discretised accuracy (same weights, no retraining) and their difference."""
    mixture = evaluate(model, split, batch_size)
    discrete = evaluate_discretized(model, genotype, split, batch_size, recalibrate)
    return {"supernet_acc": mixture["acc"], "discretized_acc": discrete["acc"],
            "supernet_loss": mixture["loss"], "discretized_loss": discrete["loss"],
            "gap": mixture["acc"] - discrete["acc"]}
