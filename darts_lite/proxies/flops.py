"""FLOPs: the floating-point operations of one image's forward pass, a baseline like the parameter count
(NAS-Bench-Suite-Zero, Krishnakumar et al., NeurIPS 2022).

Counted by `torch.utils.flop_counter.FlopCounterMode` (a multiply-accumulate is 2 FLOPs; convolutions
and matrix products only, as the benchmarks count them). It depends on the architecture and the
image size, not on the data or the weights.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from .base import register_proxy, scratch_copy


def flops(model: nn.Module, X: torch.Tensor, y=None, loss_fn=None) -> float:
    """FLOPs of the forward pass of one image shaped like X[0] (in evaluation mode, on a copy)."""
    net = scratch_copy(model).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(torch.zeros_like(X[:1]))
    return float(counter.get_total_flops())


register_proxy("flops", flops, "FLOPs of one forward pass, a baseline (NAS-Bench-Suite-Zero, NeurIPS 2022)", ())
