#!/usr/bin/env python3
"""Two CPU kernels the ground-truth build leans on: max-pooling's memory layout and 1x1 convolutions as products.

At the small space's shapes (batch 32, 8-64 channels, 4-16 px) a training step is mostly memory-bound
kernels, and two of PyTorch's CPU kernels are slow there:

* `"op": "max_pool_3x3"`: `nn.MaxPool2d(3, stride, 1)` on (B, C, H, W) memory against
  `darts.ops.MaxPool2d`, the same pool computed in channels-last memory (two layout copies included);
* `"op": "pointwise"`: K grouped 1x1 convolutions (`nn.Conv2d(..., 1, groups=K)`) against
  `ground_truth.bank.BankPointwise`, one batched matrix product with the same weight.

Each pair runs forward + backward (gradients for the input and the weight) and is timed by
`darts_lite.core.timing.compare` (alternating inside every repeat, medians). stdout is JSON lines
only, one per shape, with `speedup` = PyTorch's layer seconds / ours.

    python benchmarks/cpu_kernels.py --threads 1 --repeats 21
"""
from __future__ import annotations

import argparse
import json

import torch
import torch.nn as nn

from darts_lite.core.timing import compare
from darts_lite.darts.ops import MaxPool2d
from darts_lite.ground_truth.bank import BankPointwise

# (channels, image side, stride): the pools of the default table's network at C=8 (normal and fixed reduce cells)
POOL_SHAPES = ((8, 16, 1), (24, 16, 2), (16, 8, 1), (32, 8, 2), (32, 4, 1))
# (networks K, in channels, out channels, image side, stride): the default table's 1x1 convolutions
POINTWISE_SHAPES = ((1, 24, 8, 16, 1), (1, 8, 8, 16, 1), (1, 16, 8, 16, 2), (4, 24, 8, 16, 1), (4, 32, 32, 8, 1))


def forward_backward(layer: nn.Module, x: torch.Tensor):
    def step():
        layer.zero_grad(set_to_none=True)
        x.grad = None
        layer(x).sum().backward()
    return step


def pool_line(channels: int, side: int, stride: int, batch: int, repeats: int) -> dict:
    x = torch.randn(batch, channels, side, side, requires_grad=True)
    times = compare({"torch": forward_backward(nn.MaxPool2d(3, stride, 1), x),
                     "ours": forward_backward(MaxPool2d(3, stride, 1), x)}, repeats=repeats)["seconds"]
    return {"op": "max_pool_3x3", "shape": [batch, channels, side, side], "stride": stride,
            "torch_us": round(times["torch"] * 1e6, 1), "ours_us": round(times["ours"] * 1e6, 1),
            "speedup": round(times["torch"] / times["ours"], 2)}


def pointwise_line(K: int, c_in: int, c_out: int, side: int, stride: int, batch: int, repeats: int) -> dict:
    x = torch.randn(batch, K * c_in, side, side, requires_grad=True)
    ours = BankPointwise(K, c_in, c_out, stride)
    conv = nn.Conv2d(K * c_in, K * c_out, 1, stride, 0, groups=K, bias=False)
    with torch.no_grad():
        conv.weight.copy_(ours.weight)
    times = compare({"torch": forward_backward(conv, x), "ours": forward_backward(ours, x)},
                    repeats=repeats)["seconds"]
    return {"op": "pointwise", "networks": K, "shape": [batch, K * c_in, side, side], "out_channels": K * c_out,
            "stride": stride, "torch_us": round(times["torch"] * 1e6, 1), "ours_us": round(times["ours"] * 1e6, 1),
            "speedup": round(times["torch"] / times["ours"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the build's workers use 1)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for shape in POOL_SHAPES:
        print(json.dumps({**pool_line(*shape, args.batch, args.repeats), "threads": args.threads}), flush=True)
    for shape in POINTWISE_SHAPES:
        print(json.dumps({**pointwise_line(*shape, args.batch, args.repeats), "threads": args.threads}), flush=True)


if __name__ == "__main__":
    main()
