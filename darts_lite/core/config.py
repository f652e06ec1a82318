"""Run configurations: one dataclass for a search, one for retraining a derived network.

A configuration is passed in, never read from globals; each field is checked
when the object is made, so a bad value fails at once with its name and range.
Defaults are sized for a 2-core CPU; the paper's CIFAR-10 values are in comments.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .ops import PRIMITIVES, check_primitives


class ConfigError(ValueError):
    """A configuration value out of its range."""


def _check(cfg, rules: dict[str, tuple[float, float | None]]) -> None:
    for name, (low, high) in rules.items():
        value = getattr(cfg, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < low or (
                high is not None and value > high):
            upper = "" if high is None else f" and <= {high}"
            raise ConfigError(f"{type(cfg).__name__}.{name} must be a number >= {low}{upper}, got {value!r}")


class _Config:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        """Build from a dict, rejecting unknown keys by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} key(s) {unknown}; known keys: {sorted(known)}")
        return cls(**d)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file {path} does not exist")
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path} is not valid JSON: {e}") from e

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


@dataclass
class SearchConfig(_Config):
    """Everything a DARTS search needs (Algorithm 1 and Sec. 3.1.1 of the paper)."""

    name: str = "search"            # run directory: runs/<name>/
    dataset: str = "digits"          # digits (offline), cifar10, or any registered dataset
    image_size: int | None = None    # None: the dataset's default
    data_root: str | None = None     # where datasets live; None: the loader's default
    layers: int = 5                  # paper: 8 cells
    channels: int = 8                # paper: 16 initial channels
    nodes: int = 4                   # intermediate nodes per cell (paper: 4)
    multiplier: int = 4              # nodes concatenated into the cell output
    stem_multiplier: int = 3
    primitives: tuple[str, ...] = PRIMITIVES
    epochs: int = 10                 # paper: 50
    batch_size: int = 64             # paper: 64
    w_lr: float = 0.025              # SGD on w, cosine-annealed to w_lr_min
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    arch_lr: float = 3e-4            # Adam on alpha, betas (0.5, 0.999)
    arch_travel: float = 0.0         # > 0: arch_lr = arch_travel / alpha steps, the budget rule (`search.arch_lr`)
    arch_weight_decay: float = 1e-3
    order: int | str = 1             # 1, 2 (finite differences) or "exact"
    radius: float = 0.01             # finite-difference radius of eq. 8 (eps = radius / ||v||)
    grad_clip: float = 5.0           # max norm of grad_w; 0 disables clipping
    early_stop_skips: int = 0        # DARTS+ rule: stop once the normal cell has this many skips; 0: off
    warmup_epochs: int = 0           # epochs that train w only (softmax mixture), before any alpha step (PC-DARTS)
    sampling: str = "softmax"        # "softmax" (eq. 2) or "gumbel": one sampled operation per edge (GDAS)
    tau_max: float = 1.0             # temperature of the mixing (GDAS: 10), annealed linearly per epoch
    tau_min: float = 1.0             # ... to this at the last epoch (GDAS: 0.1)
    alpha_init_std: float = 1e-3
    fast: bool = True                # batched cells (fast_cell): the same function, 1.5x faster on a CPU
    partial_channels: int = 1        # PC-DARTS K: 1/K of each edge's channels through its candidates
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        try:
            self.primitives = check_primitives(self.primitives)
        except ValueError as e:
            raise ConfigError(f"SearchConfig.primitives: {e}") from e
        _check(self, {"layers": (3, None), "channels": (1, None), "nodes": (1, None),
                      "multiplier": (1, self.nodes), "stem_multiplier": (1, None), "epochs": (1, None),
                      "batch_size": (1, None), "w_lr": (0, None), "w_lr_min": (0, self.w_lr),
                      "w_momentum": (0, 1), "w_weight_decay": (0, None), "arch_lr": (0, None),
                      "arch_weight_decay": (0, None), "radius": (0, None), "grad_clip": (0, None),
                      "early_stop_skips": (0, 2 * self.nodes), "alpha_init_std": (0, None), "seed": (0, None)})
        if self.image_size is not None:
            _check(self, {"image_size": (4, None)})
        _check(self, {"warmup_epochs": (0, self.epochs - 1), "arch_travel": (0, None), "tau_max": (1e-3, None), "tau_min": (1e-3, self.tau_max)})
        if self.sampling not in ("softmax", "gumbel"):
            raise ConfigError(f"SearchConfig.sampling must be 'softmax' or 'gumbel', got {self.sampling!r}")
        if self.sampling == "gumbel" and self.order != 1:
            raise ConfigError("SearchConfig.order must be 1 with sampling='gumbel': a sampled forward pass "
                              "differs between the finite-difference evaluations of order 2")
        if self.order not in (1, 2, "exact"):
            raise ConfigError(f"SearchConfig.order must be 1, 2 or 'exact', got {self.order!r}")
        _check(self, {"partial_channels": (1, None)})
        if self.channels % self.partial_channels:
            raise ConfigError(f"SearchConfig.partial_channels ({self.partial_channels}) must divide "
                              f"channels ({self.channels})")
        if self.order == 2 and self.radius == 0:
            raise ConfigError("SearchConfig.radius must be > 0 for order 2 (the paper uses 0.01)")
        if not self.name or "/" in self.name:
            raise ConfigError(f"SearchConfig.name must be a plain directory name, got {self.name!r}")


    def with_schedule(self, name: str) -> "SearchConfig":
        """A copy with the architecture schedule `name` of `SCHEDULES` ("paper" or "decisive")."""
        if name not in SCHEDULES:
            raise ConfigError(f"unknown schedule {name!r}; choose from {sorted(SCHEDULES)}")
        changes = dict(SCHEDULES[name])
        share = changes.pop("warmup_share", None)
        if share is not None:  # the warm-up is a share of the epochs, so the schedule fits any budget
            changes["warmup_epochs"] = min(self.epochs - 1, round(share * self.epochs))
        return self.replace(**changes)

    def tau(self, epoch: int) -> float:
        """The mixing temperature of epoch `epoch` (0-based): tau_max linearly down to tau_min."""
        return self.tau_max - (self.tau_max - self.tau_min) * epoch / max(self.epochs - 1, 1)


