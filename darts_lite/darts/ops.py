"""Candidate operations of the DARTS CNN search space (Liu et al., 2019, Sec. 3.1.1).

Each entry of the registry `OPS` builds one operation from the channel count C,
the stride and whether BatchNorm is affine. Every operation maps
(B, C, H, W) to (B, C, H, W) at stride 1 and to (B, C, ceil(H/2), ceil(W/2)) at
stride 2, so all candidates on an edge can be summed. `register_op` adds a new
candidate; `PRIMITIVES` keeps the default order (column k of an alpha tensor is
the weight of `PRIMITIVES[k]`).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.channels_last import even_and_odd_pixels, is_channels_last

OpFactory = Callable[[int, int, bool], nn.Module]


class Zero(nn.Module):
    """The `none` operation: zeros of the output shape (it still takes a softmax share)."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.0)
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv -> BatchNorm, the 1x1 preprocessing of cell inputs."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class DepthwiseConv2d(nn.Conv2d):
    """A depthwise convolution (one kernel per channel, no bias) that keeps a CPU's channels-last input
    channels-last, but computes a kernel both strided and dilated in plain memory.

    oneDNN's channels-last kernel is faster for every depthwise shape of the course but that one, which it
    runs 2.2x slower than the plain kernel (forward + backward, `docs/benchmarks.md`): the reduction
    edges' dilated convolutions. The copies there and back cost less than the difference.
    """

    def __init__(self, channels: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1):
        super().__init__(channels, channels, kernel, stride, padding, dilation, groups=channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] == 1 or self.dilation[0] == 1 or x.device.type != "cpu" or not is_channels_last(x):
            return super().forward(x)
        # a channels-last weight would make the convolution channels-last again: pass a plain copy
        weight = self.weight.clone(memory_format=torch.contiguous_format)
        y = F.conv2d(x.contiguous(), weight, None, self.stride, self.padding, self.dilation, self.groups)
        return y.contiguous(memory_format=torch.channels_last)


class DilConv(nn.Sequential):
    """ReLU -> dilated depthwise conv -> 1x1 pointwise conv -> BatchNorm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 dilation: int, affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            DepthwiseConv2d(c_in, kernel, stride, padding, dilation),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """A separable convolution applied twice, the first one carrying the stride."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int,
                 affine: bool = True):
        super().__init__(
            DilConv(c_in, c_in, kernel, stride, padding, 1, affine),
            DilConv(c_in, c_out, kernel, 1, padding, 1, affine),
        )


