"""The zero-cost proxy: a network scored untrained, from one batch or from no data (Abdelfattah et al., ICLR 2021).

A `Proxy` is a function `fn(model, X, y, loss_fn) -> float` (higher: the network is expected to train
better), the paper it comes from, and what its score depends on besides the architecture: the batch
(`"batch"`) and the initial weights (`"init"`). Each proxy lives in its own module with one
`register_proxy` line, so that `PROXIES` lists them all and every one is scored the same way.

A proxy works on a copy of the network (`scratch_copy`), in training mode as the reference code
runs its networks (BatchNorm on the batch's statistics), so the caller's network, its weights,
gradients, BatchNorm statistics and mode, is left as it was.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

#: What a proxy's score may depend on besides the architecture.
DEPENDENCIES = ("batch", "init")
_BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


@dataclass(frozen=True)
class Proxy:
    """A registered zero-cost proxy: its function, its paper and what its score depends on."""

    name: str
    fn: Callable[..., float]         # fn(model, X, y, loss_fn) -> float; higher is better
    paper: str                       # citation, with the equation
    depends_on: tuple[str, ...]      # a subset of DEPENDENCIES; () for a count of the architecture
    description: str = ""

    def __call__(self, model: nn.Module, X: torch.Tensor, y: torch.Tensor | None = None,
                 loss_fn: Callable | None = None) -> float:
        """The proxy's score of `model` on the batch (X, y); `loss_fn` defaults to cross-entropy."""
        return float(self.fn(model, X, y, F.cross_entropy if loss_fn is None else loss_fn))


#: The zero-cost proxies by name, in registration order; filled by `register_proxy` in each proxy's module.
PROXIES: dict[str, Proxy] = {}


def register_proxy(name: str, fn: Callable[..., float], paper: str, depends_on: tuple[str, ...] = DEPENDENCIES,
                   description: str = "") -> Proxy:
    """Add (or replace) the proxy `name` in `PROXIES`."""
    unknown = set(depends_on) - set(DEPENDENCIES)
    if not name or not callable(fn) or unknown:
        raise ValueError(f"register_proxy needs a name, a function and dependencies among {DEPENDENCIES}, got "
                         f"{name!r}, {fn!r}, {depends_on!r}")
    PROXIES[name] = Proxy(name, fn, paper, tuple(depends_on), description)
    return PROXIES[name]


def scratch_copy(model: nn.Module, batchnorm: bool = True) -> nn.Module:
    """A copy of `model` in training mode to score; without `batchnorm`, its BatchNorm layers are the identity.

    Dropping BatchNorm is what the reference code does for synflow (`copynet(bn=False)` in
    Abdelfattah et al.'s code): normalising by the batch would undo the all-ones input's scale.
    """
    net = copy.deepcopy(model).train()
    if not batchnorm:
        for parent in list(net.modules()):
            for child_name, child in parent.named_children():
                if isinstance(child, _BATCHNORM):
                    setattr(parent, child_name, nn.Identity())
    net.zero_grad(set_to_none=True)
    return net


def weighted_layers(model: nn.Module) -> list[nn.Module]:
    """The convolutions and linear layers: the layers whose weights the pruning proxies sum over."""
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