#: Architecture schedules by name (`SearchConfig.with_schedule`, `--schedule`).
#: "paper": softmax mixing of every candidate, Adam at 3e-4 from the first step (Liu et al., 2019).
#: "decisive": chosen by measurement to end decided within a CPU budget (README, notebook 02): a
#: warm-up of the weights in the softmax mixture for 30% of the epochs (PC-DARTS, P-DARTS), then
#: one sampled operation per edge (Gumbel-softmax with a straight-through gradient, GDAS) with the
#: temperature annealed from 10 to 0.1, and Adam's rate on alpha set by the budget rule
#: (`search.arch_lr`: a travel of 20 spread over the alpha steps).
SCHEDULES: dict[str, dict[str, Any]] = {
    "paper": dict(sampling="softmax", arch_lr=3e-4, arch_travel=0.0, warmup_epochs=0, tau_max=1.0, tau_min=1.0,
                  fast=True),
    "decisive": dict(sampling="gumbel", arch_travel=20.0, warmup_share=0.3, tau_max=10.0, tau_min=0.1, fast=False),
}


@dataclass
class TrainConfig(_Config):
    """Retraining a derived network from scratch (Sec. 3.2 of the paper)."""

    layers: int = 8                  # paper: 20 cells
    channels: int = 16               # paper: 36 initial channels
    epochs: int = 10                 # paper: 600
    batch_size: int = 64             # paper: 96
    lr: float = 0.025                # SGD, cosine-annealed to lr_min
    lr_min: float = 0.0
    momentum: float = 0.9
    weight_decay: float = 3e-4
    drop_path_prob: float = 0.0      # paper: 0.2
    auxiliary_weight: float = 0.0    # paper: 0.4; 0 disables the auxiliary head
    grad_clip: float = 5.0
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        _check(self, {"layers": (3, None), "channels": (1, None), "epochs": (1, None),
                      "batch_size": (1, None), "lr": (0, None), "lr_min": (0, self.lr),
                      "momentum": (0, 1), "weight_decay": (0, None), "drop_path_prob": (0, 0.99),
                      "auxiliary_weight": (0, None), "grad_clip": (0, None), "seed": (0, None)})


@dataclass
class DAGSearchConfig(_Config):
    """A search over DAG-wired dense blocks (`dag_search`): k blocks of `layers` dense layers."""

    name: str = "dag_search"         # run directory: runs/<name>/
    dataset: str = "digits"
    image_size: int | None = None    # None: the dataset's default (digits 8x8: 64 inputs)
    data_root: str | None = None
    grayscale: bool = True           # average colour channels before flattening
    layers: int = 4                  # n: layers per block (vertices of each DAG)
    blocks: int = 6                  # k: blocks searched at once
    width: int = 64                  # units per layer
    max_skip: int = 0                # longest edge allowed (j - i); 0: no limit
    aggregation: str = "sum"         # how a layer combines its inputs: "sum" or "mean"
    rounds: int = 6                  # evaluation phases (weight phase + architecture phase each)
    weight_steps: int = 30           # weight-phase steps per round
    arch_steps: int = 10             # architecture-phase steps per round
    weight_lr: float = 1e-3          # Adam on the shared weights
    arch_lr: float = 0.05            # Adam on the alphas
    weight_batch: int = 64
    arch_batch: int = 64
    arch_split: str = "val"          # data of the architecture phase: "val" (search_val) or "train" (same as w)
    sampling: str = "feedback"       # "fixed" k DAGs, "random" resampling, or "feedback" (PBIL update)
    feedback_lr: float = 0.3         # eta of the PBIL update
    temperature: float = 0.1         # T of softmax(alpha / T) in the feedback weights
    elite: int = 1                   # blocks with the highest alpha kept (with their alpha) at resampling
    p_init: float = 0.5              # initial edge probability of the sampler
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        _check(self, {"layers": (2, None), "blocks": (1, None), "width": (1, None), "max_skip": (0, None),
                      "rounds": (1, None), "weight_steps": (1, None), "arch_steps": (0, None),
                      "weight_lr": (0, None), "arch_lr": (0, None), "weight_batch": (1, None),
                      "arch_batch": (1, None), "feedback_lr": (0, 1), "temperature": (1e-6, None),
                      "elite": (0, self.blocks - 1), "p_init": (0.02, 0.98), "seed": (0, None)})
        choices = {"aggregation": ("sum", "mean"), "arch_split": ("val", "train"),
                   "sampling": ("fixed", "random", "feedback")}
        for field, allowed in choices.items():
            if getattr(self, field) not in allowed:
                raise ConfigError(f"DAGSearchConfig.{field} must be one of {allowed}, got {getattr(self, field)!r}")
        if not self.name or "/" in self.name:
            raise ConfigError(f"DAGSearchConfig.name must be a plain directory name, got {self.name!r}")


