"""Networks whose searched choice is the kernel size of each layer (notebooks 05 and 06).

The course's own design (no paper of its own; docs/library.md): a cheap first step
(`DepthwiseSeparable` 11x11 on the image), then L layers whose kernel size is searched, global
average pooling and a linear classifier. A layer is either
(`depthwise=True`) a depthwise convolution, BatchNorm + ReLU, a 1x1 convolution to the layer's
width, BatchNorm + ReLU (MobileNet style), or (`depthwise=False`) a full convolution to the
layer's width, BatchNorm + ReLU.

* `KernelSearchNet`: each depthwise convolution is a `MetaKernelConv` over `kernel_sizes`, weighted
  by the row `alphas[l]` (softmax), and costs one convolution (`merged=True`) or one per size
  (`merged=False`, the naive mixed operation, kept for benchmarks and checks).
* `KernelNet`: the discrete network of one choice of kernel sizes, with plain convolutions.
Both build their layers with `mb_layer`, so a derived `KernelNet` is the same network with the
mixture replaced by one kernel.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from ..core.bilevel import BilevelModule
from .meta_kernel import DepthwiseSeparable, MetaKernelConv


def mb_layer(depthwise: nn.Module, C_in: int, C_out: int) -> nn.Sequential:
    """depthwise conv -> BN -> ReLU -> 1x1 conv -> BN -> ReLU."""
    return nn.Sequential(depthwise, nn.BatchNorm2d(C_in), nn.ReLU(), nn.Conv2d(C_in, C_out, 1, bias=False),
                         nn.BatchNorm2d(C_out), nn.ReLU())


def searched_layer(conv: nn.Module, C_in: int, C_out: int, depthwise: bool) -> nn.Sequential:
    """The layer around the searched convolution `conv` (its first module, in both styles)."""
    return mb_layer(conv, C_in, C_out) if depthwise else nn.Sequential(conv, nn.BatchNorm2d(C_out), nn.ReLU())


def plain_conv(C_in: int, C_out: int, kernel: int, stride: int, depthwise: bool) -> nn.Conv2d:
    return nn.Conv2d(C_in, C_in if depthwise else C_out, kernel, stride, kernel // 2,
                     groups=C_in if depthwise else 1, bias=False)


def check_spec(widths: Sequence[int], strides: Sequence[int]) -> None:
    if len(widths) != len(strides) or not widths:
        raise ValueError(f"widths and strides need one entry per layer, got {list(widths)} and {list(strides)}")
    if any(s not in (1, 2) for s in strides):
        raise ValueError(f"strides must be 1 or 2, got {list(strides)}")


class _Base(nn.Module):
    def __init__(self, in_channels: int, num_classes: int, widths: Sequence[int], strides: Sequence[int],
                 stem_channels: int, stem_kernel: int, depthwise: bool):
        super().__init__()
        check_spec(widths, strides)
        self.widths, self.strides, self.depthwise = tuple(widths), tuple(strides), depthwise
        self.stem = DepthwiseSeparable(in_channels, stem_channels, stem_kernel)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(self.widths[-1], num_classes))
        self.channels_in = (stem_channels, *self.widths[:-1])

    def candidate_layer(self, layer: int, kernel: int) -> nn.Sequential:
        """Layer `layer` of the discrete network with a `kernel` x `kernel` convolution (fresh weights)."""
        C_in, C_out, stride = self.channels_in[layer], self.widths[layer], self.strides[layer]
        return searched_layer(plain_conv(C_in, C_out, kernel, stride, self.depthwise), C_in, C_out, self.depthwise)


class KernelNet(_Base):
    """The discrete network: layer l uses a `kernels[l]` x `kernels[l]` depthwise convolution."""

    def __init__(self, in_channels: int, num_classes: int, kernels: Sequence[int], widths=(16, 24, 32),
                 strides=(1, 2, 2), stem_channels: int = 16, stem_kernel: int = 11, depthwise: bool = True):
        super().__init__(in_channels, num_classes, widths, strides, stem_channels, stem_kernel, depthwise)
        if len(kernels) != len(self.widths):
            raise ValueError(f"one kernel size per layer: {len(self.widths)} layers, got {list(kernels)}")
        self.kernels = tuple(int(k) for k in kernels)
        self.layers = nn.ModuleList(self.candidate_layer(i, k) for i, k in enumerate(self.kernels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


class KernelSearchNet(_Base, BilevelModule):
    """The supernet: layer l mixes `kernel_sizes` by softmax(alphas[l]) through one meta-kernel."""

    def __init__(self, in_channels: int, num_classes: int, widths=(16, 24, 32), strides=(1, 2, 2),
                 kernel_sizes=(3, 5, 7), stem_channels: int = 16, stem_kernel: int = 11, merged: bool = True,
                 alpha_init_std: float = 1e-3, depthwise: bool = True):
        super().__init__(in_channels, num_classes, widths, strides, stem_channels, stem_kernel, depthwise)
        self.kernel_sizes, self.merged = tuple(kernel_sizes), merged
        self.layers = nn.ModuleList(
            searched_layer(MetaKernelConv(c, c if depthwise else w, self.kernel_sizes, s, depthwise=depthwise),
                           c, w, depthwise)
            for c, w, s in zip(self.channels_in, self.widths, self.strides))
        self.alphas = nn.Parameter(alpha_init_std * torch.randn(len(self.widths), len(self.kernel_sizes)))

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer, a in zip(self.layers, self.alphas):
            meta = layer[0]
            x = meta(x, a) if self.merged else meta.separate(x, a)
            x = layer[1:](x)
        return self.head(x)

    def kernels(self) -> tuple[int, ...]:
        """The kernel size with the largest alpha in each layer."""
        return tuple(self.kernel_sizes[i] for i in self.alphas.argmax(1).tolist())

    def derive(self, kernels: Sequence[int] | None = None) -> KernelNet:
        """A fresh `KernelNet` of the chosen kernel sizes (default: the largest alphas), same sizes otherwise."""
        stem_conv = self.stem.op[0]
        return KernelNet(stem_conv.in_channels, self.head[-1].out_features, kernels or self.kernels(), self.widths,
                         self.strides, self.stem.op[3].out_channels, stem_conv.kernel_size[0], self.depthwise)
