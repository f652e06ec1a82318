"""Peak memory of a block of code, measured rather than estimated: `PeakMemory`.

* CUDA: the caching allocator's high-water mark (`torch.cuda.max_memory_allocated`) above the
  memory allocated when the block starts.
* CPU on Linux: the process's peak resident set size (`VmHWM` in /proc/self/status) above the
  resident size when the block starts. Writing "5" to /proc/self/clear_refs resets the peak to
  the current size (Linux >= 4.0), so the measurement needs no subprocess. Resident memory counts
  every page the process touches (tensors, autograd buffers, the allocator's slack), which is
  what a user runs out of; it is not PyTorch's tensor bytes alone. Memory freed earlier but kept
  by malloc is first handed back (`malloc_trim`), so that an earlier block cannot hide the peak.
* Elsewhere (macOS/Windows CPU, MPS): `None`, reported as "n/a", never guessed.
"""
from __future__ import annotations

import ctypes
import ctypes.util

import torch

_STATUS = "/proc/self/status"
_CLEAR_REFS = "/proc/self/clear_refs"


def _status_kib(field: str) -> int | None:
    try:
        with open(_STATUS) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _load_libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_LIBC = _load_libc()


def release_free_memory() -> None:
    """Hand memory that was freed but kept by glibc's malloc back to the OS (`malloc_trim(0)`).

    Without it, a block that runs after a memory-hungry one reuses those resident pages and its
    peak above the start reads too low. A no-op where glibc is absent.
    """
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


def reset_peak_rss() -> bool:
    """Reset the process's peak RSS to its current RSS; False where the OS does not allow it."""
    try:
        with open(_CLEAR_REFS, "w") as f:
            f.write("5")
    except OSError:
        return False
    return _status_kib("VmHWM") is not None


def rss_bytes() -> int | None:
    """Current resident set size in bytes (Linux), else None."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib * 1024


def peak_rss_bytes() -> int | None:
    """Peak resident set size in bytes since the last `reset_peak_rss` (Linux), else None."""
    kib = _status_kib("VmHWM")
    return None if kib is None else kib * 1024


class PeakMemory:
    """Context manager: `.peak_bytes` is the peak memory of the block above its start, or None.

    >>> with PeakMemory(torch.device("cpu")) as mem:
    ...     x = torch.ones(1_000_000)
    >>> mem.peak_bytes is None or mem.peak_bytes >= 0
    True
    """

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.peak_bytes: int | None = None
        self._base: int | None = None

    @property
    def kind(self) -> str:
        """What is measured: "cuda allocator", "cpu peak RSS" or "n/a"."""
        if self.device.type == "cuda":
            return "cuda allocator"
        return "cpu peak RSS" if self.device.type == "cpu" and rss_bytes() is not None else "n/a"

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
        elif self.device.type == "cpu":
            release_free_memory()
            if reset_peak_rss():
                self._base = rss_bytes()
        return self

    def __exit__(self, *exc) -> None:
        if self._base is None:
            return
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        else:
            peak = peak_rss_bytes()
        self.peak_bytes = None if peak is None else max(0, peak - self._base)
