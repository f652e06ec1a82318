"""The one thing a bilevel search asks of a model: which of its parameters are the alphas.

DARTS (Liu et al., 2019, eq. 3) optimises two sets of parameters of one network: the architecture
alpha on validation data and the weights w on training data. Every searched model of the course
(the DARTS supernet, the DAG blocks' and the meta-kernels' networks, NAS-Bench-201's supernet) names
its alphas; the weights are everything else, derived here once.
"""
from __future__ import annotations

from typing import Iterator

import torch.nn as nn


class BilevelModule(nn.Module):
    """A model whose parameters split into the alphas (`arch_parameters`) and the weights w (the rest)."""

    def arch_parameters(self) -> list[nn.Parameter]:
        raise NotImplementedError(f"{type(self).__name__} must say which of its parameters are the alphas")

    def named_weights(self) -> Iterator[tuple[str, nn.Parameter]]:
        """(name, parameter) of the weights w, i.e. every parameter that is not an alpha, in registration order."""
        alphas = {id(a) for a in self.arch_parameters()}
        return ((n, p) for n, p in self.named_parameters() if id(p) not in alphas)

    def weight_parameters(self) -> list[nn.Parameter]:
        """The weights w, kept apart from the alphas."""
        return [p for _, p in self.named_weights()]
