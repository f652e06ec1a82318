"""DARTS-'s auxiliary skip connection (Chu et al., ICLR 2021, Sec. 3.2).

Every edge gets a skip connection outside the softmax, with a weight beta that decays to 0:

    o_bar(x) = beta * x + sum_o softmax(alpha)_o * o(x),     beta = beta_0 * (1 - t),

t the share of the search done (linear decay, the paper's default). The residual path carries
the gradient that otherwise makes `skip_connect` win the softmax (the "unfair advantage" of
skips), so alpha can rank the other operations; as beta reaches 0 the supernet becomes the
DARTS one again. beta enters as a constant added to the skip's mixing weight
(`SearchNetwork.weight_offsets`): it adds beta * skip(x) to the edge and passes no gradient to
alpha. On a stride-2 edge the skip is the candidate's `FactorizedReduce`.
"""
from __future__ import annotations

from ...core.config import ConfigError
from .base import Remedy, Setting, Study, register_remedy


def aux_skip_weight(beta_0: float, progress: float) -> float:
    """beta at `progress` (share of the search done): beta_0 linearly down to 0."""
    return beta_0 * max(0.0, 1.0 - progress)


@register_remedy
class AuxSkip(Remedy):
    """beta * skip(x) on every edge, beta decaying linearly from beta_0 (the setting) to 0 over the search."""

    setting = Setting("aux_skip", 0.0, "DARTS-: weight beta_0 of an extra skip on every edge, decaying to 0 (paper: 1)")
    paper = "DARTS- (Chu et al., 2021)"
    study = Study("darts_minus", 1.0, "darts_travel + DARTS- auxiliary skip (beta 1 -> 0)")

    @classmethod
    def check(cls, config) -> None:
        if "skip_connect" not in config.primitives:
            raise ConfigError("SearchConfig.aux_skip (DARTS-) weights the candidate skip_connect; add it to primitives")
        if config.sampling != "softmax":
            raise ConfigError("SearchConfig.aux_skip (DARTS-) adds a skip to the softmax mixture; a single-path "
                              "search (sampling='gumbel') runs one operation per edge: use sampling='softmax'")

    def before_step(self, model, progress: float) -> None:
        model.set_weight_offset("skip_connect", aux_skip_weight(self.value, progress))
