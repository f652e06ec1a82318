"""beta-DARTS's Beta-Decay regularisation (Ye et al., CVPR 2022, Sec. 3.2).

The alphas' softmax beta = softmax(alpha) of an edge is kept from growing large and peaked by
adding to the alpha step's loss the smooth maximum of the alphas, averaged over the edges:

    L = L_val + lambda_t * mean_edges log sum_o exp(alpha_o),     lambda_t = lambda * t,

t the share of the search done (lambda rising linearly from 0, as in the authors' code: 50 t on
NAS-Bench-201). Its gradient with respect to alpha is softmax(alpha) / edges: each alpha is
pulled down in proportion to its own weight, a "decay" of beta that leaves the ranking free.
"""
from __future__ import annotations

import torch

from .base import Remedy, Setting, Study, register_remedy


def beta_decay_loss(alphas: list[torch.Tensor]) -> torch.Tensor:
    """mean over the edges of every cell kind of logsumexp(alpha_edge): the Beta-Decay loss."""
    return torch.cat([torch.logsumexp(a, dim=-1) for a in alphas]).mean()


@register_remedy
class BetaDecay(Remedy):
    """lambda * t * beta_decay_loss(alphas) added to L_val for alpha."""

    setting = Setting("beta_decay", 0.0, "beta-DARTS: lambda of the Beta-Decay loss, rising linearly from 0 (NB201: 50)")
    paper = "beta-DARTS (Ye et al., 2022)"
    study = Study("beta_darts", 50.0, "darts_travel + beta-DARTS Beta-Decay (lambda 0 -> 50): the schedule 'beta_darts'")
    undecided_advice = ("beta-DARTS's Beta-Decay keeps the alphas from concentrating by design: read its genotype as "
                        "the argmax of small differences, and judge it against random search (notebook 08), not by "
                        "its kept weight.")

    def alpha_penalty(self, model, progress: float) -> torch.Tensor:
        return self.value * progress * beta_decay_loss(model.arch_parameters())
