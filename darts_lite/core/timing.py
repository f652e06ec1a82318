"""Timing and peak memory of code paths, measured the same way everywhere.

* `measure(fn)`: median wall seconds over `repeats` calls and the median peak memory
  (`memory.PeakMemory`), with CUDA synchronisation around each call.
* `compare(paths)`: several paths that compute the same thing (e.g. a merged and a separate
  convolution); after `warmup` rounds they alternate inside every repeat, so that a busy machine
  slows all of them alike, and their medians are comparable within one run.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable, TypeVar

import torch

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


def compare(paths: dict[str, Callable[[], object]], device: torch.device | str = "cpu", warmup: int = 2,
            repeats: int = 7) -> dict:
    """{"seconds": {name: median}, "peak_mib": {name: MiB or None}, "memory_kind": str} for each path."""
    device = torch.device(device)
    for _ in range(warmup):
        for fn in paths.values():
            fn()
    seconds = {name: [] for name in paths}
    for _ in range(max(1, repeats)):
        for name, fn in paths.items():
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            seconds[name].append(time.perf_counter() - start)
    peak_mib = {}
    for name, fn in paths.items():
        _, _, peak = measure(fn, device, repeats=1)
        peak_mib[name] = None if peak is None else peak / 2**20
    return {"seconds": {k: statistics.median(v) for k, v in seconds.items()}, "peak_mib": peak_mib,
            "memory_kind": PeakMemory(device).kind}
