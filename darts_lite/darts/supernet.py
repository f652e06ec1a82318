"""The continuous relaxation of DARTS (Liu et al., 2019, Sec. 2.2): MixedOp, search cell, supernet.

Every edge (i, j) of a cell carries all candidate operations at once, mixed by
the softmax of its architecture parameters (eq. 2):

    o_bar(x) = sum_o  exp(alpha_o) / sum_o' exp(alpha_o')  *  o(x).

The network's parameters are split in two groups that the bilevel problem
treats differently: the weights w (convolutions, BatchNorm, classifier) and the
architecture parameters `alphas` (one (edges x operations) tensor for all normal
cells and one for all reduction cells).
"""
from __future__ import annotations

from typing import Iterator, Sequence

import torch
import torch.nn as nn

from .genotypes import Genotype, derive_genotype, num_edges
from .ops import PRIMITIVES, FactorizedReduce, ReLUConvBN, Zero, build_op, check_primitives
from .partial import bypass, channel_shuffle, check_partial_channels


def candidate(name: str, C: int, stride: int) -> nn.Module:
    """A candidate operation as the search uses it: BatchNorm not affine, pools followed by a BatchNorm."""
    # Search BN is not affine: a learnable scale would compete with alpha.
    op = build_op(name, C, stride, affine=False)
    if "pool" in name:
        # As in the authors' code: put pooling outputs on the scale of the convs.
        op = nn.Sequential(op, nn.BatchNorm2d(C, affine=False))
    return op


class MixedOp(nn.Module):
    """One edge: the softmax-weighted sum of every candidate operation (eq. 2).

    With `partial_channels` K > 1 only the first C/K channels go through the candidates (PC-DARTS,
    see `partial`).
    """

    def __init__(self, C: int, stride: int, primitives: Sequence[str] = PRIMITIVES, partial_channels: int = 1):
        super().__init__()
        self.C, self.stride, self.k = C, stride, partial_channels
        self.primitives = tuple(primitives)
        c = check_partial_channels(C, partial_channels, stride)
        self.ops = nn.ModuleList(candidate(name, c, stride) for name in primitives)

    def forward(self, x: torch.Tensor, weights: torch.Tensor, path: int | None = None) -> torch.Tensor:
        if self.k == 1:
            return self.mix(x, weights, path)
        c = self.C // self.k
        both = torch.cat([self.mix(x[:, :c], weights, path), bypass(x[:, c:], self.stride)], dim=1)
        return channel_shuffle(both, self.k)

    def mix(self, x: torch.Tensor, weights: torch.Tensor, path: int | None = None) -> torch.Tensor:
        """sum_o weights[o] * o(x) (eq. 2); with a sampled `path`, only weights[path] * o_path(x) (GDAS)."""
        if path is not None:
            return weights[path] * self.ops[path](x)
        out = None
        for w, op in zip(weights, self.ops):
            # w * zeros adds nothing and passes no gradient: skipping `none` is exact.
            if isinstance(op, Zero):
                continue
            term = w * op(x)
            out = term if out is None else out + term
        if out is None:  # every candidate is `none`
            out = self.ops[0](x)
        return out


class SearchCell(nn.Module):
    """A cell DAG: 2 input nodes, `nodes` intermediate nodes, a MixedOp on every forward edge."""

    def __init__(self, nodes: int, multiplier: int, c_prev_prev: int, c_prev: int, C: int,
                 reduction: bool, reduction_prev: bool, primitives: Sequence[str] = PRIMITIVES,
                 partial_channels: int = 1):
        super().__init__()
        self.reduction = reduction
        self.nodes = nodes
        self.multiplier = multiplier
        if reduction_prev:  # c_{k-2} is twice the spatial size of c_{k-1}
            self.preprocess0 = FactorizedReduce(c_prev_prev, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(c_prev_prev, C, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(c_prev, C, 1, 1, 0, affine=False)
        self.edges = nn.ModuleList(
            MixedOp(C, 2 if reduction and j < 2 else 1, primitives, partial_channels)
            for i in range(nodes) for j in range(2 + i))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor,
                paths: list[int] | None = None) -> torch.Tensor:
        """The cell's output; `paths` (one sampled operation per edge) runs single-path (GDAS)."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        offset = 0
        for _ in range(self.nodes):
            node = sum(self.edges[offset + j](h, weights[offset + j], None if paths is None else paths[offset + j])
                       for j, h in enumerate(states))
            offset += len(states)
            states.append(node)
        return torch.cat(states[-self.multiplier:], dim=1)


class SearchNetwork(nn.Module):
    """The DARTS supernet: stem, `layers` search cells (reductions at 1/3 and 2/3), classifier.

    `fast=True` builds `fast_cell.FastSearchCell`s (the edges leaving a state batched: the same
    function, fewer and wider kernels); `partial_channels` K sends 1/K of each edge's channels
    through its candidates (PC-DARTS).
    """

    def __init__(self, C: int = 16, num_classes: int = 10, layers: int = 8, nodes: int = 4,
                 multiplier: int = 4, stem_multiplier: int = 3, in_channels: int = 3,
                 primitives: Sequence[str] = PRIMITIVES, alpha_init_std: float = 1e-3, fast: bool = False,
                 partial_channels: int = 1):
        super().__init__()
        _check_shape(C=C, num_classes=num_classes, layers=layers, nodes=nodes,
                     multiplier=multiplier, stem_multiplier=stem_multiplier, in_channels=in_channels)
        self.primitives = check_primitives(primitives)
        self.nodes, self.multiplier = nodes, multiplier

        c_curr = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c_curr))
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        if fast:
            from .fast_cell import FastSearchCell as Cell  # fast_cell builds on this module
        else:
            Cell = SearchCell
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

    def mixing_weights(self) -> tuple[dict[str, torch.Tensor], dict[str, list[int]] | None]:
        """The weights every edge mixes with, per cell kind, and the sampled paths (None unless "gumbel")."""
        if self.sampling == "softmax":
            return {kind: torch.softmax(a / self.tau, dim=-1) for kind, a in self.alphas.items()}, None
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

    def named_weights(self) -> Iterator[tuple[str, nn.Parameter]]:
        """(name, parameter) of the weights w, i.e. every parameter that is not an alpha."""
        return ((n, p) for n, p in self.named_parameters() if not n.startswith("alphas."))

    def weight_parameters(self) -> list[nn.Parameter]:
        """The weights w, kept apart from the alphas."""
        return [p for _, p in self.named_weights()]

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


def reduction_layers(layers: int) -> tuple[int, int]:
    """Indices of the two reduction cells: at 1/3 and 2/3 of the depth."""
    return layers // 3, 2 * layers // 3


def _check_shape(**sizes: int) -> None:
    minimum = {"layers": 3, "multiplier": 1, "nodes": 1}
    for name, value in sizes.items():
        low = minimum.get(name, 1)
        if not isinstance(value, int) or value < low:
            why = " (the network needs a normal cell and two reduction cells)" if name == "layers" else ""
            raise ValueError(f"{name} must be an integer >= {low}{why}, got {value!r}")
    if sizes["multiplier"] > sizes["nodes"]:
        raise ValueError(f"multiplier ({sizes['multiplier']}) cannot exceed nodes ({sizes['nodes']}): "
                         "the cell output concatenates the last `multiplier` intermediate nodes")
