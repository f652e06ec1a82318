"""grad_norm (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, Sec. 3).

The L2 norm of the loss's gradient with respect to each convolution's and linear layer's weights,
on one batch at initialisation, summed over those layers: sum_l ||dL/dW_l||_2.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .base import register_proxy, scratch_copy, weighted_layers


def grad_norm(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn) -> float:
    """sum over conv and linear layers of ||dL/dW||_2 on the batch (X, y)."""
    net = scratch_copy(model)
    loss_fn(net(X), y).backward()
    return float(sum(m.weight.grad.norm() for m in weighted_layers(net) if m.weight.grad is not None))


register_proxy("grad_norm", grad_norm, "Abdelfattah et al., ICLR 2021, Sec. 3: sum of per-layer gradient norms")
