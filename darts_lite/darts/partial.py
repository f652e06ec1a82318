"""Partial channel connections (PC-DARTS, Xu et al., 2020, Sec. 3.2): 1/K of the channels through the MixedOp.

On every edge only the first C/K channels go through the candidate operations; the other
C - C/K bypass them (max-pooled where the edge has stride 2), the two parts are concatenated and
the channels shuffled in K groups, so that the next edge samples other channels:

    f_{i,j}(x) = shuffle( [ sum_o softmax(alpha)_o o(x[:C/K]) ,  x[C/K:] ] ).

The mixed operations' activations, the dominant memory cost of a search, shrink K-fold.
(PC-DARTS also normalises the edges entering a node by learned betas; that part is not here.)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def check_partial_channels(C: int, k: int, stride: int) -> int:
    """The channels C/K that go through the candidates; refuses a K that does not divide C usably."""
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"partial_channels must be an integer >= 1 (1: every channel), got {k!r}")
    if C % k:
        raise ValueError(f"partial_channels={k} must divide the {C} channels of the cell; use a divisor of {C}")
    if stride == 2 and (C // k) % 2:
        raise ValueError(f"with partial_channels={k} a reduction edge gets {C // k} channels, but its skip "
                         "connection (FactorizedReduce) needs an even number; lower partial_channels or raise C")
    return C // k


def bypass(x: torch.Tensor, stride: int) -> torch.Tensor:
    """The channels that skip the candidates: as they are, or max-pooled 2x2 on a stride-2 edge."""
    return x if stride == 1 else F.max_pool2d(x, 2, 2, ceil_mode=True)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(B, C, H, W) -> the channels interleaved: channel g * (C/groups) + i moves to i * groups + g."""
    B, C, H, W = x.shape
    return x.view(B, groups, C // groups, H, W).transpose(1, 2).reshape(B, C, H, W)
