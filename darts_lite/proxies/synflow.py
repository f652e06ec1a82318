"""SynFlow (Tanaka et al., "Pruning neural networks without any data by iteratively conserving synaptic flow",
NeurIPS 2020, eq. 2), summed over the network as a zero-cost proxy (Abdelfattah et al., ICLR 2021, Sec. 3).

With every weight replaced by its absolute value and BatchNorm removed, one all-ones input gives
R = 1^T (prod_l |W_l|) 1, the sum of the outputs. The synaptic saliency of a weight is
S(theta) = dR/dtheta * theta, and the score is sum |S| over the weights of every convolution and
linear layer. No data: it depends on the initial weights only. As in the reference code, it runs
in float64, since R is a product over layers.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .base import register_proxy, scratch_copy, weighted_layers


def synflow(model: nn.Module, X: torch.Tensor, y=None, loss_fn=None) -> float:
    """sum over conv and linear weights of |theta * dR/dtheta|, R the summed output of |weights| on ones."""
    net = scratch_copy(model, batchnorm=False).double()
    with torch.no_grad():
        for tensor in net.state_dict().values():
            tensor.abs_()
    ones = torch.ones((1, *X.shape[1:]), dtype=torch.float64, device=X.device)
    net(ones).sum().backward()
    with torch.no_grad():
        return float(sum((m.weight * m.weight.grad).abs().sum() for m in weighted_layers(net)
                         if m.weight.grad is not None))


register_proxy("synflow", synflow, "Tanaka et al., NeurIPS 2020, eq. 2 (synaptic saliency), summed as in "
               "Abdelfattah et al., ICLR 2021", depends_on=("init",))
