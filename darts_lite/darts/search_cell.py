"""The continuous relaxation of DARTS (Liu et al., 2019, Sec. 2.2): one edge (`MixedOp`) and one search cell.

Every edge (i, j) of a cell carries all candidate operations at once, mixed by
the softmax of its architecture parameters (eq. 2):

    o_bar(x) = sum_o  exp(alpha_o) / sum_o' exp(alpha_o')  *  o(x).

A node sums its incoming edges (eq. 1); the cell concatenates its last `multiplier` nodes.
`supernet.SearchNetwork` stacks these cells; `fast_cell.FastSearchCell` computes the same cell
with the edges that leave one state batched.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from .ops import PRIMITIVES, FactorizedReduce, ReLUConvBN, Zero, build_op
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
        # w * zeros adds nothing and passes no gradient: skipping `none` is exact. So is skipping a
        # candidate of weight exactly 0 where no gradient is wanted (a derived cell's one-hot weights).
        skip = [False] * len(self.ops) if weights.requires_grad else weights.eq(0).tolist()
        out = None
        for w, op, zero in zip(weights, self.ops, skip):
            if isinstance(op, Zero) or zero:
                continue
            term = w * op(x)
            out = term if out is None else out + term
        if out is None:  # every candidate is `none` or weighted 0
            out = weights[0] * self.ops[0](x)
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
