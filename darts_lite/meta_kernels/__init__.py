"""Meta-kernels with feedback blocks, and the latency-constrained kernel-size search.

* `meta_kernel` (`MetaKernelConv`: every candidate kernel size in one zero-padded kernel, one
  convolution instead of one per size; `DepthwiseSeparable`);
* `feedback` (`FeedbackGroup`: copies of the supernet trained in parallel, their meta-kernels blended);
* `kernel_net` (`KernelSearchNet`, the supernet; `KernelNet`, a discrete network of the space);
* `cost_table` (`CostTable`: measured latency, MACs and parameters per candidate layer; expected
  cost, differentiable in alpha; budgets and the derivation that keeps them);
* `config` (`KernelSearchConfig`), `search` (`search_kernels`: L = CE + beta * LAT(alpha) + budgets).
"""
from .config import KernelSearchConfig
from .cost_table import CostTable, budget_penalty, build_cost_table, derive_within_budget, validate_table
from .feedback import FeedbackGroup, blend_meta_kernels, feedback_betas
from .kernel_net import KernelNet, KernelSearchNet
from .meta_kernel import DepthwiseSeparable, MetaKernelConv, pad_kernel
from .search import KernelSearchResult, build_kernel_net, build_supernet, search_kernels, steps_to_reach

__all__ = [
    "CostTable", "DepthwiseSeparable", "FeedbackGroup", "KernelNet", "KernelSearchConfig", "KernelSearchNet",
    "KernelSearchResult", "MetaKernelConv", "blend_meta_kernels", "budget_penalty", "build_cost_table",
    "build_kernel_net", "build_supernet", "derive_within_budget", "feedback_betas", "pad_kernel",
    "search_kernels", "steps_to_reach", "validate_table",
]
