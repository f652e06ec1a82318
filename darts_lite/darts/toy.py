"""A toy search whose answer is known: targets made by one hidden operation on one edge.

The student is a single MixedOp with its own alphas; the targets are the
outputs of a frozen copy of one candidate (the hidden operation). A working
relaxation and hypergradient must end with that candidate's alpha the largest
(Liu et al., 2019, Sec. 2.2: the alphas select the operation that fits).
"""
from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn as nn

from ..core.bilevel import BilevelModule
from .ops import PRIMITIVES
from .search_cell import MixedOp


class EdgeModel(BilevelModule):
    """One MixedOp edge with its alphas, exposing the interface the search step expects."""

    def __init__(self, C: int, primitives: Sequence[str] = PRIMITIVES, alpha_init_std: float = 1e-3):
        super().__init__()
        self.primitives = tuple(primitives)
        self.mixed_op = MixedOp(C, 1, self.primitives)
        self.alphas = nn.ParameterDict({"edge": nn.Parameter(alpha_init_std * torch.randn(len(self.primitives)))})

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas["edge"]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mixed_op(x, torch.softmax(self.alphas["edge"], dim=-1))


def hidden_op_task(hidden: str, C: int = 4, size: int = 8, n: int = 256, seed: int = 0,
                   primitives: Sequence[str] = PRIMITIVES):
    """(student, (X_train, Y_train), (X_val, Y_val)): targets = frozen copy of the student's `hidden` op."""
    if hidden not in primitives or hidden == "none":
        raise ValueError(f"hidden operation must be one of {[p for p in primitives if p != 'none']}, got {hidden!r}")
    torch.manual_seed(seed)
    student = EdgeModel(C, primitives)
    teacher = copy.deepcopy(student.mixed_op.ops[list(primitives).index(hidden)]).requires_grad_(False)
    X = torch.randn(2 * n, C, size, size)
    with torch.no_grad():
        Y = teacher(X)
    return student, (X[:n], Y[:n]), (X[n:], Y[n:])
