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

from .ops import PRIMITIVES, FactorizedReduce, ReLUConvBN, check_primitives, is_built_in, shift_by_one_pixel
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
        self.depthwise = nn.Conv2d(m * C, m * C, kernel, stride, padding, dilation, groups=m * C, bias=False)
        self.pointwise = nn.Conv2d(m * C, m * C, 1, groups=m, bias=False)
        self.bn = nn.BatchNorm2d(m * C, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.pointwise(self.depthwise(x)))


class WideFactorizedReduce(nn.Module):
    """`FactorizedReduce` (the stride-2 skip) for m edges at once, on the shared ReLU'd input."""

    def __init__(self, C: int, m: int):
        super().__init__()
        self.C, self.m = C, m
        self.conv_a = nn.Conv2d(C, m * C // 2, 1, stride=2, bias=False)
        self.conv_b = nn.Conv2d(C, m * C // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(m * C, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.conv_a(x), self.conv_b(shift_by_one_pixel(x))
        B, _, H, W = a.shape
        per_edge = torch.cat([a.view(B, self.m, self.C // 2, H, W), b.view(B, self.m, self.C // 2, H, W)], 2)
        return self.bn(per_edge.view(B, self.m * self.C, H, W))


class FanOut(nn.Module):
    """The m MixedOps leaving one state, each candidate batched across them; forward -> (B, m, C, H', W').

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

    def forward(self, h: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Every edge's sum_o weights[e, o] * o_e(h) (eq. 2), stacked along dim 1; `weights` is (m, ops)."""
        x = h[:, : self.C // self.k] if self.k > 1 else h
        relu, repeated, out = F.relu(x), None, None
        for o, (kind, op) in enumerate(zip(self.kinds, self.ops)):
            if kind == "zero":
                continue
            if kind == "shared":
                y = op(x).unsqueeze(1)                        # the same for every edge
            elif kind == "per_edge":
                y = torch.stack([edge_op(x) for edge_op in op], 1)
            else:
                if kind == "wide" and repeated is None:
                    repeated = relu.repeat(1, self.m, 1, 1)  # (B, m c, H, W), edge-major
                y = op(relu if kind == "relu" else repeated)
                y = y.view(len(x), self.m, -1, *y.shape[-2:])
            term = weights[:, o].view(1, self.m, 1, 1, 1) * y
            out = term if out is None else out + term
        if out is None:  # every candidate is `none`
            size = [(s - 1) // self.stride + 1 for s in x.shape[-2:]]
            out = x.new_zeros(len(x), self.m, x.shape[1], *size)
        if self.k == 1:
            return out
        rest = bypass(h[:, self.C // self.k:], self.stride).unsqueeze(1).expand(-1, self.m, -1, -1, -1)
        both = torch.cat([out, rest], 2)
        B, m, C, H, W = both.shape
        return channel_shuffle(both.reshape(B * m, C, H, W), self.k).view(B, m, C, H, W)


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
            contributions = fan_out(states[j], w)
            for e in range(contributions.shape[1]):
                i = max(0, j - 1) + e
                partial[i] = contributions[:, e] if partial[i] is None else partial[i] + contributions[:, e]
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
