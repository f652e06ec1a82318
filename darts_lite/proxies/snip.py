"""SNIP (Lee et al., "SNIP: Single-shot Network Pruning based on Connection Sensitivity", ICLR 2019, eq. 6),
summed over the network as a zero-cost proxy (Abdelfattah et al., ICLR 2021, Sec. 3).

SNIP multiplies each weight by a mask c = 1 and asks how the loss changes with it:
dL/dc = dL/dw * w at c = 1. The score is sum |dL/dw * w| over the weights of every convolution
and linear layer, on one batch at initialisation.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .base import register_proxy, scratch_copy, weighted_layers


def snip(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn) -> float:
    """sum over conv and linear weights of |w * dL/dw| on the batch (X, y): the loss's sensitivity to masks."""
    net = scratch_copy(model)
    loss_fn(net(X), y).backward()
    with torch.no_grad():
        return float(sum((m.weight * m.weight.grad).abs().sum() for m in weighted_layers(net)
                         if m.weight.grad is not None))


register_proxy("snip", snip, "Lee et al., ICLR 2019, eq. 6 (connection sensitivity), summed as in "
               "Abdelfattah et al., ICLR 2021")
