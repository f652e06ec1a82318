"""A lookup table (LUT) of costs: one entry per (slot, choice); a network's cost is the sum of its entries.

The latency model of hardware-aware NAS (FBNet, Wu et al., CVPR 2019, Sec. 3.2; ProxylessNAS,
Cai et al., ICLR 2019, Sec. 3.3): a network that picks choice c_l in every slot l (a layer's kernel
size, an edge's operation) costs

    cost(c) = fixed + sum_l LUT[l, c_l]                                  (`predict`)

and a supernet that mixes the choices with softmax(alpha_l) has the expected cost

    LAT(alpha) = fixed + sum_l sum_c softmax(alpha_l)_c LUT[l, c]        (`expected`)

which is differentiable in alpha, so it can join the loss: L = CE + beta * LAT(alpha).

One type serves every table of the course: the one measured layer by layer on this machine
(`meta_kernels.cost_table.CostTable`) and one fitted to published whole-network measurements
(`ground_truth.latency_model.fit_additive`): both predict, and both give the search its LAT(alpha).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch


class AdditiveCosts:
    """The sums of a LUT. A subclass provides `choices` (the options of every slot), `costs` and `fixed`.

    `costs[resource][l][i]` is slot l's cost of choice `choices[i]`; `fixed[resource]` is the rest of
    the network (stem, head), paid whatever the choices.
    """

    choices: tuple
    costs: dict[str, list[list[float]]]
    fixed: dict[str, float]

    def tensor(self, resource: str) -> torch.Tensor:
        """(slots, choices) entries of one resource."""
        if resource not in self.costs:
            raise KeyError(f"unknown resource {resource!r}; the table has {sorted(self.costs)}")
        return torch.tensor(self.costs[resource], dtype=torch.float32)

    def index_of(self, chosen: Sequence) -> list[int]:
        """The column of each slot's choice; a clear error for a choice the table does not hold."""
        chosen = list(chosen)
        slots = len(next(iter(self.costs.values())))
        if len(chosen) != slots:
            raise ValueError(f"the table has {slots} slots; got {len(chosen)} choices {chosen}")
        missing = [c for c in chosen if c not in self.choices]
        if missing:
            raise ValueError(f"{missing} not among the table's choices {self.choices}")
        return [self.choices.index(c) for c in chosen]

    def predict(self, chosen: Sequence) -> dict[str, float]:
        """Cost of the discrete network with these choices: fixed + the sum of their entries."""
        idx = self.index_of(chosen)
        return {r: self.fixed[r] + sum(self.costs[r][slot][i] for slot, i in enumerate(idx)) for r in self.costs}

    def predict_indices(self, indices: np.ndarray, resource: str) -> np.ndarray:
        """(n,) costs of n networks given as (n, slots) choice columns: the same sum, vectorised."""
        lut = np.asarray(self.costs[resource], dtype=float)
        indices = np.asarray(indices)
        return self.fixed[resource] + lut[np.arange(lut.shape[0]), indices].sum(axis=1)

    def expected(self, alphas: torch.Tensor) -> dict[str, torch.Tensor]:
        """LAT(alpha): E[cost] under softmax(alphas) per slot, differentiable in alphas."""
        shape = tuple(np.shape(next(iter(self.costs.values()))))
        if tuple(alphas.shape) != shape:  # a (choices,) or (1, choices) alpha would broadcast over every slot
            raise ValueError(f"alphas of shape {tuple(alphas.shape)}; the table's is {shape} (slots x choices)")
        w = torch.softmax(alphas, dim=-1)
        return {r: self.fixed[r] + (w * self.tensor(r).to(w)).sum() for r in self.costs}


@dataclass
class LookupTable(AdditiveCosts):
    """A LUT for `device`: every slot offers the same `choices`; costs per resource, [slot][choice]."""

    device: str
    choices: tuple
    costs: dict[str, list[list[float]]]
    fixed: dict[str, float] = field(default_factory=dict)

    def __post_init__(self):
        self.choices = tuple(self.choices)
        if not self.costs:
            raise ValueError("a lookup table needs at least one resource in `costs`")
        for r, rows in self.costs.items():
            shape = np.shape(rows)
            if len(shape) != 2 or shape[1] != len(self.choices):
                raise ValueError(f"costs[{r!r}] must be [slot][choice] with {len(self.choices)} choices "
                                 f"{self.choices}; got shape {shape}")
            self.fixed.setdefault(r, 0.0)
        slots = {r: len(rows) for r, rows in self.costs.items()}
        if len(set(slots.values())) > 1:
            raise ValueError(f"every resource must have the same number of slots; got {slots}")
