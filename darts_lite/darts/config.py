"""The configuration of a DARTS search (`search.search`) and its named architecture schedules.

Defaults are sized for a 2-core CPU; the paper's CIFAR-10 values are in comments.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.config import BaseSearchConfig, ConfigError, check_ranges
from .ops import PRIMITIVES, check_primitives
from .remedies import REMEDIES, check_settings, settings_dataclass


@dataclass
class SearchConfig(settings_dataclass(), BaseSearchConfig):
    """Everything a DARTS search needs (Algorithm 1 and Sec. 3.1.1 of the paper).

    Besides the fields below, one field per registered remedy (`remedies`, e.g. P-DARTS's cap on
    skips), each off at its default: a remedy declares its own setting.
    """

    # BaseSearchConfig: name (its default redeclared here), dataset, image_size, data_root
    name: str = "search"             # run directory: runs/<name>/
    layers: int = 5                  # cells in the supernet (paper: 8); reductions at 1/3 and 2/3 of the depth
    channels: int = 8                # channels of the first cells, doubled at each reduction (paper: 16)
    nodes: int = 4                   # intermediate nodes per cell (paper: 4)
    multiplier: int = 4              # last nodes concatenated into the cell output (paper: 4)
    stem_multiplier: int = 3         # the stem's channels as a multiple of `channels` (paper: 3)
    primitives: tuple[str, ...] = PRIMITIVES  # candidates on every edge, comma-separated (the paper's 8)
    epochs: int = 10                 # search epochs over search_train (paper: 50)
    batch_size: int = 64             # images per step for w and alpha (paper: 64); global under torchrun
    w_lr: float = 0.025              # SGD learning rate of the weights w, cosine-annealed to w_lr_min (paper: 0.025)
    w_lr_min: float = 0.001          # the weights' learning rate at the last epoch (paper: 0.001)
    w_momentum: float = 0.9          # SGD momentum of the weights (paper: 0.9)
    w_weight_decay: float = 3e-4     # L2 penalty on the weights (paper: 3e-4)
    arch_lr: float = 3e-4            # Adam learning rate of alpha, betas (0.5, 0.999) (paper: 3e-4); see arch_travel
    arch_travel: float = 0.0         # > 0: arch_lr = arch_travel / alpha steps (search.arch_lr); 0: off
    arch_weight_decay: float = 1e-3  # L2 penalty on alpha (paper: 1e-3)
    order: int | str = 1             # hypergradient: 1 (first order), 2 (finite differences, eq. 8), exact
    radius: float = 0.01             # finite-difference radius of eq. 8, eps = radius / ||v|| (paper: 0.01)
    grad_clip: float = 5.0           # largest norm of grad_w; 0 disables clipping (paper: 5)
    warmup_epochs: int = 0           # first epochs that train w only in the softmax mixture, before any alpha step
    sampling: str = "softmax"        # softmax (all candidates mixed, eq. 2) or gumbel (one per edge, GDAS)
    tau_max: float = 1.0             # temperature of the mixing at the first epoch, annealed linearly (GDAS: 10)
    tau_min: float = 1.0             # temperature at the last epoch (GDAS: 0.1)
    alpha_init_std: float = 1e-3     # standard deviation of the random initial alphas (small: no operation favoured)
    fast: bool = True                # batched cells (fast_cell): the same function, about 1.5x faster on a CPU
    partial_channels: int = 1        # PC-DARTS K: 1/K of each edge's channels go through its candidates; 1: off
    seed: int = 0                    # seeds the weights, the alphas, the data split and the batch order
    device: str = "auto"             # auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps

    def __post_init__(self):
        try:
            self.primitives = check_primitives(self.primitives)
        except ValueError as e:
            raise ConfigError(f"SearchConfig.primitives: {e}") from e
        check_ranges(self, {"layers": (3, None), "channels": (1, None), "nodes": (1, None),
                            "multiplier": (1, self.nodes), "stem_multiplier": (1, None), "epochs": (1, None),
                            "batch_size": (1, None), "w_lr": (0, None), "w_lr_min": (0, self.w_lr),
                            "w_momentum": (0, 1), "w_weight_decay": (0, None), "arch_lr": (0, None),
                            "arch_weight_decay": (0, None), "radius": (0, None), "grad_clip": (0, None),
                            "alpha_init_std": (0, None), "seed": (0, None)})
        if self.image_size is not None:
            check_ranges(self, {"image_size": (4, None)})
        check_ranges(self, {"warmup_epochs": (0, self.epochs - 1), "arch_travel": (0, None),
                            "tau_max": (1e-3, None), "tau_min": (1e-3, self.tau_max)})
        if self.sampling not in ("softmax", "gumbel"):
            raise ConfigError(f"SearchConfig.sampling must be 'softmax' or 'gumbel', got {self.sampling!r}")
        if self.sampling == "gumbel" and self.order != 1:
            raise ConfigError("SearchConfig.order must be 1 with sampling='gumbel': a sampled forward pass "
                              "differs between the finite-difference evaluations of order 2")
        if self.order not in (1, 2, "exact"):
            raise ConfigError(f"SearchConfig.order must be 1, 2 or 'exact', got {self.order!r}")
        check_ranges(self, {"partial_channels": (1, None)})
        if self.channels % self.partial_channels:
            raise ConfigError(f"SearchConfig.partial_channels ({self.partial_channels}) must divide "
                              f"channels ({self.channels})")
        if self.order == 2 and self.radius == 0:
            raise ConfigError("SearchConfig.radius must be > 0 for order 2 (the paper uses 0.01)")
        check_settings(self)  # each remedy's setting in its range, and runnable with the rest
        super().__post_init__()  # the run name


    def with_schedule(self, name: str) -> "SearchConfig":
        """A copy with the architecture schedule `name` of `SCHEDULES` (e.g. "paper", "decisive", "beta_darts").

        A schedule sets the whole architecture step: the remedies it does not name are turned off.
        """
        if name not in SCHEDULES:
            raise ConfigError(f"unknown schedule {name!r}; choose from {sorted(SCHEDULES)}")
        changes = {**{r.setting.name: r.setting.default for r in REMEDIES.values()}, **SCHEDULES[name]}
        share = changes.pop("warmup_share", None)
        if share is not None:  # the warm-up is a share of the epochs, so the schedule fits any budget
            changes["warmup_epochs"] = min(self.epochs - 1, round(share * self.epochs))
        return self.replace(**changes)

    def tau(self, epoch: int) -> float:
        """The mixing temperature of epoch `epoch` (0-based): tau_max linearly down to tau_min."""
        return self.tau_max - (self.tau_max - self.tau_min) * epoch / max(self.epochs - 1, 1)


#: Architecture schedules by name (`SearchConfig.with_schedule`, `--schedule`).
#: "paper": softmax mixing of every candidate, Adam at 3e-4 from the first step (Liu et al., 2019).
#: "decisive": chosen by measurement to end decided within a CPU budget (notebook 03): a
#: warm-up of the weights in the softmax mixture for 30% of the epochs (PC-DARTS, P-DARTS), then
#: one sampled operation per edge (Gumbel-softmax with a straight-through gradient, GDAS) with the
#: temperature annealed from 10 to 0.1, and Adam's rate on alpha set by the budget rule
#: (`search.arch_lr`: a travel of 20 spread over the alpha steps).
#: And one schedule per remedy that declares how the ground truth scores it (`Remedy.study`): the
#: softmax relaxation with the same budget rule (`darts_travel` in notebook 08) plus the remedy at its
#: study's value. "beta_darts", beta-DARTS's Beta-Decay loss with lambda rising from 0 to 50, is the
#: best DARTS search measured on the ground truth (notebook 08) and the course's default. It ties
#: random search there and stays undecided (it keeps the alphas from concentrating): its argmax is
#: read, not its kept weight.
SCHEDULES: dict[str, dict[str, Any]] = {
    "paper": dict(sampling="softmax", arch_lr=3e-4, arch_travel=0.0, warmup_epochs=0, tau_max=1.0, tau_min=1.0,
                  fast=True),
    "decisive": dict(sampling="gumbel", arch_travel=20.0, warmup_share=0.3, tau_max=10.0, tau_min=0.1, fast=False),
}
TRAVEL = dict(SCHEDULES["paper"], arch_travel=20.0)  # the softmax relaxation, alpha's rate by the budget rule
SCHEDULES.update({r.study.name: {**TRAVEL, r.setting.name: r.study.value} for r in REMEDIES.values() if r.study})
