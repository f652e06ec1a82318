"""Tests for darts_lite.core.memory: the peak of a block is measured above its start."""
import sys

import pytest
import torch

from darts_lite.core import memory
from darts_lite.core.memory import PeakMemory

MiB = 2**20
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux") or not memory.reset_peak_rss(),
                                reason="peak RSS reset needs Linux /proc/self/clear_refs")


@linux_only
def test_cpu_peak_sees_a_freed_allocation():
    with PeakMemory("cpu") as mem:
        x = torch.ones(16 * MiB)  # 64 MiB, every page written
        del x
    assert mem.kind == "cpu peak RSS"
    assert 56 * MiB <= mem.peak_bytes <= 160 * MiB


@linux_only
def test_cpu_peak_is_above_the_start_not_absolute():
    keep = torch.ones(16 * MiB)  # resident before the block: must not count
    with PeakMemory("cpu") as mem:
        y = torch.ones(MiB // 4)  # 1 MiB
    assert mem.peak_bytes < 32 * MiB
    del keep, y


@linux_only
def test_peak_grows_with_the_allocation():
    peaks = []
    for n in (8, 48):
        with PeakMemory("cpu") as mem:
            x = torch.ones(n * MiB // 4)
            del x
        peaks.append(mem.peak_bytes)
    assert peaks[1] - peaks[0] >= 32 * MiB


def test_without_proc_the_peak_is_none_not_guessed(monkeypatch, tmp_path):
    monkeypatch.setattr(memory, "_CLEAR_REFS", str(tmp_path / "missing" / "clear_refs"))
    monkeypatch.setattr(memory, "_STATUS", str(tmp_path / "missing" / "status"))
    with PeakMemory("cpu") as mem:
        torch.ones(MiB)
    assert mem.peak_bytes is None
    assert mem.kind == "n/a"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_peak_counts_allocator_bytes():
    with PeakMemory("cuda") as mem:
        x = torch.ones(16 * MiB, device="cuda")
        del x
    assert mem.kind == "cuda allocator"
    assert mem.peak_bytes >= 64 * MiB


def test_compare_times_and_measures_each_path():
    from darts_lite.core.timing import compare
    a, b = torch.randn(64, 64), torch.randn(512, 512)
    out = compare({"small": lambda: a @ a, "large": lambda: b @ b}, "cpu", warmup=1, repeats=5)
    assert set(out["seconds"]) == {"small", "large"} and out["seconds"]["large"] > out["seconds"]["small"]
    assert set(out["peak_mib"]) == {"small", "large"} and out["memory_kind"] in ("cpu peak RSS", "n/a")