class FactorizedReduce(nn.Module):
    """Halve H and W with two 1x1 convs: `conv_a` on the input at stride 2, `conv_b` on the input shifted by a
    pixel, at stride 2; their outputs side by side along the channels (`factorized_halves`)."""

    def __init__(self, c_in: int, c_out: int, affine: bool = True):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_a = nn.Conv2d(c_in, half_width(c_out), 1, bias=False)
        self.conv_b = nn.Conv2d(c_in, half_width(c_out), 1, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(torch.cat(factorized_halves(self.relu(x), self.conv_a, self.conv_b), dim=1))


def half_width(c_out: int) -> int:
    """The channels of each of FactorizedReduce's halves; a clear error for an odd `c_out`."""
    if c_out % 2:
        raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
    return c_out // 2


def factorized_halves(x: torch.Tensor, conv_a: nn.Module, conv_b: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """FactorizedReduce's two halves: conv_a on every second pixel, conv_b on every second pixel of the input
    shifted up and left by one pixel and zero-padded back to its size.

    Shifting by one, then taking every second pixel, takes the odd rows and columns x[1::2, 1::2]: so each
    1x1 convolution runs at stride 1 on its quarter of the pixels, never at stride 2 on all of them, and the
    shifted copy is never made. The numbers are the stride-2 form's, bit for bit at even sides (tests compare
    them, also through a seeded search). oneDNN's channels-last stride-2 1x1 kernel writes past its buffer in
    the backward pass at fewer input channels than its block (8 with AVX2, 16 with AVX-512): heap corruption,
    crashes, or wrong weight gradients (`benchmarks/kernel_sweep.py`). This form never calls it, and is
    1.1-2.5x faster as an operation (`benchmarks/factorized_reduce.py`; a search step: unchanged).
    """
    even, odd = even_and_odd_pixels(x)
    a, b = conv_a(even), conv_b(odd)
    if b.shape[-2:] != a.shape[-2:]:  # odd H or W: the shifted input's zero border, after the conv (1x1, no bias)
        b = F.pad(b, (0, a.shape[-1] - b.shape[-1], 0, a.shape[-2] - b.shape[-2]))
    return a, b


class MaxPool2d(nn.MaxPool2d):
    """`nn.MaxPool2d`, computed on a CPU in channels-last memory: the same numbers, ties and gradients.

    PyTorch's CPU max-pool kernel for (B, C, H, W) memory is 3-10x slower than its channels-last one at the
    course's shapes (`benchmarks/cpu_kernels.py`); the two layout copies cost less than the difference. A
    channels-last input (`core.channels_last`) is pooled as it is and stays channels-last.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or x.dim() != 4 or is_channels_last(x):
            return super().forward(x)
        return super().forward(x.contiguous(memory_format=torch.channels_last)).contiguous()


def _pool(kind: str) -> OpFactory:
    def build(C: int, stride: int, affine: bool) -> nn.Module:
        if kind == "max":
            return MaxPool2d(3, stride=stride, padding=1)
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    return build


OPS: dict[str, OpFactory] = {
    "none": lambda C, stride, affine: Zero(stride),
    "max_pool_3x3": _pool("max"),
    "avg_pool_3x3": _pool("avg"),
    "skip_connect": lambda C, stride, affine: (
        nn.Identity() if stride == 1 else FactorizedReduce(C, C, affine)),
    "sep_conv_3x3": lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine),
    "sep_conv_5x5": lambda C, stride, affine: SepConv(C, C, 5, stride, 2, affine),
    "dil_conv_3x3": lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine),
    "dil_conv_5x5": lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine),
}

#: The eight candidates of the paper, in the order of the alpha columns.
PRIMITIVES: tuple[str, ...] = tuple(OPS)
# The factories defined above, kept apart from the registry that `register_op` changes.
_BUILT_IN: dict[str, OpFactory] = dict(OPS)


def is_built_in(name: str) -> bool:
    """True if `name` is one of the paper's candidates as this module defines it (not registered or overridden).

    `fast_cell` batches only these: it knows their structure. It asks at the time a cell is built,
    so an override registered at any time (before or after `fast_cell` is imported) runs edge by edge.
    """
    return name in _BUILT_IN and OPS.get(name) is _BUILT_IN[name]


def register_op(name: str, factory: OpFactory, overwrite: bool = False) -> None:
    """Add a candidate operation `factory(C, stride, affine) -> nn.Module` to `OPS`.

    A new op is not in `PRIMITIVES`; pass a `primitives` list that names it to
    the search network to search over it.
    """
    if not name or not isinstance(name, str):
        raise ValueError(f"an operation name must be a non-empty string, got {name!r}")
    if name in OPS and not overwrite:
        raise ValueError(f"operation {name!r} is already registered; pass overwrite=True to replace it")
    OPS[name] = factory


def build_op(name: str, C: int, stride: int, affine: bool = True) -> nn.Module:
    """Build the registered operation `name`; an unknown name lists the known ones."""
    if name not in OPS:
        raise KeyError(f"unknown operation {name!r}; registered operations: {', '.join(OPS)}. "
                       "Add one with darts_lite.darts.ops.register_op(name, factory).")
    if stride not in (1, 2):
        raise ValueError(f"stride must be 1 or 2, got {stride}")
    return OPS[name](C, stride, affine)


def check_primitives(primitives) -> tuple[str, ...]:
    """Validate a list of operation names against the registry; returns it as a tuple."""
    primitives = tuple(primitives)
    unknown = [p for p in primitives if p not in OPS]
    if unknown:
        raise ValueError(f"unknown operation(s) {unknown}; registered operations: {', '.join(OPS)}")
    if len(set(primitives)) != len(primitives):
        raise ValueError(f"operation names must be unique, got {list(primitives)}")
    if not primitives:
        raise ValueError("the search space needs at least one operation")
    return primitives
