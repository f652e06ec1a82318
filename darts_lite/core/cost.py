"""What a network costs, counted rather than timed: parameters, multiply-accumulates, memory.

MACs come from `torch.utils.flop_counter` (MACs = FLOPs / 2); the memory estimate is the
parameters plus the largest input + output activation pair of any leaf module. Timing is in
`timing`, measured peak memory in `memory`.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode


def count_macs(module: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-accumulates of one forward pass (FLOPs / 2, from torch.utils.flop_counter)."""
    device = next(module.parameters()).device
    was_training = module.training
    module.eval()  # no BatchNorm statistics updated, and a batch of one is fine
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            module(torch.zeros(*input_shape, device=device))
    finally:
        module.train(was_training)
    return int(counter.get_total_flops() // 2)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of `module` (with `trainable_only`, of those that require a gradient)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def memory_estimate(module: nn.Module, input_shape: Sequence[int], bytes_per_value: int = 4) -> int:
    """Inference peak memory estimate in bytes: the parameters plus the largest input + output
    activation pair of any leaf module (what must be alive at once when layers run in sequence)."""
    peak = [0]

    def hook(mod, inputs, output):
        size = sum(t.numel() for t in inputs if torch.is_tensor(t)) + output.numel()
        peak[0] = max(peak[0], size)

    leaves = [m for m in module.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = module.training
    try:
        with torch.no_grad():
            module.eval()(torch.zeros(*input_shape, device=next(module.parameters()).device))
    finally:
        module.train(was_training)
        for h in handles:
            h.remove()
    return bytes_per_value * (count_parameters(module) + peak[0])
