"""What each NAS-Bench-201 cell costs, counted rather than measured: MACs and parameters, as a lookup table.

A cell's operations run at the three stages of the benchmark's network (C, 2C and 4C channels at
full, half and quarter resolution, N cells each), and nothing else depends on the cell. So the
counts are exactly additive, the form of `core.lut`:

    count(cell) = fixed + sum_e t[op_e],   t[op] = N * sum_stage count(op at that stage)

with `fixed` the stem, the two residual blocks and the classifier. Every edge has the same t. MACs
come from `torch.utils.flop_counter` (`core.cost.count_macs`), which counts convolutions and
matrix products, not pooling or BatchNorm; parameters count the inference network's affine BatchNorm.
These counts are the FLOPs and parameter baselines a latency model must beat.
"""
from __future__ import annotations

import torch.nn as nn

from ..core.cost import count_macs, count_parameters
from ..core.lut import LookupTable
from .nasbench201 import N_EDGES, NB201_OPS
from .nb201_search import ResidualReduce, nb201_op


def nb201_count_table(C: int = 16, cells_per_stage: int = 5, resolution: int = 32, in_channels: int = 3,
                      num_classes: int = 10) -> LookupTable:
    """The MACs and parameters of the benchmark's network as a LUT over (edge, operation), batch 1."""
    stages = [(C * 2 ** s, resolution // 2 ** s) for s in range(3)]
    term = {"macs": [], "params": []}
    for name in NB201_OPS:
        macs = params = 0
        for width, size in stages:
            op = nb201_op(name, width, affine=True)  # the inference network's BatchNorm
            has_params = any(True for _ in op.parameters())
            macs += count_macs(op, (1, width, size, size)) if has_params else 0
            params += count_parameters(op)
        term["macs"].append(float(cells_per_stage * macs))
        term["params"].append(float(cells_per_stage * params))
    stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
    fixed_parts = [(stem, (1, in_channels, resolution, resolution)),
                   (ResidualReduce(C, 2 * C), (1, C, resolution, resolution)),
                   (ResidualReduce(2 * C, 4 * C), (1, 2 * C, resolution // 2, resolution // 2)),
                   (nn.Sequential(nn.BatchNorm2d(4 * C), nn.Flatten(), nn.Linear(4 * C, num_classes)), (1, 4 * C, 1, 1))]
    fixed = {"macs": float(sum(count_macs(m, s) for m, s in fixed_parts)),
             "params": float(sum(count_parameters(m) for m, _ in fixed_parts))}
    return LookupTable("counted", NB201_OPS, {r: [list(t) for _ in range(N_EDGES)] for r, t in term.items()}, fixed)
