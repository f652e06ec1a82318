"""Feedback blocks: meta-kernels trained in parallel, blended by how well each one does.

m copies of a network train side by side (own data order, own optimiser). Every `period` steps
the kernels of each meta-kernel layer are replaced, in every copy, by their blend

    K_1' = ... = K_m' = sum_i beta_i K_i,     beta_i = tanh(1 / L_i) / sum_j tanh(1 / L_j),

L_i the copies' current losses, so the kernel of the copy with the lower loss has more influence.
`feedback_betas` is the rule; `blend_meta_kernels` applies it to every `MetaKernelConv` of the
copies; `FeedbackGroup` runs the copies and the period, with an on/off switch for ablations.
Feedback blocks are the course's own idea, with no paper behind them; notebook 05 tests whether
they shorten the search.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn as nn

from .meta_kernel import MetaKernelConv


def feedback_betas(losses: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """beta_i = tanh(1 / L_i) / sum_j tanh(1 / L_j); losses must be positive and finite."""
    L = torch.as_tensor(losses, dtype=torch.float64)
    if L.ndim != 1 or len(L) == 0 or not torch.all(torch.isfinite(L)) or torch.any(L <= 0):
        raise ValueError(f"feedback needs a 1-D sequence of positive finite losses, got {L.tolist()}")
    t = torch.tanh(1 / L)
    return t / t.sum()


def meta_kernels(model: nn.Module) -> list[MetaKernelConv]:
    """Every meta-kernel layer of `model`, in module order."""
    return [m for m in model.modules() if isinstance(m, MetaKernelConv)]


@torch.no_grad()
def blend_meta_kernels(models: Sequence[nn.Module], losses: Sequence[float]) -> torch.Tensor:
    """Set each meta-kernel, in every model, to the beta-weighted blend of that kernel across models.

    Returns the betas. The models must have the same meta-kernel layers (copies of one network).
    """
    betas = feedback_betas(losses)
    if len(betas) != len(models):
        raise ValueError(f"{len(models)} models but {len(betas)} losses")
    layers = [meta_kernels(m) for m in models]
    if len({len(ls) for ls in layers}) != 1 or not layers[0]:
        raise ValueError("the models must have the same, non-zero number of MetaKernelConv layers")
    for position in zip(*layers):
        for s in range(len(position[0].kernels)):
            blend = sum(float(b) * layer.kernels[s] for b, layer in zip(betas, position))
            for layer in position:
                layer.kernels[s].copy_(blend)
    return betas


class FeedbackGroup:
    """m copies trained in parallel; every `period` steps their meta-kernels are blended (if `enabled`).

    `step_fn(model, optimizer, batch) -> loss` performs one training step of one copy.
    """

    def __init__(self, models: Sequence[nn.Module], optimizers: Sequence[torch.optim.Optimizer],
                 step_fn: Callable[[nn.Module, torch.optim.Optimizer, object], float], period: int = 1,
                 enabled: bool = True):
        if len(models) != len(optimizers) or len(models) < 1:
            raise ValueError("FeedbackGroup needs one optimizer per model and at least one model")
        if period < 1:
            raise ValueError(f"period must be >= 1, got {period}")
        self.models, self.optimizers, self.step_fn = list(models), list(optimizers), step_fn
        self.period, self.enabled, self.steps = period, enabled, 0
        self.last_betas: torch.Tensor | None = None

    def step(self, batches: Sequence[object]) -> list[float]:
        """One step of every copy on its own batch; then the blend when the period is due."""
        losses = [self.step_fn(m, o, b) for m, o, b in zip(self.models, self.optimizers, batches)]
        self.steps += 1
        if self.enabled and len(self.models) > 1 and self.steps % self.period == 0:
            self.last_betas = blend_meta_kernels(self.models, losses)
        return losses
