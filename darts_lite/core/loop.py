"""The epoch loop shared by the search and the retraining: progress, checkpoints, resume.

`run_epochs` owns what both loops have in common, so each of them states only
its own step and its own end-of-epoch bookkeeping. Its `state` dict holds the
position (`epoch`, `step`: the next step to run) and the running sums of the
epoch in flight; everything in it goes into the checkpoint.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable

from tqdm.auto import tqdm

from . import checkpoint as ckpt


def zero_sums() -> dict[str, float]:
    """Running sums of the epoch in flight."""
    return {"loss": 0.0, "acc": 0.0, "n": 0, "seconds": 0.0}


def epoch_means(sums: dict) -> dict[str, float]:
    """Mean training loss and accuracy of an epoch, and its seconds."""
    n = max(sums["n"], 1)
    return {"train_loss": sums["loss"] / n, "train_acc": sums["acc"] / n, "seconds": sums["seconds"]}


def run_epochs(state: dict, *, epochs: int, steps: int, batches: Callable[[int, int], Iterable],
               step: Callable[[object], dict], end_epoch: Callable[[dict], bool | None],
               save: Callable[[dict], dict], path: Path, desc: str, progress: bool = True,
               after_step: Callable[[dict], None] | None = None,
               callback: Callable[[dict], None] | None = None, write: bool = True,
               agree: Callable[[bool], bool] | None = None) -> None:
    """Run `step` on `batches(epoch, start)` until `epochs` are done, checkpointing to `path`.

    `end_epoch(state)` may return True to end the run after that epoch (early stopping).
    Ctrl-C (or `info["stop"]()` from `callback`) finishes the step in flight,
    saves a checkpoint and raises KeyboardInterrupt; a NaN loss raises
    NonFiniteLossError and leaves the last epoch's checkpoint untouched.
    In a data-parallel run only one process may `write` checkpoints, and
    `agree(requested)` (True if any process asked to stop) makes all stop after the same step.
    """
    bar = tqdm(total=epochs * steps, initial=state["epoch"] * steps + state["step"], desc=desc,
               disable=not progress, unit="step")
    try:
        with ckpt.interrupt_guard() as stop:
            while state["epoch"] < epochs and not state.get("stopped_early"):
                epoch, t0 = state["epoch"], time.perf_counter()
                for i, batch in enumerate(batches(epoch, state["step"]), start=state["step"]):
                    if i >= steps:
                        break
                    m = step(batch)
                    ckpt.check_finite(m["loss"], f"epoch {epoch + 1}, step {i + 1}", path)
                    sums = state["sums"]
                    sums["loss"] += m["loss"]
                    sums["acc"] += m["acc"]
                    sums["n"] += 1
                    sums["seconds"] += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    state["step"] = i + 1
                    if after_step is not None:
                        after_step(state)
                    bar.update(1)
                    bar.set_postfix(loss=f"{m['loss']:.3f}", acc=f"{m['acc']:.2f}")
                    if callback is not None:
                        callback({"epoch": epoch, "step": i, **m, "stop": stop.request})
                    requested = stop.requested if agree is None else agree(stop.requested)
                    if requested:
                        if write:
                            ckpt.save_checkpoint(save(state), path)
                        raise KeyboardInterrupt(f"{desc} interrupted at epoch {epoch + 1}, step {i + 1}; "
                                                f"checkpoint saved to {path}: run again with resume=True "
                                                "to continue")
                if end_epoch(state):  # an early-stopping rule fired: this epoch is the last
                    state["stopped_early"] = True
                state.update(epoch=epoch + 1, step=0, sums=zero_sums())
                if write:
                    ckpt.save_checkpoint(save(state), path)
    finally:
        bar.close()


def restore(path: Path, device, config, modules: dict, load_config) -> dict:
    """Load `path` into `modules` (name -> object with load_state_dict) after checking the config.

    Returns the saved loop state. A checkpoint written under other settings is
    refused, naming the settings that differ (the device and name may change).
    """
    saved = ckpt.load_checkpoint(path, map_location=device)
    ignore = {"device", "name"}
    theirs = load_config(saved["config"]).to_dict()
    diff = sorted(k for k, v in config.to_dict().items() if k not in ignore and theirs.get(k) != v)
    if diff:
        raise ValueError(f"cannot resume from {path}: the configuration differs in {diff}; "
                         "use the same settings, or start afresh with resume=False")
    for name, module in modules.items():
        module.load_state_dict(saved[name])
    ckpt.set_rng_state(saved["rng"])
    return saved["state"]


def checkpoint_dict(state: dict, config, modules: dict) -> dict:
    """Everything `restore` needs: loop state, config, each module's state_dict, the RNG state."""
    return {"state": state, "config": config.to_dict(), "rng": ckpt.rng_state(),
            **{name: m.state_dict() for name, m in modules.items()}}
