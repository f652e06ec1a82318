"""SDARTS-RS: random smoothing of the architecture (Chen & Hsieh, ICML 2020, Sec. 3.1, eq. 5).

DARTS collapses where its validation loss is sharp in alpha: the weights w fit the one mixture
softmax(alpha) they train under, so the discretised cell, far from it, does badly. SDARTS-RS
trains w under random perturbations of the mixture, so that w fits a neighbourhood of it:

    min_w  E_{delta ~ U[-eps, eps]}  L_train(w, clip(softmax(alpha) + delta)),

one draw of delta per w step; the alpha step is DARTS's. As in the authors' code, the noise is
added to the mixing weights, `clip` clamps them to [0, 1] and renormalises each edge to sum 1,
and the radius grows linearly over the search: eps_t = eps_0 + (eps - eps_0) t, eps_0 = 0.03,
t the share of the search done (paper: eps = 0.3).
"""
from __future__ import annotations

import torch

from ...core.config import ConfigError
from .base import Remedy, Setting, Study, register_remedy

START = 0.03  # eps_0, the radius at the first step (the authors' code)


def smoothing_radius(epsilon: float, progress: float) -> float:
    """eps_t: from START (or epsilon, if smaller) linearly to `epsilon` over the search."""
    start = min(START, epsilon)
    return start + (epsilon - start) * min(max(progress, 0.0), 1.0)


def clip(weights: torch.Tensor) -> torch.Tensor:
    """Each edge's weights clamped to [0, 1] and renormalised to sum 1 (one-hot at the argmax if all are 0)."""
    clamped = weights.clamp(0.0, 1.0)
    empty = clamped.sum(-1, keepdim=True) == 0
    one_hot = torch.nn.functional.one_hot(weights.argmax(-1), weights.shape[-1]).to(weights)
    clamped = torch.where(empty, one_hot, clamped)
    return clamped / clamped.sum(-1, keepdim=True)


def smooth(weights: torch.Tensor, epsilon: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """clip(weights + delta), delta ~ U[-epsilon, epsilon] drawn per (edge, operation)."""
    delta = torch.rand(weights.shape, generator=generator, dtype=weights.dtype, device=weights.device)
    return clip(weights + (2 * delta - 1) * epsilon)


@register_remedy
class RandomSmoothing(Remedy):
    """The w step trains under softmax(alpha) perturbed by U[-eps_t, eps_t], clipped per edge."""

    setting = Setting("sdarts_rs", 0.0, "SDARTS-RS: largest radius eps of the uniform noise on the w step's "
                      "mixing weights, rising from 0.03 (paper: 0.3); 0: off")
    paper = "SDARTS-RS (Chen & Hsieh, 2020)"
    study = Study("sdarts_rs", 0.3, "darts_travel + SDARTS-RS random smoothing (eps 0.03 -> 0.3)")

    @classmethod
    def check(cls, config) -> None:
        if config.sampling != "softmax":
            raise ConfigError("SearchConfig.sdarts_rs (SDARTS-RS) perturbs the softmax mixture; a single-path "
                              "search (sampling='gumbel') has none: use sampling='softmax'")

    def weight_step_mixing(self, weights: dict[str, torch.Tensor], progress: float) -> dict[str, torch.Tensor]:
        epsilon = smoothing_radius(self.value, progress)
        return {kind: smooth(w, epsilon) for kind, w in weights.items()}
