"""Channels-last memory on a CPU: (B, C, H, W) tensors stored as (B, H, W, C), the same numbers.

oneDNN, PyTorch's CPU convolution library, runs the depthwise convolutions of the search space
about twice as fast (forward and backward) on channels-last memory as on the default layout
(`docs/benchmarks.md`). The gain survives a whole network only if every tensor stays
channels-last, gradients included: one plain tensor in the chain and each operation after it
converts back and forth. `use_channels_last` converts a model where it was measured faster; the
helpers below keep results in the layout of their input.
"""
from __future__ import annotations

import torch
import torch.nn as nn

CHANNELS_LAST = torch.channels_last


def use_channels_last(model: nn.Module, device: torch.device | str) -> nn.Module:
    """`model` in channels-last memory, in place, where that was measured faster: on a CPU, for a model whose
    class (or instance) sets `faster_channels_last = True`; otherwise `model` as it is.

    Only the weights move: a convolution whose weight is channels-last gives a channels-last result, so the
    input batch needs no conversion and every later layer follows. Values, checkpoints and resumed runs are
    unaffected (a state dict loads into either layout).
    """
    if torch.device(device).type == "cpu" and getattr(model, "faster_channels_last", False):
        model.to(memory_format=CHANNELS_LAST)
    return model


def is_channels_last(x: torch.Tensor) -> bool:
    """True for a 4-d tensor stored channels-last and not also plain contiguous (as for C = 1 or 1x1 images)."""
    return x.dim() == 4 and x.is_contiguous(memory_format=CHANNELS_LAST) and not x.is_contiguous()


def repeat_channels(x: torch.Tensor, m: int) -> torch.Tensor:
    """`x.repeat(1, m, 1, 1)` (the channels copied m times, copy-major) in the layout of `x`."""
    if is_channels_last(x):  # repeat() returns plain memory: repeat the innermost dimension instead
        return x.permute(0, 2, 3, 1).repeat(1, 1, 1, m).permute(0, 3, 1, 2)
    return x.repeat(1, m, 1, 1)


def even_and_odd_pixels(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(x[:, :, ::2, ::2], x[:, :, 1::2, 1::2]): the pixels at even and at odd rows and columns, whose
    gradient comes back in the memory layout of `x`.

    Slicing's own gradient is always plain memory: in a channels-last network each layer before it would
    convert back and forth. This one writes both slices' gradients into one zero tensor with the strides of `x`.
    """
    return _EvenAndOddPixels.apply(x)


class _EvenAndOddPixels(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ctx.size, ctx.strides = x.shape, x.stride()
        return x[:, :, ::2, ::2], x[:, :, 1::2, 1::2]

    @staticmethod
    def backward(ctx, grad_even: torch.Tensor | None, grad_odd: torch.Tensor | None) -> torch.Tensor:
        like = grad_even if grad_even is not None else grad_odd
        grad = torch.empty_strided(ctx.size, ctx.strides, dtype=like.dtype, device=like.device).zero_()
        if grad_even is not None:
            grad[:, :, ::2, ::2] = grad_even
        if grad_odd is not None:
            grad[:, :, 1::2, 1::2] = grad_odd
        return grad
