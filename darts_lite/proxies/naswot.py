"""NASWOT (Mellor et al., "Neural Architecture Search without Training", ICML 2021, eq. 2): log|K_H|.

Each input of the batch switches every ReLU on or off: its binary code c_i. The kernel
K_H[i, j] = N_A - d_H(c_i, c_j) counts the units where inputs i and j share their sign (N_A units,
d_H the Hamming distance). A network that tells the inputs of a batch apart has codes far apart,
K_H close to diagonal, and a large log-determinant.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .base import register_proxy, scratch_copy


def naswot_kernel(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """K_H (float64, inputs x inputs): K_H[i, j] = units where inputs i and j share their ReLU sign."""
    net, codes = scratch_copy(model), []
    for m in net.modules():
        if isinstance(m, nn.ReLU):
            m.register_forward_hook(lambda mod, inp, out: codes.append((out > 0).flatten(1).double()))
    with torch.no_grad():
        net(X)
    c = torch.cat(codes, dim=1)
    return c @ c.T + (1 - c) @ (1 - c).T


def naswot_score(model: nn.Module, X: torch.Tensor, y=None, loss_fn=None) -> float:
    """log|K_H| (eq. 2) of the batch X."""
    return float(torch.linalg.slogdet(naswot_kernel(model, X))[1])


register_proxy("naswot", naswot_score, "Mellor et al., ICML 2021, eq. 2: log|K_H|")
