#!/usr/bin/env python3
"""FactorizedReduce, forward + backward: the paper's form against the shipped one, at the course's shapes.

* `"paper"`: two stride-2 1x1 convolutions, the second on the input shifted by one pixel (a zero-padded copy);
* `"shipped"`: `darts.ops.FactorizedReduce`, the two 1x1 convolutions at stride 1 on the even and the odd
  pixels (`factorized_halves`), with one gradient in the input's layout.

Both in plain memory and channels-last (as a CPU search runs). The paper's form runs channels-last only from
16 input channels: below oneDNN's block (8 with AVX2, 16 with AVX-512) its stride-2 1x1 backward corrupts the
heap (`kernel_sweep.py`). Each pair is timed by `darts_lite.core.timing.compare` (alternating, medians); stdout
is JSON lines, one per shape and layout, `speedup` = paper seconds / shipped seconds.

    python benchmarks/factorized_reduce.py --threads 1 --repeats 25
"""
from __future__ import annotations

import argparse
import json

import torch
import torch.nn as nn
import torch.nn.functional as F

from darts_lite.core.host import describe_host
from darts_lite.core.timing import compare
from darts_lite.darts.ops import FactorizedReduce

# (batch, in channels, out channels, image side): the supernets' and derived networks' FactorizedReduce
# (preprocessing after a reduction cell, the stride-2 skips) at the course's shapes (C = 4-16, 8-32 px)
SHAPES = ((64, 16, 8, 8), (32, 24, 16, 16), (32, 32, 32, 16), (32, 8, 8, 16), (32, 18, 12, 32), (32, 24, 8, 32))


class PapersFactorizedReduce(FactorizedReduce):
    """The same module, computed as the paper writes it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([F.conv2d(x, self.conv_a.weight, stride=2),
                                  F.conv2d(shifted, self.conv_b.weight, stride=2)], dim=1))


def forward_backward(module: nn.Module, x: torch.Tensor):
    def step():
        module.zero_grad(set_to_none=True)
        x.grad = None
        module(x).sum().backward()
    return step


def line(batch: int, c_in: int, c_out: int, side: int, layout: str, repeats: int) -> dict | None:
    if layout == "channels_last" and c_in < 16:
        return None
    torch.manual_seed(0)
    shipped = FactorizedReduce(c_in, c_out)
    paper = PapersFactorizedReduce(c_in, c_out)
    paper.load_state_dict(shipped.state_dict())
    x = torch.randn(batch, c_in, side, side)
    if layout == "channels_last":
        shipped, paper = shipped.to(memory_format=torch.channels_last), paper.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    seconds = compare({"paper": forward_backward(paper, x), "shipped": forward_backward(shipped, x)},
                      repeats=repeats)["seconds"]
    return {"shape": [batch, c_in, side, side], "out_channels": c_out, "layout": layout,
            "paper_us": round(seconds["paper"] * 1e6, 1), "shipped_us": round(seconds["shipped"] * 1e6, 1),
            "speedup": round(seconds["paper"] / seconds["shipped"], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the course's workers use 1)")
    parser.add_argument("--repeats", type=int, default=25)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps({"host": describe_host(), "threads": args.threads}), flush=True)
    for shape in SHAPES:
        for layout in ("plain", "channels_last"):
            result = line(*shape, layout, args.repeats)
            if result:
                print(json.dumps({**result, "threads": args.threads}), flush=True)


if __name__ == "__main__":
    main()