@dataclass
class KernelSearchConfig(_Config):
    """A kernel-size search with meta-kernels, feedback blocks and resource budgets (`kernel_search`)."""

    name: str = "kernel_search"      # run directory: runs/<name>/
    dataset: str = "digits"
    image_size: int | None = None
    data_root: str | None = None
    widths: tuple[int, ...] = (16, 24, 32)   # output channels of the searched layers
    strides: tuple[int, ...] = (1, 2, 2)
    kernel_sizes: tuple[int, ...] = (3, 5, 7)
    stem_channels: int = 16
    stem_kernel: int = 11            # the depthwise separable first step
    depthwise: bool = True           # searched layers: depthwise + 1x1 (True) or full convolutions (False)
    merged: bool = True              # one convolution per meta-kernel (False: one per kernel size)
    epochs: int = 4
    batch_size: int = 64
    w_lr: float = 3e-3               # Adam on the weights
    arch_lr: float = 1e-2            # Adam on the alphas
    alpha_init_std: float = 1e-3     # random alpha initialisation (small: no size favoured at the start)
    latency_weight: float = 0.0      # beta of L = CE + beta * LAT(alpha), LAT in microseconds
    latency_budget_us: float = 0.0   # budgets (0: none): expected cost kept under them by a penalty,
    macs_budget: float = 0.0         # and the derived network traded down until it fits
    params_budget: float = 0.0
    budget_weight: float = 1.0       # weight of the budget penalty sum_r relu(E[r] / budget_r - 1)
    replicas: int = 1                # feedback blocks: copies trained in parallel (1: no feedback)
    feedback: bool = True            # blend the copies' meta-kernels (the ablation switches it off)
    feedback_period: int = 1         # steps between blends
    eval_every: int = 10             # steps between search-val accuracy probes (the learning curve)
    eval_samples: int = 256          # search-val images per probe
    seed: int = 0
    device: str = "auto"

    def __post_init__(self):
        for name in ("widths", "strides", "kernel_sizes"):
            setattr(self, name, tuple(int(v) for v in getattr(self, name)))
        _check(self, {"stem_channels": (1, None), "stem_kernel": (1, None), "epochs": (1, None),
                      "batch_size": (1, None), "w_lr": (0, None), "arch_lr": (0, None), "alpha_init_std": (0, None),
                      "latency_weight": (0, None), "latency_budget_us": (0, None), "macs_budget": (0, None),
                      "params_budget": (0, None), "budget_weight": (0, None), "replicas": (1, None),
                      "feedback_period": (1, None), "eval_every": (1, None), "eval_samples": (1, None),
                      "seed": (0, None)})
        if len(self.widths) != len(self.strides) or not self.widths:
            raise ConfigError(f"KernelSearchConfig.widths and strides need one entry per layer, "
                              f"got {self.widths} and {self.strides}")
        if any(k < 1 or k % 2 == 0 for k in self.kernel_sizes) or len(set(self.kernel_sizes)) != len(self.kernel_sizes):
            raise ConfigError(f"KernelSearchConfig.kernel_sizes must be distinct odd sizes, got {self.kernel_sizes}")
        if self.stem_kernel % 2 == 0:
            raise ConfigError(f"KernelSearchConfig.stem_kernel must be odd, got {self.stem_kernel}")
        if not self.name or "/" in self.name:
            raise ConfigError(f"KernelSearchConfig.name must be a plain directory name, got {self.name!r}")

    def budgets(self) -> dict[str, float]:
        """The budgets that are set, keyed by the resource names of `latency.CostTable`."""
        b = {"latency_us": self.latency_budget_us, "macs": self.macs_budget, "params": self.params_budget}
        return {k: v for k, v in b.items() if v > 0}
