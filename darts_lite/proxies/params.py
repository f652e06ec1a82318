"""The parameter count: the baseline every zero-cost proxy must beat (Ning et al., 2021; NAS-Bench-Suite-Zero,
Krishnakumar et al., NeurIPS 2022).

Not a proxy of any paper but a count of the architecture: no data, no initialisation.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..core.cost import count_parameters
from .base import register_proxy


def params(model: nn.Module, X: torch.Tensor | None = None, y=None, loss_fn=None) -> float:
    """The number of parameters of `model`."""
    return float(count_parameters(model))


register_proxy("params", params, "the parameter count, a baseline (NAS-Bench-Suite-Zero, NeurIPS 2022)", ())
