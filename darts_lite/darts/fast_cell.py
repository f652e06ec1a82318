"""The fast search cell: the edges that leave one state are computed together.

`SearchCell` runs every edge (j -> i) on its own: 14 edges x 7 non-zero candidates, about 400
small kernels per cell, each with its own ReLU. But the m edges LEAVING a state h_j share their
input, so `FanOut` computes them at once:

- ReLU(h_j), which starts every convolution candidate, once per state (not once per edge and op);
- each convolution candidate as ONE wide convolution for all m edges: the ReLU'd input repeated m
  times along the channels, the m depthwise kernels stacked (groups = m C), the m pointwise 1x1
  convolutions as one grouped convolution (groups = m), BatchNorm over m C channels (its
  statistics are per channel, so it is m separate BatchNorms);
- parameter-free candidates (max / avg pool with their non-affine BatchNorm, identity) give the
  same output on every edge: computed once.

Edge e then adds sum_o softmax(alpha)_{e,o} o_e(h_j) (eq. 2) to its node. It is the same function as
`SearchCell`: `fast_copy` moves a plain network's weights over, and a test compares outputs and
gradients of both in float64. Candidates other than the paper's eight run edge by edge.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.channels_last import is_channels_last, repeat_channels
from .ops import (PRIMITIVES, DepthwiseConv2d, FactorizedReduce, ReLUConvBN, check_primitives, factorized_halves,
                  half_width, is_built_in)
from .partial import bypass, channel_shuffle, check_partial_channels
from .search_cell import SearchCell, candidate

# name -> (kernel, padding, dilation, stages): the separable (2 stages) and dilated (1 stage) convolutions
_CONVS = {"sep_conv_3x3": (3, 1, 1, 2), "sep_conv_5x5": (5, 2, 1, 2),
          "dil_conv_3x3": (3, 2, 2, 1), "dil_conv_5x5": (5, 4, 2, 1)}
_SHARED = ("max_pool_3x3", "avg_pool_3x3")


class WideStage(nn.Module):
    """depthwise conv -> pointwise 1x1 -> BatchNorm for m edges at once, on (B, m C, H, W) edge-major input."""

    def __init__(self, C: int, m: int, kernel: int, stride: int, padding: int, dilation: int):
        super().__init__()
        self.depthwise = DepthwiseConv2d(m * C, kernel, stride, padding, dilation)
        self.pointwise = nn.Conv2d(m * C, m * C, 1, groups=m, bias=False)
        self.bn = nn.BatchNorm2d(m * C, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.pointwise(self.depthwise(x)))


class WideFactorizedReduce(nn.Module):
    """`FactorizedReduce` (the stride-2 skip) for m edges at once, on the shared ReLU'd input."""

    def __init__(self, C: int, m: int):
        super().__init__()
        self.C, self.m = C, m
        self.conv_a = nn.Conv2d(C, m * half_width(C), 1, bias=False)
        self.conv_b = nn.Conv2d(C, m * half_width(C), 1, bias=False)
        self.bn = nn.BatchNorm2d(m * C, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = factorized_halves(x, self.conv_a, self.conv_b)
        if is_channels_last(a):  # edge e's channels [a_e, b_e], interleaved along the innermost dimension
            a, b = (t.permute(0, 2, 3, 1).unflatten(3, (self.m, -1)) for t in (a, b))
            return self.bn(torch.cat([a, b], 4).flatten(3).permute(0, 3, 1, 2))
        per_edge = torch.cat([a.unflatten(1, (self.m, -1)), b.unflatten(1, (self.m, -1))], 2)
        return self.bn(per_edge.flatten(1, 2))


class FanOut(nn.Module):
    """The m MixedOps leaving one state, each candidate batched across them; forward -> m (B, C, H', W').

    With `partial_channels` K > 1 (PC-DARTS), the candidates see the first C/K channels; the rest
    bypass them (max-pooled at stride 2) and the channels are shuffled, as in `MixedOp`.
    """

    def __init__(self, C: int, stride: int, m: int, primitives: Sequence[str] = PRIMITIVES,
                 partial_channels: int = 1):
        super().__init__()
        self.C, self.m, self.stride, self.k = C, m, stride, partial_channels
        self.primitives = check_primitives(primitives)
        c = check_partial_channels(C, partial_channels, stride)
        self.kinds: list[str] = []
        self.ops = nn.ModuleList()
        for name in self.primitives:
            if name == "none" and is_built_in(name):  # w * zeros adds nothing, passes no gradient
                kind, op = "zero", nn.Identity()
            elif not is_built_in(name):  # registered or overridden: its structure is unknown here
                kind, op = "per_edge", nn.ModuleList(candidate(name, c, stride) for _ in range(m))
            elif name in _SHARED or (name == "skip_connect" and stride == 1):
                kind, op = "shared", candidate(name, c, stride)
            elif name == "skip_connect":
                kind, op = "relu", WideFactorizedReduce(c, m)
            else:
                kernel, padding, dilation, stages = _CONVS[name]
                layers = [WideStage(c, m, kernel, stride, padding, dilation)]
                if stages == 2:  # SepConv: a second separable convolution, at stride 1
                    layers += [nn.ReLU(), WideStage(c, m, kernel, 1, padding, dilation)]
                kind, op = "wide", nn.Sequential(*layers)
            self.kinds.append(kind)
            self.ops.append(op)

    def forward(self, h: torch.Tensor, weights: torch.Tensor) -> list[torch.Tensor]:
        """Every edge's sum_o weights[e, o] * o_e(h) (eq. 2), one (B, C, H', W') tensor per edge; `weights` is (m, ops).

        The m edges are mixed as one (B, m, c, H', W') tensor, or (B, H', W', m, c) when `h` is channels-last:
        then the mixture, and every gradient autograd allocates for it, stays channels-last too.
        """
        x = h[:, : self.C // self.k] if self.k > 1 else h
        nhwc = is_channels_last(x)
        c = x.shape[1]

        def by_edge(y: torch.Tensor) -> torch.Tensor:  # (B, n c, H, W) -> (B, n, c, H, W) or (B, H, W, n, c)
            return y.permute(0, 2, 3, 1).unflatten(3, (-1, c)) if nhwc else y.unflatten(1, (-1, c))

        edge_dim, w_shape = (3, (self.m, 1)) if nhwc else (1, (1, self.m, 1, 1, 1))
        # A candidate that every edge weights exactly 0 adds nothing: skipped where no gradient is wanted
        # (a derived cell's one-hot weights, a planted teacher), as `none` always is.
        used = [True] * len(self.ops) if weights.requires_grad else weights.ne(0).any(0).tolist()
        relu, repeated, out = F.relu(x), None, None
        for o, (kind, op) in enumerate(zip(self.kinds, self.ops)):
            if kind == "zero" or not used[o]:
                continue
            if kind == "shared":
                y = by_edge(op(x))                            # the same for every edge: broadcast
            elif kind == "per_edge":
                y = by_edge(torch.cat([edge_op(x) for edge_op in op], 1))
            else:
                if kind == "wide" and repeated is None:
                    repeated = repeat_channels(relu, self.m)  # (B, m c, H, W), edge-major
                y = by_edge(op(relu if kind == "relu" else repeated))
            term = weights[:, o].view(w_shape) * y
            out = term if out is None else out + term
        if out is None:  # every candidate is `none`
            size = [(s - 1) // self.stride + 1 for s in x.shape[-2:]]
            edges = [x.new_zeros(len(x), c, *size) for _ in range(self.m)]
        else:
            edges = [e.permute(0, 3, 1, 2) if nhwc else e for e in out.unbind(edge_dim)]
        if self.k == 1:
            return edges
        rest = bypass(h[:, self.C // self.k:], self.stride)
        return [channel_shuffle(torch.cat([e, rest], 1), self.k) for e in edges]


def fan_out_edges(nodes: int) -> list[list[int]]:
    """For every state j (inputs 0, 1 and nodes 0..nodes-2), the edge rows (j -> i) of the alpha tensor."""
    offsets = [sum(2 + k for k in range(i)) for i in range(nodes)]
    return [[offsets[i] + j for i in range(max(0, j - 1), nodes)] for j in range(nodes + 1)]


class FastSearchCell(nn.Module):
    """`SearchCell` with one `FanOut` per state instead of one `MixedOp` per edge (same function)."""

    def __init__(self, nodes: int, multiplier: int, c_prev_prev: int, c_prev: int, C: int,
                 reduction: bool, reduction_prev: bool, primitives: Sequence[str] = PRIMITIVES,
                 partial_channels: int = 1):
        super().__init__()
        self.reduction, self.nodes, self.multiplier = reduction, nodes, multiplier
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(c_prev_prev, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(c_prev_prev, C, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(c_prev, C, 1, 1, 0, affine=False)
        rows = fan_out_edges(nodes)
        self.fan_outs = nn.ModuleList(
            FanOut(C, 2 if reduction and j < 2 else 1, len(r), primitives, partial_channels)
            for j, r in enumerate(rows))
        # one gather puts the alpha rows in fan-out order; then each state takes a slice
        self.register_buffer("order", torch.tensor([e for r in rows for e in r]), persistent=False)
        self.sizes = [len(r) for r in rows]

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        partial: list[torch.Tensor | None] = [None] * self.nodes
        for j, (fan_out, w) in enumerate(zip(self.fan_outs, weights[self.order].split(self.sizes))):
            if j >= 2:  # node j-2 has all its inputs (states 0 .. j-1) by now
                states.append(partial[j - 2])
            for e, c in enumerate(fan_out(states[j], w)):
                i = max(0, j - 1) + e
                partial[i] = c if partial[i] is None else partial[i] + c
        states.append(partial[-1])
        return torch.cat(states[-self.multiplier:], dim=1)

    @classmethod
    def from_plain(cls, cell: SearchCell) -> "FastSearchCell":
        """A fast cell computing exactly what `cell` computes (its weights and BatchNorm buffers copied)."""
        mixed = cell.edges[0]
        reduction_prev = isinstance(cell.preprocess0, FactorizedReduce)
        c_prev_prev = (cell.preprocess0.conv_a if reduction_prev else cell.preprocess0[1]).in_channels
        fast = cls(cell.nodes, cell.multiplier, c_prev_prev, cell.preprocess1[1].in_channels, mixed.C,
                   cell.reduction, reduction_prev, mixed.primitives, mixed.k).to(next(cell.parameters()))
        fast.preprocess0.load_state_dict(cell.preprocess0.state_dict())
        fast.preprocess1.load_state_dict(cell.preprocess1.state_dict())
        for fan_out, rows in zip(fast.fan_outs, fan_out_edges(cell.nodes)):
            _copy_edges(fan_out, [cell.edges[e] for e in rows])
        return fast


@torch.no_grad()
def _copy_edges(fan_out: FanOut, edges: list) -> None:
    """Stack the weights and BatchNorm buffers of m `MixedOp`s into the wide modules of `fan_out`."""
    for o, (kind, wide) in enumerate(zip(fan_out.kinds, fan_out.ops)):
        plain = [edge.ops[o] for edge in edges]
        if kind == "zero":
            continue
        if kind == "shared":  # identical on every edge: any edge's buffers will do
            wide.load_state_dict(plain[0].state_dict())
        elif kind == "per_edge":
            for target, source in zip(wide, plain):
                target.load_state_dict(source.state_dict())
        elif kind == "relu":  # WideFactorizedReduce <- FactorizedReduce per edge
            _stack_into(wide, plain, {"conv_a.weight": "conv_a.weight", "conv_b.weight": "conv_b.weight"}, "bn")
        else:  # wide convolutions <- SepConv (two DilConv stages) or DilConv
            stages = [m for m in wide if isinstance(m, WideStage)]
            sources = [[p[s] for p in plain] for s in range(len(stages))] if len(stages) == 2 else [plain]
            for stage, dil_convs in zip(stages, sources):
                _stack_into(stage, dil_convs, {"depthwise.weight": "1.weight", "pointwise.weight": "2.weight"}, "bn",
                            source_bn="3")


def _stack_into(wide: nn.Module, plain: list[nn.Module], weights: dict[str, str], bn: str,
                source_bn: str = "bn") -> None:
    """wide[name] = cat over edges of plain[source name] (dim 0), BatchNorm running statistics likewise."""
    target = wide.state_dict()
    for name, source in weights.items():
        target[name] = torch.cat([p.state_dict()[source] for p in plain])
    for buffer in ("running_mean", "running_var"):
        target[f"{bn}.{buffer}"] = torch.cat([p.state_dict()[f"{source_bn}.{buffer}"] for p in plain])
    target[f"{bn}.num_batches_tracked"] = plain[0].state_dict()[f"{source_bn}.num_batches_tracked"]
    wide.load_state_dict(target)
