"""K derived networks of the small space trained as ONE network: every layer grouped by network.

Training 400 tiny networks one by one on a CPU is mostly Python and dispatch overhead. Here the K
networks' channels sit side by side (network k owns channel block k of every layer): the stem is one
convolution to K times its channels, every 1x1 and pointwise convolution is grouped by network
(`groups=K`), every depthwise convolution by channel, BatchNorm is per channel anyway, and the
classifier is one batched matrix product. A cell's edges run every operation some network uses on
them and multiply it by a 0/1 mask per channel block, so network k sees exactly the operations of
its own genotype (the others contribute exact zeros). The loss is the sum of the K networks' losses,
and SGD, weight decay and gradient clipping (`clip_per_network`) act per network, so each trains as
it would alone: `BankNetwork.from_networks` copies K `darts.Network`s in, and the tests check the
outputs and a training step against them.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..darts import Network
from ..darts.genotypes import Gene, Genotype
from ..darts.layout import reduction_layers
from ..darts.ops import MaxPool2d, factorized_halves, half_width


def per_network(x: torch.Tensor, K: int) -> torch.Tensor:
    """(B, K*C, ...) -> (B, K, C, ...): the channel blocks of the K networks."""
    return x.view(x.shape[0], K, x.shape[1] // K, *x.shape[2:])


def merged(x: torch.Tensor) -> torch.Tensor:
    """(B, K, C, ...) -> (B, K*C, ...)."""
    return x.reshape(x.shape[0], x.shape[1] * x.shape[2], *x.shape[3:])


@torch.no_grad()
def copy_block(dst: nn.Module, src: nn.Module, k: int) -> None:
    """Write `src`'s parameters and buffers into block k of `dst`'s (same module type, K times wider)."""
    pairs = list(zip(dst.parameters(), src.parameters())) + list(zip(dst.buffers(), src.buffers()))
    for d, s in pairs:
        if d.dim() == 0:  # BatchNorm's num_batches_tracked
            d.copy_(s)
        else:
            d[k * s.shape[0]:(k + 1) * s.shape[0]].copy_(s)


class BankPointwise(nn.Conv2d):
    """K 1x1 convolutions (`groups=K`) as one batched matrix product: the same weights, a faster kernel on a CPU.

    Network k's output block is `weight_k @ x_k` over the pixels; stride 2 takes every second pixel first,
    as a 1x1 convolution of stride 2 does.
    """

    def __init__(self, K: int, c_in: int, c_out: int, stride: int = 1):
        super().__init__(K * c_in, K * c_out, 1, stride, 0, groups=K, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] > 1:
            x = x[:, :, ::self.stride[0], ::self.stride[1]]
        B, _, H, W = x.shape
        K = self.groups
        weight = self.weight.view(K, self.out_channels // K, self.in_channels // K)
        return torch.matmul(weight, x.reshape(B, K, -1, H * W)).view(B, self.out_channels, H, W)


class BankConvBN(nn.Sequential):
    """K (ReLU ->) convolution -> BatchNorm layers, grouped by network (or by channel when depthwise)."""

    def __init__(self, K: int, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, relu: bool = True):
        layers = [nn.ReLU(inplace=False)] if relu else []
        conv = (BankPointwise(K, c_in, c_out, stride) if kernel == 1 else
                nn.Conv2d(K * c_in, K * c_out, kernel, stride, kernel // 2, groups=K, bias=False))
        layers += [conv, nn.BatchNorm2d(K * c_out)]
        super().__init__(*layers)

    def copy_from(self, k: int, src: nn.Module) -> None:
        for d, s in zip([m for m in self if m.__class__ is not nn.ReLU], [m for m in src if m.__class__ is not nn.ReLU]):
            copy_block(d, s, k)


class BankSepConv(nn.Module):
    """K `SepConv`s: (ReLU, depthwise 3x3, pointwise 1x1, BatchNorm) twice, the first carrying the stride."""

    def __init__(self, K: int, C: int, stride: int):
        super().__init__()
        self.layers = nn.ModuleList()
        for s in (stride, 1):
            self.layers.extend([nn.Conv2d(K * C, K * C, 3, s, 1, groups=K * C, bias=False),
                                BankPointwise(K, C, C), nn.BatchNorm2d(K * C)])

    def forward(self, x):
        for i in (0, 3):
            x = self.layers[i + 2](self.layers[i + 1](self.layers[i](F.relu(x))))
        return x

    def copy_from(self, k: int, src: nn.Module) -> None:
        sources = [m for m in src.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
        for d, s in zip(self.layers, sources):
            copy_block(d, s, k)


class BankFactorizedReduce(nn.Module):
    """K `FactorizedReduce`s: two grouped 1x1 convolutions, on the even and on the odd pixels (`factorized_halves`)."""

    def __init__(self, K: int, c_in: int, c_out: int):
        super().__init__()
        self.K = K
        self.conv_a = BankPointwise(K, c_in, half_width(c_out))
        self.conv_b = BankPointwise(K, c_in, half_width(c_out))
        self.bn = nn.BatchNorm2d(K * c_out)

    def forward(self, x):
        a, b = factorized_halves(F.relu(x), self.conv_a, self.conv_b)
        return self.bn(merged(torch.cat([per_network(a, self.K), per_network(b, self.K)], dim=2)))

    def copy_from(self, k: int, src: nn.Module) -> None:
        for name in ("conv_a", "conv_b", "bn"):
            copy_block(getattr(self, name), getattr(src, name), k)


def bank_op(name: str, K: int, C: int, stride: int) -> nn.Module:
    """The grouped version of one operation of the small space."""
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else BankFactorizedReduce(K, C, C)
    if name == "max_pool_3x3":
        return MaxPool2d(3, stride=stride, padding=1)
    if name == "sep_conv_3x3":
        return BankSepConv(K, C, stride)
    raise ValueError(f"the bank has no grouped version of {name!r}; it knows skip_connect, "
                     "sep_conv_3x3 and max_pool_3x3 (add one here to bench a space with it)")


class BankCell(nn.Module):
    """One cell position of K networks: each edge runs the operations some network uses, masked per network."""

    def __init__(self, genes: Sequence[Gene], c_pp: int, c_p: int, C: int, reduction: bool, reduction_prev: bool):
        super().__init__()
        K = len(genes)
        self.K, self.nodes = K, len(genes[0]) // 2
        self.preprocess0 = BankFactorizedReduce(K, c_pp, C) if reduction_prev else BankConvBN(K, c_pp, C)
        self.preprocess1 = BankConvBN(K, c_p, C)
        users: dict[tuple[int, int, str], list[int]] = {}  # (node, input, op) -> the networks with that edge
        for k, gene in enumerate(genes):
            for pos, (op, j) in enumerate(gene):
                users.setdefault((pos // 2, j, op), []).append(k)
        self.edges = sorted(users)
        self.ops = nn.ModuleList(bank_op(op, K, C, 2 if reduction and j < 2 else 1) for _, j, op in self.edges)
        masks = torch.zeros(len(self.edges), K)
        for e, edge in enumerate(self.edges):
            masks[e, users[edge]] = 1.0
        self.register_buffer("masks", masks.repeat_interleave(C, 1).view(len(self.edges), 1, K * C, 1, 1))

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for node in range(self.nodes):
            states.append(sum(op(states[j]) * self.masks[e]
                              for e, ((n, j, _), op) in enumerate(zip(self.edges, self.ops)) if n == node))
        return merged(torch.cat([per_network(s, self.K) for s in states[2:]], dim=2))

    def copy_from(self, k: int, cell: nn.Module, gene: Gene) -> None:
        self.preprocess0.copy_from(k, cell.preprocess0)
        self.preprocess1.copy_from(k, cell.preprocess1)
        for pos, (op, j) in enumerate(gene):
            bank = self.ops[self.edges.index((pos // 2, j, op))]
            if hasattr(bank, "copy_from"):
                bank.copy_from(k, cell.ops[pos])


class BankNetwork(nn.Module):
    """K `darts.Network`s of the same macro-architecture and different normal cells, as one module.

    `forward` returns logits of shape (B, K, classes): network k's in `[:, k]`.
    """

    def __init__(self, genotypes: Sequence[Genotype], C: int, num_classes: int, layers: int,
                 in_channels: int = 1, stem_multiplier: int = 3):
        super().__init__()
        if not genotypes:
            raise ValueError("a bank needs at least one genotype")
        self.K = K = len(genotypes)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, K * stem_multiplier * C, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(K * stem_multiplier * C))
        c_pp = c_p = stem_multiplier * C
        c_curr, reduction_prev = C, False
        self.cells = nn.ModuleList()
        for i in range(layers):
            reduction = i in reduction_layers(layers)
            c_curr *= 2 if reduction else 1
            kind = "reduce" if reduction else "normal"
            genes = [g.cell(kind)[0] for g in genotypes]
            self.cells.append(BankCell(genes, c_pp, c_p, c_curr, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, len(genotypes[0].cell(kind)[1]) * c_curr
        self.classifier_weight = nn.Parameter(torch.empty(K, num_classes, c_p))
        self.classifier_bias = nn.Parameter(torch.empty(K, num_classes))
        for k in range(K):  # nn.Linear's initialisation, per network
            layer = nn.Linear(c_p, num_classes)
            with torch.no_grad():
                self.classifier_weight[k].copy_(layer.weight)
                self.classifier_bias[k].copy_(layer.bias)

    @classmethod
    def from_networks(cls, networks: Sequence[Network], **shape) -> "BankNetwork":
        """The bank of K built `Network`s, every weight and BatchNorm statistic copied from them."""
        bank = cls([net.genotype for net in networks], **shape)
        for k, net in enumerate(networks):
            for d, s in zip(bank.stem, net.stem):
                copy_block(d, s, k)
            for bank_cell, cell in zip(bank.cells, net.cells):
                gene = net.genotype.cell("reduce" if cell.reduction else "normal")[0]
                bank_cell.copy_from(k, cell, gene)
            with torch.no_grad():
                bank.classifier_weight[k].copy_(net.classifier.weight)
                bank.classifier_bias[k].copy_(net.classifier.bias)
        return bank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        pooled = per_network(s1.mean(dim=(2, 3)), self.K)  # (B, K, C)
        return torch.einsum("bkc,koc->bko", pooled, self.classifier_weight) + self.classifier_bias

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The sum over networks of each one's mean cross-entropy (so each gets its own gradient)."""
        B, K, n = logits.shape
        return F.cross_entropy(logits.reshape(B * K, n), y.repeat_interleave(K), reduction="sum") / B

    @torch.no_grad()
    def per_network_grad_norms(self) -> torch.Tensor:
        """The gradient norm of each of the K networks, shape (K,)."""
        squares = torch.zeros(self.K, device=self.classifier_bias.device)
        for p in self.parameters():
            if p.grad is not None:
                squares += p.grad.reshape(self.K, -1).pow(2).sum(dim=1)
        return squares.sqrt()

    @torch.no_grad()
    def clip_per_network(self, max_norm: float) -> None:
        """`clip_grad_norm_(network_k.parameters(), max_norm)` for every network k at once."""
        scale = (max_norm / (self.per_network_grad_norms() + 1e-6)).clamp(max=1.0)
        for p in self.parameters():
            if p.grad is not None:
                p.grad.view(self.K, -1).mul_(scale[:, None])
