"""The discrete network built from a genotype, for retraining (Liu et al., 2019, Sec. 2.4 and 3.2).

Each cell keeps exactly the operations of its genotype: two per intermediate
node, summed, with the nodes of `concat` concatenated into the cell output.
Options from the paper's evaluation: drop-path (randomly zeroing a whole
non-identity operation per sample while training) and an auxiliary classifier
after the second reduction cell.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .genotypes import Genotype
from .layout import check_shape, reduction_layers, stem
from .ops import FactorizedReduce, ReLUConvBN, build_op


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples of an operation's output with probability `drop_prob`, rescaling the rest."""
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


class Cell(nn.Module):
    """A derived cell: the genotype's two operations into each intermediate node."""

    def __init__(self, genotype: Genotype, c_prev_prev: int, c_prev: int, C: int,
                 reduction: bool, reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        gene, self.concat = genotype.cell("reduce" if reduction else "normal")
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(c_prev_prev, C)
        else:
            self.preprocess0 = ReLUConvBN(c_prev_prev, C, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_prev, C, 1, 1, 0)
        self.inputs = [j for _, j in gene]
        self.ops = nn.ModuleList(build_op(op, C, 2 if reduction and j < 2 else 1) for op, j in gene)
        self.multiplier = len(self.concat)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(0, len(self.ops), 2):
            node = 0
            for op, j in zip(self.ops[i:i + 2], self.inputs[i:i + 2]):
                h = op(states[j])
                if self.training and not isinstance(op, nn.Identity):
                    h = drop_path(h, drop_prob)
                node = node + h
            states.append(node)
        return torch.cat([states[n] for n in self.concat], dim=1)


class AuxiliaryHead(nn.Module):
    """The auxiliary classifier of the paper, made size-agnostic with adaptive pooling."""

    def __init__(self, C: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False), nn.AdaptiveAvgPool2d(2),  # in place would change the cell output
            nn.Conv2d(C, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class Network(nn.Module):
    """The network to retrain: stem, `layers` derived cells, (auxiliary head), classifier.

    `forward` returns logits, or (logits, auxiliary logits) when training with
    `auxiliary=True`. Set `drop_path_prob` per epoch (the paper ramps it up linearly).
    """

    faster_channels_last = True  # on a CPU, 1.6x a training step (`core.channels_last`, docs/benchmarks.md)

    def __init__(self, genotype: Genotype, C: int = 16, num_classes: int = 10, layers: int = 8,
                 in_channels: int = 3, auxiliary: bool = False, stem_multiplier: int = 3,
                 drop_path_prob: float = 0.0):
        super().__init__()
        check_shape(C=C, num_classes=num_classes, layers=layers, nodes=genotype.nodes,
                     multiplier=len(genotype.normal_concat), stem_multiplier=stem_multiplier,
                     in_channels=in_channels)
        self.genotype = genotype
        self.drop_path_prob = drop_path_prob
        c_curr = stem_multiplier * C
        self.stem = stem(in_channels, c_curr)
        c_prev_prev, c_prev, c_curr = c_curr, c_curr, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        self.aux_position = reduction_layers(layers)[1]
        self.auxiliary_head = None
        for i in range(layers):
            reduction = i in reduction_layers(layers)
            if reduction:
                c_curr *= 2
            cell = Cell(genotype, c_prev_prev, c_prev, c_curr, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_prev_prev, c_prev = c_prev, cell.multiplier * c_curr
            if auxiliary and i == self.aux_position:
                self.auxiliary_head = AuxiliaryHead(c_prev, num_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor):
        logits_aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_position and self.auxiliary_head is not None and self.training:
                logits_aux = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return logits if logits_aux is None else (logits, logits_aux)
