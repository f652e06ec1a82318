"""The DARTS supernet (Liu et al., 2019, Sec. 2.2): a stem, search cells (`search_cell`), a classifier.

The network's parameters are split in two groups that the bilevel problem
treats differently: the weights w (convolutions, BatchNorm, classifier) and the
architecture parameters `alphas` (one (edges x operations) tensor for all normal
cells and one for all reduction cells).
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn as nn

from ..core.bilevel import BilevelModule
from .fast_cell import FastSearchCell
from .genotypes import Genotype, derive_genotype, num_edges
from .layout import check_shape, reduction_layers, stem
from .ops import PRIMITIVES, check_primitives
from .search_cell import SearchCell


class SearchNetwork(BilevelModule):
    """The DARTS supernet: stem, `layers` search cells (reductions at 1/3 and 2/3), classifier.

    `fast=True` builds `fast_cell.FastSearchCell`s (the edges leaving a state batched: the same
    function, fewer and wider kernels); `partial_channels` K sends 1/K of each edge's channels
    through its candidates (PC-DARTS).
    """

    faster_channels_last = True  # on a CPU, 1.4x a search step (`core.channels_last`, docs/benchmarks.md)

    def __init__(self, C: int = 16, num_classes: int = 10, layers: int = 8, nodes: int = 4,
                 multiplier: int = 4, stem_multiplier: int = 3, in_channels: int = 3,
                 primitives: Sequence[str] = PRIMITIVES, alpha_init_std: float = 1e-3, fast: bool = False,
                 partial_channels: int = 1):
        super().__init__()
        check_shape(C=C, num_classes=num_classes, layers=layers, nodes=nodes,
                     multiplier=multiplier, stem_multiplier=stem_multiplier, in_channels=in_channels)
        self.primitives = check_primitives(primitives)
        self.nodes, self.multiplier = nodes, multiplier

        c_curr = stem_multiplier * C
        self.stem = stem(in_channels, c_curr)
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        Cell = FastSearchCell if fast else SearchCell
        for i in range(layers):
            reduction = i in reduction_layers(layers)
            if reduction:
                c_curr *= 2
            self.cells.append(Cell(nodes, multiplier, c_prev_prev, c_prev, c_curr, reduction, reduction_prev,
                                   self.primitives, partial_channels))
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, multiplier * c_curr
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

        # Near-zero init: the softmax starts almost uniform over the operations.
        shape = (num_edges(nodes), len(self.primitives))
        self.alphas = nn.ParameterDict({kind: nn.Parameter(alpha_init_std * torch.randn(shape))
                                        for kind in ("normal", "reduce")})
        self.fast = fast
        self.sampling, self.tau = "softmax", 1.0
        self.weight_offsets: dict[str, float] = {}  # operation -> constant added to its mixing weight (DARTS-)
        self.register_buffer("_none_mask", torch.tensor([p == "none" for p in self.primitives]), persistent=False)

    def set_sampling(self, sampling: str = "softmax", tau: float = 1.0) -> None:
        """How `forward` mixes the candidates: "softmax" (eq. 2 at temperature tau) or "gumbel" (GDAS).

        "gumbel" samples one operation per edge from softmax((alpha + g) / tau), g ~ Gumbel(0, 1),
        runs only that operation, and passes the straight-through gradient of the sample's
        softmax weight to alpha (Dong & Yang, 2019, eq. 5-7). In eval mode it runs the most likely
        operation of every edge, without noise.
        """
        if sampling not in SAMPLINGS:
            raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
        if not tau > 0:
            raise ValueError(f"the temperature tau must be > 0, got {tau!r}")
        if sampling == "gumbel" and self.fast:
            raise ValueError("single-path sampling runs one operation per edge on the plain cells; "
                             "build the supernet with fast=False")
        self.sampling, self.tau = sampling, float(tau)

    def set_weight_offset(self, op: str, value: float) -> None:
        """Add the constant `value` to operation `op`'s mixing weight on every edge (no gradient to alpha).

        The edge then computes value * op(x) + sum_o softmax(alpha)_o o(x): DARTS-'s auxiliary skip
        (a remedy in `remedies`). Only the softmax mixture takes offsets; 0 removes it.
        """
        if op not in self.primitives:
            raise ValueError(f"operation {op!r} is not a candidate of this supernet {self.primitives}")
        if value:
            self.weight_offsets[op] = float(value)
        else:
            self.weight_offsets.pop(op, None)

    def _offsets(self, like: torch.Tensor) -> torch.Tensor | float:
        if not self.weight_offsets:
            return 0.0
        return torch.tensor([self.weight_offsets.get(p, 0.0) for p in self.primitives], dtype=like.dtype,
                            device=like.device)

    def mixing_weights(self) -> tuple[dict[str, torch.Tensor], dict[str, list[int]] | None]:
        """The weights every edge mixes with, per cell kind, and the sampled paths (None unless "gumbel")."""
        if self.sampling == "softmax":
            return {kind: torch.softmax(a / self.tau, dim=-1) + self._offsets(a)
                    for kind, a in self.alphas.items()}, None
        if self.weight_offsets:
            raise ValueError("weight offsets (DARTS-'s auxiliary skip) apply to the softmax mixture only; "
                             "single-path sampling runs one operation per edge")
        weights, paths = {}, {}
        for kind, a in self.alphas.items():
            if self.training:
                gumbel = -torch.empty_like(a).exponential_().log()
                soft = torch.softmax((a + gumbel) / self.tau, dim=-1)
            else:
                soft = torch.softmax(a, dim=-1)
            # `none` is never derived (Sec. 2.4), so no path samples it: a sampled zero would cut the edge.
            index = soft.masked_fill(self._none_mask, -1.0).argmax(-1)
            hard = nn.functional.one_hot(index, a.shape[-1]).to(a)
            weights[kind] = hard - soft.detach() + soft  # the value of `hard`, the gradient of `soft`
            paths[kind] = index.tolist()
        return weights, paths

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters alpha: [alphas.normal, alphas.reduce]."""
        return [self.alphas["normal"], self.alphas["reduce"]]

    def arch_weights(self) -> dict[str, torch.Tensor]:
        """softmax(alpha) per cell kind, detached: the mixing weights of every edge."""
        return {kind: torch.softmax(a.detach(), dim=-1) for kind, a in self.alphas.items()}

    def genotype(self) -> Genotype:
        """The discrete architecture derived from the current alphas (Sec. 2.4)."""
        return derive_genotype(dict(self.alphas.items()), self.primitives, self.multiplier)

    def forward(self, x: torch.Tensor, weights: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Logits; `weights` replaces softmax(alpha) per cell kind (e.g. one-hot, to discretise)."""
        paths = None
        if weights is None:
            weights, paths = self.mixing_weights()
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            kind = "reduce" if cell.reduction else "normal"
            if paths is None:
                s0, s1 = s1, cell(s0, s1, weights[kind])
            else:
                s0, s1 = s1, cell(s0, s1, weights[kind], paths[kind])
        return self.classifier(self.global_pooling(s1).flatten(1))


SAMPLINGS = ("softmax", "gumbel")


def fast_copy(net: SearchNetwork) -> SearchNetwork:
    """A copy of a plain supernet whose cells are `FastSearchCell`s (same weights, alphas and function)."""
    fast = copy.deepcopy(net)
    fast.cells = nn.ModuleList(FastSearchCell.from_plain(c) if isinstance(c, SearchCell) else c for c in net.cells)
    return fast
