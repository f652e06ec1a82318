"""Nothing lost on interruption: atomic checkpoints, a Ctrl-C guard, a NaN guard.

A long loop saves its whole state after every epoch (and on Ctrl-C, after the
step in flight has finished), so that `resume=True` continues exactly where it
stopped: same data order, same optimiser state, same random state.
"""
from __future__ import annotations

import math
import os
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch

from ..readers import torch_load


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the message says where and what was kept."""


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write `state` with torch.save through a temporary file, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`, with an error that names the file."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no checkpoint at {path}; run without resume=True to start afresh")
    return torch_load(path, "checkpoint", RuntimeError, map_location)


def epoch_generator(seed: int, epoch: int, stream: int = 0) -> torch.Generator:
    """A generator for one epoch's data order, a pure function of (seed, epoch, stream)."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 101 + stream)


def rng_state() -> dict[str, Any]:
    """The global torch random state (CPU and CUDA) to store in a checkpoint."""
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def check_finite(value: float, where: str, checkpoint: Path | None) -> None:
    """Raise NonFiniteLossError for a NaN/inf loss, naming the step and the checkpoint kept."""
    if math.isfinite(value):
        return
    kept = (f"the last good checkpoint is {checkpoint}" if checkpoint is not None and checkpoint.exists()
            else "no checkpoint was written yet")
    raise NonFiniteLossError(f"the loss became {value} at {where}; stopped, {kept}. "
                             "Try a lower learning rate or a smaller grad_clip, then resume.")


class StopFlag:
    """Set by Ctrl-C (SIGINT) or by `request()`; the loop checks it between steps."""

    def __init__(self):
        self.requested = False

    def request(self) -> None:
        self.requested = True


@contextmanager
def interrupt_guard() -> Iterator[StopFlag]:
    """Turn Ctrl-C into a StopFlag for the duration, so the step in flight completes.

    A second Ctrl-C raises at once. Outside the main thread signals cannot be
    caught, so there the flag is only set by `request()`.
    """
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag.requested:
            raise KeyboardInterrupt
        flag.request()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
