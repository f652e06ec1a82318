"""Timing of code paths and networks, measured the same way everywhere.

Every timer synchronises CUDA around the timed work and takes medians; where several things are
compared, they are warmed up and then take turns within each round, so that a slow phase of the
machine (another process, frequency scaling) hits all of them alike.

* `measure(fn)`: median wall seconds over `repeats` calls and the median peak memory
  (`memory.PeakMemory`), with CUDA synchronisation around each call.
* `compare(paths)`: several paths that compute the same thing (e.g. a merged and a separate
  convolution); after `warmup` rounds they alternate inside every repeat, so that a busy machine
  slows all of them alike, and their medians are comparable within one run.
* `measure_latencies(networks)`: inference latency of several networks, in alternating rounds;
  `measure_latency(network)` for one.

Both comparisons take turns through one loop, `alternate`.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable, Sequence, TypeVar

import torch
import torch.nn as nn

from .memory import PeakMemory

T = TypeVar("T")


def synchronize(device: torch.device) -> None:
    """Wait for the GPU's queued work (a no-op on the CPU), so that a timer sees it finished."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(fn: Callable[[], T], device: torch.device, repeats: int = 3) -> tuple[T, float, int | None]:
    """(result of the last call, median wall seconds per call, median peak memory bytes or None)."""
    seconds, peaks, result = [], [], None
    for _ in range(max(1, repeats)):
        with PeakMemory(device) as mem:
            start = time.perf_counter()
            result = fn()
            synchronize(device)
            seconds.append(time.perf_counter() - start)
        if mem.peak_bytes is not None:
            peaks.append(mem.peak_bytes)
    return result, statistics.median(seconds), int(statistics.median(peaks)) if peaks else None


def alternate(paths: dict[str, Callable[[], object]], device: torch.device, rounds: int, timed: int = 1,
              warmup: int = 0) -> dict[str, list[float]]:
    """Wall seconds of each call of each path, the paths taking turns: the one timing loop of the library.

    In each of `rounds` rounds every path in turn runs `warmup` untimed calls, then `timed` timed
    ones, CUDA synchronised around each. A slow phase of the machine (another process, frequency
    scaling) then hits every path alike, so their medians are comparable within one run.
    """
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(max(1, rounds)):
        for name, fn in paths.items():
            for _ in range(warmup):
                fn()
            for _ in range(max(1, timed)):
                synchronize(device)
                start = time.perf_counter()
                fn()
                synchronize(device)
                seconds[name].append(time.perf_counter() - start)
    return seconds


def compare(paths: dict[str, Callable[[], object]], device: torch.device | str = "cpu", warmup: int = 2,
            repeats: int = 7) -> dict:
    """{"seconds": {name: median}, "peak_mib": {name: MiB or None}, "memory_kind": str} for each path.

    `warmup` untimed rounds of every path, then `repeats` rounds of one timed call each.
    """
    device = torch.device(device)
    if warmup:
        alternate(paths, device, rounds=warmup)
    seconds = alternate(paths, device, rounds=repeats)
    peak_mib = {}
    for name, fn in paths.items():
        _, _, peak = measure(fn, device, repeats=1)
        peak_mib[name] = None if peak is None else peak / 2**20
    return {"seconds": {k: statistics.median(v) for k, v in seconds.items()}, "peak_mib": peak_mib,
            "memory_kind": PeakMemory(device).kind}


@torch.no_grad()
def measure_latencies(modules: dict[str, nn.Module], input_shape: Sequence[int], device: torch.device | str = "cpu",
                      warmup: int = 3, repeats: int = 20, rounds: int = 5) -> dict[str, float]:
    """Median inference latency (us) of several networks (eval mode), measured in alternating rounds.

    In each of `rounds` rounds every network in turn gets `warmup` untimed passes (its caches hot
    again, as when one network serves requests) and `repeats // rounds` timed ones (`alternate`).
    """
    device = torch.device(device)
    x = torch.randn(*input_shape, device=device)
    states = {name: m.training for name, m in modules.items()}
    nets = {name: m.to(device).eval() for name, m in modules.items()}
    try:
        times = alternate({name: (lambda net=net: net(x)) for name, net in nets.items()}, device, rounds,
                          timed=repeats // rounds, warmup=warmup)
    finally:
        for name, m in modules.items():
            m.train(states[name])
    return {name: 1e6 * statistics.median(t) for name, t in times.items()}


def measure_latency(module: nn.Module, input_shape: Sequence[int], device: torch.device | str = "cpu",
                    warmup: int = 5, repeats: int = 20) -> float:
    """Median wall time of one inference forward pass in microseconds (eval mode):
    `warmup` untimed passes, then `repeats` timed ones."""
    return measure_latencies({"net": module}, input_shape, device, warmup, repeats, rounds=1)["net"]
