"""jacob_cov (Mellor et al., "Neural Architecture Search without Training", arXiv:2006.04647 v1, 2020, eq. 2).

For the batch x_1..x_N, J_i = d(sum of the network's outputs)/dx_i, flattened. The score looks at
the correlation matrix Sigma_J of the J_i: with sigma its eigenvalues and k = 1e-5,
S = -sum_i [log(sigma_i + k) + 1 / (sigma_i + k)]. A network whose local linear maps differ from
input to input has J_i little correlated, eigenvalues near 1 and a high score. The first version
of the NASWOT paper proposed it; Abdelfattah et al. (ICLR 2021) named it jacob_cov.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .base import register_proxy, scratch_copy

K = 1e-5  # keeps log and 1/x finite at a zero eigenvalue (the paper's k)


def jacobian_correlation(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Sigma_J (float64, inputs x inputs): the correlation of the inputs' Jacobians J_i = d(sum of outputs)/dx_i."""
    net = scratch_copy(model)
    x = X.detach().clone().requires_grad_(True)
    out = net(x)
    out.backward(torch.ones_like(out))
    return torch.corrcoef(x.grad.flatten(1).double())


def jacob_cov(model: nn.Module, X: torch.Tensor, y=None, loss_fn=None) -> float:
    """-sum(log(sigma + k) + 1 / (sigma + k)), sigma the eigenvalues of the correlation of the input Jacobians."""
    sigma = torch.linalg.eigvalsh(jacobian_correlation(model, X))
    return float(-(torch.log(sigma + K) + 1 / (sigma + K)).sum())


register_proxy("jacob_cov", jacob_cov, "Mellor et al., arXiv:2006.04647 v1 (2020), eq. 2; named in "
               "Abdelfattah et al., ICLR 2021")
