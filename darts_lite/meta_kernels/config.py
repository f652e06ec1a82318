"""The configuration of a kernel-size search: meta-kernels, feedback blocks, budgets (`search.search_kernels`)."""
from __future__ import annotations

from dataclasses import dataclass

from ..core.config import BaseSearchConfig, ConfigError, check_ranges


@dataclass
class KernelSearchConfig(BaseSearchConfig):
    """A kernel-size search with meta-kernels, feedback blocks and resource budgets (`search.search_kernels`)."""

    # BaseSearchConfig: name (its default redeclared here), dataset, image_size, data_root
    name: str = "kernel_search"      # run directory: runs/<name>/
    widths: tuple[int, ...] = (16, 24, 32)  # output channels of the searched layers, comma-separated
    strides: tuple[int, ...] = (1, 2, 2)  # stride of each searched layer, comma-separated
    kernel_sizes: tuple[int, ...] = (3, 5, 7)  # candidate kernel sizes (odd), comma-separated
    stem_channels: int = 16          # channels of the stem
    stem_kernel: int = 11            # kernel size of the depthwise separable stem (odd)
    depthwise: bool = True           # searched layers depthwise + 1x1 (true) or full convolutions (false)
    merged: bool = True              # one convolution per meta-kernel (true) or one per kernel size (false)
    epochs: int = 4                  # epochs of the search over search_train
    batch_size: int = 64             # images per step
    w_lr: float = 3e-3               # Adam learning rate of the weights
    arch_lr: float = 1e-2            # Adam learning rate of the alphas
    alpha_init_std: float = 1e-3     # standard deviation of the random initial alphas (small: no size favoured)
    latency_weight: float = 0.0      # beta of L = CE + beta * LAT(alpha), LAT in microseconds; 0: off
    latency_budget_us: float = 0.0   # latency budget: penalised, the result traded down to it; 0: none
    macs_budget: float = 0.0         # the same budget for multiply-accumulates; 0: none
    params_budget: float = 0.0       # the same budget for parameters; 0: none
    budget_weight: float = 1.0       # weight of the budget penalty sum_r relu(E[r] / budget_r - 1)
    replicas: int = 1                # feedback blocks: copies trained in parallel (1: no feedback)
    feedback: bool = True            # blend the copies' meta-kernels (false: the ablation)
    feedback_period: int = 1         # steps between blends
    eval_every: int = 10             # steps between search-val accuracy probes (the learning curve)
    eval_samples: int = 256          # search-val images per probe
    seed: int = 0                    # seeds the weights, the alphas, the data split and the batch order
    device: str = "auto"             # auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps

    def __post_init__(self):
        for name in ("widths", "strides", "kernel_sizes"):
            setattr(self, name, tuple(int(v) for v in getattr(self, name)))
        check_ranges(self, {"stem_channels": (1, None), "stem_kernel": (1, None), "epochs": (1, None),
                            "batch_size": (1, None), "w_lr": (0, None), "arch_lr": (0, None),
                            "alpha_init_std": (0, None), "latency_weight": (0, None),
                            "latency_budget_us": (0, None), "macs_budget": (0, None),
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
        super().__post_init__()  # the run name

    def budgets(self) -> dict[str, float]:
        """The budgets that are set, keyed by the resource names of `cost_table.CostTable`."""
        b = {"latency_us": self.latency_budget_us, "macs": self.macs_budget, "params": self.params_budget}
        return {k: v for k, v in b.items() if v > 0}
