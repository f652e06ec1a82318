"""Dense blocks wired by DAGs: the masked shared-weight supernet, the derived block, conv as a mask.

`DAGSupernet` holds k blocks of n dense layers. ONE weight tensor `weight[i, j]` (width x width)
joins layer i to layer j for every pair i < j, and all k blocks share it; block b uses the edge
only where its DAG has it, through a 0/1 mask M_b on the shared weights:

    h_0^b = act(x W_in^b + c_0),     W_in^b = W_in * Min_b (Min_b = 1 unless an input mask is given)
    h_j^b = act(agg_{i<j} M_b[i, j] h_i^b W[i, j] + c_j),     agg = sum (or mean over the inputs)
    logits = head( sum_b softmax(alpha)_b h_{n-1}^b )

Every block reads the network input and feeds the output, weighted by the architecture
parameters `alphas` (softmax over the k blocks, the DARTS relaxation of the choice of block).
`DAGNetwork` is one block on its own, with parameters only for its edges, to retrain the winner.

A dense layer can express a convolution: `conv_as_dense` builds the (doubly block) Toeplitz
matrix of a 2-D convolution, and `local_mask` its support, the mask that turns a dense layer
into a locally connected one (a convolution without weight sharing).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.bilevel import BilevelModule
from .dag import DAG

AGGREGATIONS = ("sum", "mean")


def _check_dags(dags: list[DAG]) -> int:
    if not dags:
        raise ValueError("a DAG supernet needs at least one DAG")
    sizes = {d.n for d in dags}
    if len(sizes) != 1:
        raise ValueError(f"all blocks must have the same number of layers, got {sorted(sizes)}")
    return sizes.pop()


class DAGSupernet(BilevelModule):
    """k DAG-wired dense blocks on one shared weight tensor, mixed by softmax(alphas)."""

    def __init__(self, in_features: int, width: int, num_classes: int, dags: list[DAG],
                 aggregation: str = "sum", input_masks: list[torch.Tensor | None] | None = None):
        super().__init__()
        n = _check_dags(dags)
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        self.n, self.width, self.aggregation = n, width, aggregation
        self.input = nn.Linear(in_features, width)                 # W_in, c_0: shared by all blocks
        self.weight = nn.Parameter(torch.zeros(n, n, width, width))  # W[i, j]; only i < j is used
        self.bias = nn.Parameter(torch.zeros(n, width))              # c_j (c_0 unused: it is input.bias)
        bound = 1 / math.sqrt(width)
        for i in range(n):
            for j in range(i + 1, n):
                nn.init.uniform_(self.weight.data[i, j], -bound, bound)
        self.head = nn.Linear(width, num_classes)
        self.alphas = nn.Parameter(torch.zeros(len(dags)))
        self.register_buffer("masks", torch.zeros(len(dags), n, n))
        self.register_buffer("input_masks", torch.ones(len(dags), width, in_features))
        self.set_dags(dags, input_masks)

    @property
    def k(self) -> int:
        return len(self.alphas)

    def set_dags(self, dags: list[DAG], input_masks: list[torch.Tensor | None] | None = None) -> None:
        """Wire the k blocks anew (after sampling); the shared weights are kept."""
        if _check_dags(dags) != self.n or len(dags) != self.k:
            raise ValueError(f"expected {self.k} DAGs of {self.n} layers, got {len(dags)} of {dags[0].n}")
        self.masks.copy_(torch.stack([d.adjacency() for d in dags]))
        if input_masks is not None:
            if len(input_masks) != self.k:
                raise ValueError(f"{len(input_masks)} input masks for {self.k} blocks")
            for b, m in enumerate(input_masks):
                self.input_masks[b] = 1.0 if m is None else m.to(self.input_masks)

    def dags(self) -> list[DAG]:
        """The blocks' DAGs, read back from the masks (so a checkpoint restores them)."""
        return [DAG.from_adjacency(m.cpu().int()) for m in self.masks]

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas]

    def block_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """h_{n-1}^b of every block: (k, N, width)."""
        x = x.flatten(1)
        w_in = self.input.weight * self.input_masks                  # (k, width, in)
        h = [F.relu(torch.einsum("nf,kwf->knw", x, w_in) + self.input.bias)]
        for j in range(1, self.n):
            H = torch.stack(h, dim=1)                                  # (k, j, N, width)
            m = self.masks[:, :j, j]                                   # (k, j): which inputs block b uses
            pre = torch.einsum("kinw,ki,iwv->knv", H, m, self.weight[:j, j])
            if self.aggregation == "mean":
                pre = pre / m.sum(1).clamp_min(1)[:, None, None]
            h.append(F.relu(pre + self.bias[j]))
        return h[-1]

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of the softmax(alphas) mixture of the blocks (or of the given mixing `weights`)."""
        w = torch.softmax(self.alphas, 0) if weights is None else weights
        return self.head(torch.einsum("k,knw->nw", w, self.block_outputs(x)))


class DAGNetwork(nn.Module):
    """One DAG block as a standalone network: a Linear per edge, so only its edges have weights."""

    def __init__(self, in_features: int, width: int, num_classes: int, dag: DAG, aggregation: str = "sum",
                 input_mask: torch.Tensor | None = None):
        super().__init__()
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        self.dag, self.aggregation = dag, aggregation
        self.input = nn.Linear(in_features, width)
        self.edges = nn.ModuleDict({f"{i}_{j}": nn.Linear(width, width, bias=False) for i, j in dag.edges})
        self.bias = nn.Parameter(torch.zeros(dag.n, width))
        self.head = nn.Linear(width, num_classes)
        self.register_buffer("input_mask", torch.ones(width, in_features) if input_mask is None else input_mask.float())

    @classmethod
    def from_supernet(cls, supernet: DAGSupernet, block: int | None = None, copy_weights: bool = False):
        """The block with the largest alpha (or `block`), fresh or with the supernet's weights."""
        b = int(supernet.alphas.argmax()) if block is None else block
        dag = supernet.dags()[b]
        net = cls(supernet.input.in_features, supernet.width, supernet.head.out_features, dag,
                  supernet.aggregation, supernet.input_masks[b].clone())
        if copy_weights:
            with torch.no_grad():
                net.input.load_state_dict(supernet.input.state_dict())
                net.head.load_state_dict(supernet.head.state_dict())
                net.bias.copy_(supernet.bias)
                for i, j in dag.edges:
                    net.edges[f"{i}_{j}"].weight.copy_(supernet.weight[i, j].T)
        return net.to(supernet.alphas.device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = [F.relu(F.linear(x.flatten(1), self.input.weight * self.input_mask, self.input.bias))]
        for j in range(1, self.dag.n):
            inputs = [self.edges[f"{i}_{j}"](h[i]) for i, jj in self.dag.edges if jj == j]
            pre = sum(inputs) if inputs else torch.zeros_like(h[0])
            if self.aggregation == "mean" and inputs:
                pre = pre / len(inputs)
            h.append(F.relu(pre + self.bias[j]))
        return self.head(h[-1])


def conv_as_dense(kernel: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """The (HW, HW) matrix T of a single-channel 2-D convolution with zero 'same' padding.

    flatten(conv2d(x, kernel)) = T @ flatten(x): a dense layer with these (doubly block Toeplitz)
    weights IS the convolution. Odd kernel sizes only.
    """
    kh, kw = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"conv_as_dense needs an odd kernel size, got {kh}x{kw}")
    T = kernel.new_zeros(height * width, height * width)
    for r in range(height):
        for c in range(width):
            for dy in range(kh):
                for dx in range(kw):
                    rr, cc = r + dy - kh // 2, c + dx - kw // 2
                    if 0 <= rr < height and 0 <= cc < width:
                        T[r * width + c, rr * width + cc] = kernel[dy, dx]
    return T


def local_mask(height: int, width: int, kernel_size: int = 3) -> torch.Tensor:
    """The support of `conv_as_dense`: 1 where output pixel and input pixel are within the kernel.

    Applied to a dense layer of HW units on an HxW single-channel image it leaves a locally
    connected layer: the connectivity of a convolution without its weight sharing.
    """
    return (conv_as_dense(torch.ones(kernel_size, kernel_size), height, width) != 0).float()
