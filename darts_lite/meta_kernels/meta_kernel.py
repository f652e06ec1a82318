"""Meta-kernels: a mixture of kernel sizes computed as ONE convolution.

Convolution is linear in its kernel: K1 * I + K2 * I = (K1 + K2) * I. A DARTS mixed operation over
3x3, 5x5 and 7x7 kernels, sum_s softmax(alpha)_s (K_s * I), is therefore one 7x7 convolution with
the kernel

    K = sum_s softmax(alpha)_s pad(K_s),

each K_s zero-padded (centred) to 7x7. With "same" padding (s // 2 for size s, 3 for the merged
7x7) the output grids coincide for every stride, so the identity holds at stride 1 and 2. The merged
operation costs one 7x7 convolution instead of three: a FLOP ratio of (9 + 25 + 49) / 49 = 1.7.
Single-Path NAS (Stamoulis et al., 2019, ECML-PKDD) also holds every size in one kernel, its
smaller kernels the centre of the largest and sharing its weights; here each size has its own.

`MetaKernelConv` is that operation (depthwise or full); `separate` computes the same sum branch by
branch (the yardstick of the tests and the benchmark); `derive` returns the plain convolution of the
chosen size. `DepthwiseSeparable` is the cheap first step: a large depthwise kernel (11x11) followed
by a 1x1 convolution, instead of a full 11x11 convolution.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def pad_kernel(kernel: torch.Tensor, size: int) -> torch.Tensor:
    """Zero-pad the last two (odd, square) dimensions of `kernel` to `size` x `size`, centred."""
    k = kernel.shape[-1]
    if kernel.shape[-2] != k or k % 2 == 0 or size < k or size % 2 == 0:
        raise ValueError(f"pad_kernel needs odd square kernels no larger than an odd size, got {tuple(kernel.shape)} "
                         f"to {size}")
    p = (size - k) // 2
    return F.pad(kernel, (p, p, p, p))


class MetaKernelConv(nn.Module):
    """sum_s softmax(alpha)_s conv(x, K_s) over kernel sizes s, computed as one convolution.

    `depthwise=True`: groups = channels (C_out = C_in). The alphas are passed to `forward` (the
    supernet owns them, as in DARTS); without them the sizes are weighted uniformly.
    """

    def __init__(self, C_in: int, C_out: int, kernel_sizes=(3, 5, 7), stride: int = 1, depthwise: bool = False,
                 bias: bool = False):
        super().__init__()
        sizes = tuple(int(s) for s in kernel_sizes)
        if not sizes or any(s < 1 or s % 2 == 0 for s in sizes) or len(set(sizes)) != len(sizes):
            raise ValueError(f"kernel_sizes must be distinct odd sizes, got {kernel_sizes!r}")
        if depthwise and C_in != C_out:
            raise ValueError(f"a depthwise meta-kernel keeps the channels: C_in={C_in} != C_out={C_out}")
        self.kernel_sizes, self.stride, self.depthwise = sizes, stride, depthwise
        self.C_in, self.C_out, self.size = C_in, C_out, max(sizes)
        self.groups = C_in if depthwise else 1
        fan_in = C_in // self.groups
        self.kernels = nn.ParameterList()
        for s in sizes:
            w = torch.empty(C_out, fan_in, s, s)
            nn.init.kaiming_uniform_(w, a=math.sqrt(5))
            self.kernels.append(nn.Parameter(w))
        self.bias = nn.Parameter(torch.zeros(C_out)) if bias else None

    def mixing(self, alphas: torch.Tensor | None) -> torch.Tensor:
        if alphas is None:
            return torch.full((len(self.kernel_sizes),), 1 / len(self.kernel_sizes), device=self.kernels[0].device)
        if alphas.shape != (len(self.kernel_sizes),):
            raise ValueError(f"expected {len(self.kernel_sizes)} alphas (one per kernel size), "
                             f"got shape {tuple(alphas.shape)}")
        return torch.softmax(alphas, 0)

    def merged_kernel(self, alphas: torch.Tensor | None = None) -> torch.Tensor:
        """K = sum_s softmax(alpha)_s pad(K_s): the one kernel of the mixture."""
        w = self.mixing(alphas)
        return sum(w[i] * pad_kernel(k, self.size) for i, k in enumerate(self.kernels))

    def forward(self, x: torch.Tensor, alphas: torch.Tensor | None = None) -> torch.Tensor:
        return F.conv2d(x, self.merged_kernel(alphas), self.bias, self.stride, self.size // 2, groups=self.groups)

    def separate(self, x: torch.Tensor, alphas: torch.Tensor | None = None) -> torch.Tensor:
        """The same mixture computed branch by branch: one convolution per kernel size."""
        w = self.mixing(alphas)
        out = sum(w[i] * F.conv2d(x, k, None, self.stride, k.shape[-1] // 2, groups=self.groups)
                  for i, k in enumerate(self.kernels))
        return out if self.bias is None else out + self.bias[:, None, None]

    def derive(self, alphas: torch.Tensor | None = None, copy_weights: bool = True) -> nn.Conv2d:
        """The plain convolution of the kernel size with the largest alpha.

        With `copy_weights` its kernel is w_s K_s, that branch's contribution to the mixture.
        """
        w = self.mixing(alphas)
        i = int(w.argmax())
        s = self.kernel_sizes[i]
        conv = nn.Conv2d(self.C_in, self.C_out, s, self.stride, s // 2, groups=self.groups, bias=self.bias is not None)
        if copy_weights:
            with torch.no_grad():
                conv.weight.copy_(w[i] * self.kernels[i])
                if self.bias is not None:
                    conv.bias.copy_(self.bias)
        return conv.to(self.kernels[0])  # same device and dtype


class DepthwiseSeparable(nn.Module):
    """A k x k depthwise convolution, then a 1x1 convolution, each followed by BatchNorm + ReLU.

    Parameters k^2 C_in + C_in C_out instead of k^2 C_in C_out for a full k x k convolution.
    """

    def __init__(self, C_in: int, C_out: int, kernel_size: int = 11, stride: int = 1):
        super().__init__()
        self.op = nn.Sequential(
            nn.Conv2d(C_in, C_in, kernel_size, stride, kernel_size // 2, groups=C_in, bias=False),
            nn.BatchNorm2d(C_in), nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, 1, bias=False), nn.BatchNorm2d(C_out), nn.ReLU(inplace=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)
