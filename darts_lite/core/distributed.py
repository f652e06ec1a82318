"""Data-parallel search: R processes (launched by `torchrun`) that take the steps of one.

    torchrun --nproc_per_node 2 -m darts_lite search --batch-size 64 ...

Every process holds a full copy of the supernet and the optimisers. Each step,

1. all processes draw the same global batch of B images (the data order is a
   pure function of the seed, as in a single-process run) and each keeps its
   contiguous chunk of B / R images (`shard`);
2. each computes its gradients on its chunk, and `all_average` replaces them by
   their mean over the processes (one all-reduce SUM, divided by R);
3. each takes the same optimiser step (Adam on alpha, clipped SGD on w).

Why the alphas (and w) stay identical on every process: they start identical
(same seed, and rank 0's state is broadcast at the start, as DDP does); an
all-reduce leaves the *same* sum, bit for bit, on every process; and the
optimiser steps are deterministic functions of (parameters, gradient, optimiser
state). By induction every process holds the same alphas after every step.

What the run equals. The mean of the R chunk losses, each a mean over B / R
images, is the mean over the B images (the criterion must average over the
batch, as cross-entropy does), so the averaged gradient is the gradient of the
global batch's loss, except for BatchNorm: in training mode it normalises each
chunk with that chunk's own statistics. A data-parallel run is therefore a
single-process run on the global batch with *ghost-batch* BatchNorm
(statistics per chunk of B / R images), equal to it up to rounding
(tests/test_distributed.py). Running statistics (used only
in evaluation) are averaged over the processes after every step, which equals
updating them with the mean of the chunk statistics. `torch.nn.SyncBatchNorm`
would recover the global statistics on CUDA, but its kernels do not exist on
the CPU (torch 2.14: "SyncBatchNorm expected input tensor to be on GPU"), so one
meaning is kept on every device.

Second-order and exact hypergradients average, besides the final alpha
gradient, every gradient that eq. 7 is built from (see `hypergradient`): the
training gradient of the virtual step, the validation gradients at w', and the
Hessian-vector product.

Only rank 0 writes the run directory; to resume, every process reads rank 0's
checkpoint, so the processes share a disk (one machine, or a shared file system).
"""
from __future__ import annotations

import os
from typing import Sequence

import torch
import torch.distributed as dist

from .config import ConfigError

Batch = tuple[torch.Tensor, torch.Tensor]
TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")  # set by torchrun for every process it starts


def launched_by_torchrun() -> bool:
    """Whether this process was started by torchrun (its RANK, WORLD_SIZE and LOCAL_RANK are set)."""
    return all(name in os.environ for name in TORCHRUN_ENV)


def init(device: torch.device) -> torch.device:
    """Join torchrun's process group (once) and return the device this process computes on.

    nccl on CUDA, gloo on the CPU. Without torchrun, or with a single process,
    nothing happens and `device` comes back unchanged. A group that is already
    initialised (e.g. by a test) is used as it is.
    """
    if not dist.is_initialized():
        if not launched_by_torchrun() or int(os.environ["WORLD_SIZE"]) == 1:
            return device
        if device.type not in ("cpu", "cuda"):
            raise ValueError(f"data-parallel search runs on 'cpu' (gloo) or 'cuda' (nccl), not {device}; "
                             "set device='cpu' or 'cuda'")
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")  # env://, from torchrun
    if device.type == "cuda" and device.index is None and world_size() > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))  # one GPU per process
        torch.cuda.set_device(device)
    return device


def shutdown() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_initialized():
        dist.destroy_process_group()


def world_size() -> int:
    """Number of processes R (1 without a process group)."""
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    """This process's index in [0, R) (0 without a process group)."""
    return dist.get_rank() if dist.is_initialized() else 0


def is_main() -> bool:
    """Whether this process is rank 0: the one that writes files and shows progress."""
    return rank() == 0


def local_batch_size(batch_size: int, processes: int | None = None) -> int:
    """B / R, the images per process; a clear error unless the global batch splits evenly."""
    processes = world_size() if processes is None else processes
    if batch_size % processes:
        lower, upper = processes * max(1, batch_size // processes), processes * (batch_size // processes + 1)
        raise ConfigError(f"batch_size {batch_size} is the global batch, split evenly over {processes} "
                          f"processes, but it is not divisible by {processes}; use a multiple of "
                          f"{processes}, e.g. {lower} or {upper}")
    return batch_size // processes


def shard(batch: Batch, index: int | None = None, processes: int | None = None) -> Batch:
    """Process `index`'s contiguous chunk of a global batch: rows [index * B/R, (index + 1) * B/R)."""
    index = rank() if index is None else index
    X, y = batch
    n = local_batch_size(len(y), world_size() if processes is None else processes)
    return X[index * n:(index + 1) * n], y[index * n:(index + 1) * n]


def all_average(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The mean over the processes of each tensor (new tensors; the inputs are left alone).

    The tensors are flattened into one buffer per (device, dtype), so this is
    one all-reduce per call in the usual case. Without a process group it
    returns the tensors (detached) as they are.
    """
    tensors = [t.detach() for t in tensors]
    if world_size() == 1:
        return tensors
    out: list[torch.Tensor] = [None] * len(tensors)  # type: ignore[list-item]
    for index in _groups(tensors).values():
        if not tensors[index[0]].is_floating_point():
            raise TypeError(f"all_average averages floating-point tensors, got {tensors[index[0]].dtype}")
        flat = torch.cat([tensors[i].reshape(-1) for i in index])
        dist.all_reduce(flat)  # SUM: gloo has no AVG
        flat /= world_size()
        for i, part in zip(index, flat.split([tensors[i].numel() for i in index])):
            out[i] = part.view(tensors[i].shape)
    return out


def broadcast_(tensors: Sequence[torch.Tensor], src: int = 0) -> None:
    """Overwrite each tensor, in place, with process `src`'s values (one broadcast per dtype)."""
    if world_size() == 1:
        return
    tensors = list(tensors)
    for index in _groups(tensors).values():
        flat = torch.cat([tensors[i].detach().reshape(-1) for i in index])
        dist.broadcast(flat, src)
        with torch.no_grad():
            for i, part in zip(index, flat.split([tensors[i].numel() for i in index])):
                tensors[i].copy_(part.view(tensors[i].shape))


def barrier() -> None:
    """Wait until every process gets here (e.g. until rank 0 has written its files)."""
    if world_size() > 1:
        dist.barrier()


def any_process(flag: bool) -> bool:
    """True on every process if `flag` is True on any: so that all stop after the same step."""
    if world_size() == 1:
        return flag
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    t = torch.tensor([float(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def _groups(tensors: Sequence[torch.Tensor]) -> dict[tuple, list[int]]:
    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(tensors):
        groups.setdefault((t.device, t.dtype), []).append(i)
    return groups
