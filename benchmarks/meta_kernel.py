#!/usr/bin/env python3
"""Merged meta-kernel (one convolution) vs separate branches (one per kernel size): forward + backward.

Two levels, each timed as the median of `--repeats` runs after `--warmup` untimed ones:

* `"level": "op"`: one `MetaKernelConv` (3x3 + 5x5 + 7x7, depthwise and full) on a batch,
  forward + backward (gradients for the input, the kernels and the alphas);
* `"level": "search_step"`: a whole `KernelSearchNet` training step (forward, backward, Adam)
  with `merged=True` vs `merged=False`, all other code the same.

`darts_lite.core.timing.compare` alternates the two paths inside each repeat, so that machine noise
hits both, and takes the peak memory of one call of each (CUDA allocator, or peak RSS above the
start on Linux).
stdout carries JSON lines only, with `speedup` = separate seconds / merged seconds and
`flop_ratio` = (9 + 25 + 49) / 49 for the op level. On CUDA, TF32 is left at PyTorch's default.

    python benchmarks/meta_kernel.py --threads 2                 # CPU, default shapes
    python benchmarks/meta_kernel.py --device cuda --batch 128   # GPU
"""
from __future__ import annotations

import argparse
import json
import sys

import torch
import torch.nn.functional as F

from darts_lite.core.timing import compare
from darts_lite.meta_kernels.kernel_net import KernelSearchNet
from darts_lite.meta_kernels.meta_kernel import MetaKernelConv

SIZES = (3, 5, 7)


def op_paths(channels: int, depthwise: bool, batch: int, image: int, device):
    op = MetaKernelConv(channels, channels, SIZES, depthwise=depthwise).to(device)
    x = torch.randn(batch, channels, image, image, device=device, requires_grad=True)
    alphas = torch.randn(len(SIZES), device=device, requires_grad=True)

    def run(fn):
        def go():
            out = fn(x, alphas)
            out.square().mean().backward()
        return go

    return {"merged": run(op), "separate": run(op.separate)}


def step_paths(batch: int, image: int, device):
    paths = {}
    for name, merged in (("merged", True), ("separate", False)):
        torch.manual_seed(0)
        net = KernelSearchNet(3, 10, widths=(32, 64, 96), strides=(1, 2, 2), merged=merged).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        X = torch.randn(batch, 3, image, image, device=device)
        y = torch.randint(0, 10, (batch,), device=device)

        def go(net=net, opt=opt, X=X, y=y):
            loss = F.cross_entropy(net(X), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        paths[name] = go
    return paths


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads on the CPU")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--image", type=int, default=32)
    p.add_argument("--channels", type=int, nargs="+", default=[16, 64])
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    common = {"device": str(device), "batch": args.batch, "image": args.image, "threads": torch.get_num_threads(),
              "torch": torch.__version__}
    for depthwise in (True, False):
        for channels in args.channels:
            print(f"op depthwise={depthwise} C={channels}", file=sys.stderr, flush=True)
            r = compare(op_paths(channels, depthwise, args.batch, args.image, device), device, args.warmup,
                        args.repeats)
            s = r["seconds"]
            print(json.dumps({"level": "op", "depthwise": depthwise, "channels": channels, **common, **r,
                              "speedup": s["separate"] / s["merged"], "flop_ratio": sum(k * k for k in SIZES) / 49}),
                  flush=True)
    print("search step", file=sys.stderr, flush=True)
    r = compare(step_paths(args.batch, args.image, device), device, args.warmup, args.repeats)
    s = r["seconds"]
    print(json.dumps({"level": "search_step", **common, **r, "speedup": s["separate"] / s["merged"]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
