"""The DARTS search loop: Algorithm 1 of Liu et al. (2019).

    while not converged:
        1. update alpha by descending the hypergradient of L_val (first or second order)
        2. update w by descending grad_w L_train(w, alpha)

`search_step` is one iteration; `search` runs epochs of it with a cosine
schedule on w's learning rate, gradient clipping, a progress bar, a metrics
history, alpha snapshots, a checkpoint after every epoch (and on Ctrl-C), and
`resume=True` to continue a stopped run exactly.

Three architecture schedules are named in `config.SCHEDULES`. "paper" is Algorithm 1 as published:
softmax mixing of every candidate and Adam on alpha at 3e-4 from the first step; in a CPU budget
it leaves the alphas at uniform (kept weight 1/7: undecided). "decisive", chosen by measurement
(notebook 03 compares the schedules on planted cells): the first 30% of the epochs train w alone in the softmax mixture
(warm-up, as PC-DARTS and P-DARTS do); then every forward pass runs one operation per edge, sampled
from softmax((alpha + g) / tau) with Gumbel noise g and a straight-through gradient (GDAS), tau
annealed linearly from 10 to 0.1 over the epochs; and Adam's rate on alpha follows the budget rule
of `arch_lr` (a fixed travel spread over the alpha steps); it decides, and collapses onto skips
on the ground truth. "beta_darts", the course's default since it scored best there (notebook 08, where it still
only ties random search): the softmax relaxation with the same budget rule and beta-DARTS's
Beta-Decay loss (`remedies`). Every search records in its history and result whether it
decided (`decision`) and whether its supernet stayed healthy (`health`), and warns when not.

Launched by `torchrun`, it
runs data-parallel (see `distributed`): each process takes its share of every
global batch, gradients are averaged, and only rank 0 writes files.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core import distributed
from ..core.channels_last import use_channels_last
from ..core.checkpoint import epoch_generator
from ..core.config import ConfigError
from ..core.decision import flat, warn_if_undecided
from ..core.loop import checkpoint_dict, epoch_means, run_epochs, zero_sums
from ..core.runs import resume_or_start, start_run
from ..core.runtime import get_device
from ..core.training import evaluate
from ..data import DataSplits, iterate_batches, num_batches
from . import decision, null
from .config import SearchConfig
from .discretize import evaluate_discretized
from .genotypes import Genotype
from .health import supernet_health, warn_if_unhealthy
from .remedies import alpha_penalty, derive, remedies_for, undecided_advice, weight_step_mixing
from .hypergradient import Average, Batch, Criterion, hypergradient
from .supernet import SearchNetwork

SNAPSHOTS_PER_EPOCH = 4  # alpha snapshots per epoch, for the trajectory plots


@dataclass
class SearchResult:
    """What a search leaves: the genotype, final alphas, per-epoch history and alpha trajectory."""

    genotype: Genotype
    decision: dict  # `decision.decision` of the final alphas: did the search choose its genotype?
    health: dict    # `health.supernet_health` of the history: did the supernet collapse?
    alphas: dict[str, torch.Tensor]
    history: list[dict]
    trajectory: dict[str, torch.Tensor]  # "epoch": (T,), "normal"/"reduce": (T, edges, ops) softmax
    model: SearchNetwork
    config: SearchConfig
    run_dir: Path


def build_supernet(config: SearchConfig, data: DataSplits) -> SearchNetwork:
    """The supernet of `config` sized for `data` (input channels and classes)."""
    return SearchNetwork(C=config.channels, num_classes=data.num_classes, layers=config.layers,
                         nodes=config.nodes, multiplier=config.multiplier,
                         stem_multiplier=config.stem_multiplier, in_channels=data.in_channels,
                         primitives=config.primitives, alpha_init_std=config.alpha_init_std,
                         fast=config.fast and config.sampling == "softmax", partial_channels=config.partial_channels)


def arch_lr(config: SearchConfig, steps_per_epoch: int) -> float:
    """Adam's learning rate on alpha: `arch_lr`, or with `arch_travel` > 0 the budget rule.

    Adam moves each alpha by at most about its learning rate per step, so over S alpha steps an
    alpha can travel about S * lr. A kept weight of 0.5 among 7 operations needs a gap of
    ln 6 = 1.8 between the kept alpha and the rest; the paper's 3e-4 gets there after ~6,000
    consistent steps (50 CIFAR-10 epochs), far more than a CPU budget holds. The rule fixes the
    travel instead of the rate: lr = arch_travel / S, S = (epochs - warmup_epochs) * steps_per_epoch.
    """
    if config.arch_travel <= 0:
        return config.arch_lr
    return config.arch_travel / max((config.epochs - config.warmup_epochs) * steps_per_epoch, 1)


def make_optimizers(model: SearchNetwork, config: SearchConfig, steps_per_epoch: int = 1):
    """SGD with momentum on w (cosine schedule over the epochs) and Adam on alpha, as in the paper."""
    w_opt = torch.optim.SGD(model.weight_parameters(), lr=config.w_lr, momentum=config.w_momentum,
                            weight_decay=config.w_weight_decay)
    alpha_opt = torch.optim.Adam(model.arch_parameters(), lr=arch_lr(config, steps_per_epoch), betas=(0.5, 0.999),
                                 weight_decay=config.arch_weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, config.epochs, eta_min=config.w_lr_min)
    return w_opt, alpha_opt, schedule


def search_step(model: SearchNetwork, w_opt: torch.optim.Optimizer, alpha_opt: torch.optim.Optimizer,
                train_batch: Batch, val_batch: Batch, order: int | str = 1, radius: float = 0.01,
                grad_clip: float = 5.0, criterion: Criterion = F.cross_entropy,
                average: Average | None = None, arch_step: bool = True,
                alpha_penalty: Callable[[], torch.Tensor] | None = None,
                mixing: Callable[[dict], dict] | None = None) -> dict[str, float]:
    """One iteration of Algorithm 1: alpha on a validation batch, then w on a training batch.

    `arch_step=False` skips the alpha update (the weight warm-up). `alpha_penalty()`, a function
    of the alphas alone (a remedy's, e.g. beta-DARTS), adds its gradient to the hypergradient.
    `mixing(weights)` changes the softmax mixing weights the w step trains under (a remedy's, e.g.
    SDARTS's random smoothing); the alpha step always uses softmax(alpha).

    xi, the virtual step size of eq. 6, is w's current learning rate (as in the paper).
    Returns the training loss and accuracy of the w step. In a data-parallel
    search the batches are this process's shards and `average` is
    `distributed.all_average`: every gradient is averaged before clipping and
    the optimiser steps, and so are the loss, accuracy and BatchNorm running statistics.
    """
    if arch_step:
        xi = w_opt.param_groups[0]["lr"]
        alpha_opt.zero_grad(set_to_none=True)
        grads = hypergradient(model, train_batch, val_batch, order, xi, radius, criterion, average)
        penalty = None if alpha_penalty is None else alpha_penalty()
        if penalty is not None:  # a function of alpha alone, the same on every process: no averaging
            extra = torch.autograd.grad(penalty, model.arch_parameters(), allow_unused=True)
            grads = [g if e is None else g + e for g, e in zip(grads, extra)]
        for a, g in zip(model.arch_parameters(), grads):
            a.grad = g
        alpha_opt.step()

    X, y = train_batch
    with torch.no_grad():  # a remedy's mixing of the w step (e.g. SDARTS-RS), else softmax(alpha) in forward
        weights = None if mixing is None else mixing(model.mixing_weights()[0])
    logits = model(X) if weights is None else model(X, weights)
    loss = criterion(logits, y)
    weights = model.weight_parameters()
    # Only w's gradient is wanted here: alpha.grad stays untouched. A single-path step leaves the
    # operations it did not sample without a gradient (None), so the optimiser skips them.
    grads = torch.autograd.grad(loss, weights, allow_unused=True)
    acc = (logits.argmax(1) == y).float().mean() if y.dtype == torch.long else torch.tensor(float("nan"))
    if average is not None:
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(weights, grads)]
        grads, loss, acc = _average_w_step(model, grads, loss, acc, average)
    for p, g in zip(weights, grads):
        p.grad = g
    if grad_clip > 0:
        nn.utils.clip_grad_norm_(weights, grad_clip)
    w_opt.step()
    return {"loss": loss.item(), "acc": acc.item()}


def _average_w_step(model: nn.Module, grads, loss: torch.Tensor, acc: torch.Tensor, average: Average):
    """One collective for the w step: grad_w, the loss, the accuracy and the BatchNorm running statistics."""
    stats = [b for b in model.buffers() if b.is_floating_point()]
    out = average([*grads, loss.detach(), acc.to(loss), *stats])
    n = len(grads)
    with torch.no_grad():
        for b, mean in zip(stats, out[n + 2:]):
            b.copy_(mean)
    return out[:n], out[n], out[n + 1]


def collapse_diagnostics(model: SearchNetwork) -> dict[str, float]:
    """Signs of DARTS collapse: skip connections in the derived normal cell, mean alpha entropy."""
    genotype = model.genotype()
    out = {"skip_normal": sum(op == "skip_connect" for op, _ in genotype.normal)}
    for kind, w in model.arch_weights().items():
        out[f"entropy_{kind}"] = float(-(w * w.clamp_min(1e-12).log()).sum(-1).mean())
    return out


def search(config: SearchConfig, data: DataSplits | None = None, run_dir: str | Path | None = None,
           resume: bool = False, progress: bool = True,
           callback: Callable[[dict], None] | None = None, judge_null: bool = True) -> SearchResult:
    """Run a DARTS search as configured; checkpoints go to `run_dir` (default runs/<name>).

    `callback(info)` is called after every step with the epoch, step, metrics,
    the model and a `stop()` function that ends the run as Ctrl-C would
    (checkpoint, then KeyboardInterrupt). `resume=True` continues from the checkpoint, if any.
    The remedies the configuration turns on (`remedies`) act through their hooks; every epoch's row records the supernet's health (`health`) and the search
    warns at the end when the supernet collapsed. The final decision is read against the measured
    null of the configuration (`null.judge`; `judge_null=False` leaves the fixed threshold, as the
    null's own searches do).

    Under torchrun (or in an initialised process group) the search is
    data-parallel: `config.batch_size` is the global batch, split evenly over
    the processes; only rank 0 writes `run_dir` and shows progress; every
    process returns the same result.
    """
    device = distributed.init(get_device(config.device))
    parallel, main = distributed.world_size() > 1, distributed.is_main()
    if parallel:
        distributed.local_batch_size(config.batch_size)  # a clear error before any work
        distributed.barrier()  # rank 0's files (a checkpoint to resume from) are complete before anyone looks
    run = start_run(config, "search", data, run_dir, device)
    data = run.data
    model = use_channels_last(build_supernet(config, data).to(device), device)
    train, val = data.search_train.to(device), data.search_val.to(device)
    steps = min(num_batches(len(train), config.batch_size, True), num_batches(len(val), config.batch_size, True))
    if steps == 0:
        raise ConfigError(f"batch_size {config.batch_size} is larger than the search splits "
                          f"({len(train)} train / {len(val)} val images); lower it")
    w_opt, alpha_opt, schedule = make_optimizers(model, config, steps)
    modules = {"model": model, "w_opt": w_opt, "alpha_opt": alpha_opt, "schedule": schedule}
    fresh = {"epoch": 0, "step": 0, "history": [], "sums": zero_sums(),
             "trajectory": {"epoch": [0.0], **{k: [w.cpu()] for k, w in model.arch_weights().items()}}}
    state = resume_or_start(run, config, modules, fresh, resume, write=main, verbose=main)
    average = distributed.all_average if parallel else None
    if parallel:  # as DDP does: every process starts from rank 0's state
        distributed.broadcast_(list(model.state_dict().values()))

    def batches(epoch: int, start: int):
        # The warm-up trains every candidate in the softmax mixture; sampling starts with the alpha steps.
        model.set_sampling("softmax" if epoch < config.warmup_epochs else config.sampling, config.tau(epoch))
        # Every process draws the same global batches (same seeds) and keeps its shard of each.
        pairs = zip(*(iterate_batches(split, config.batch_size, epoch_generator(config.seed, epoch, stream),
                                      drop_last=True, start=start)
                      for stream, split in enumerate((train, val))))
        return pairs if not parallel else ((distributed.shard(t), distributed.shard(v)) for t, v in pairs)

    remedies = remedies_for(config)

    def step(batch):
        progress = (state["epoch"] + state["step"] / steps) / config.epochs
        for remedy in remedies:
            remedy.before_step(model, progress)
        return search_step(model, w_opt, alpha_opt, *batch, config.order, config.radius, config.grad_clip,
                           average=average, arch_step=state["epoch"] >= config.warmup_epochs,
                           alpha_penalty=lambda: alpha_penalty(model, remedies, progress),
                           mixing=weight_step_mixing(remedies, progress))

    snap_every = max(1, steps // SNAPSHOTS_PER_EPOCH)

    def after_step(state):
        if state["step"] % snap_every == 0 and state["step"] < steps:
            _snapshot(state["trajectory"], model, state["epoch"] + state["step"] / steps)

    def end_epoch(state):
        genotype = derive(model, remedies)
        row = {"epoch": state["epoch"] + 1, "lr": schedule.get_last_lr()[0], **epoch_means(state["sums"]),
               **{f"val_{k}": v for k, v in evaluate(model, val, config.batch_size).items()},
               "val_acc_derived": evaluate_discretized(model, genotype, val, config.batch_size)["acc"],
               **collapse_diagnostics(model), **flat(decision.decision(model.arch_weights(), model.primitives)),
               "tau": config.tau(state["epoch"]), "arch_lr": alpha_opt.param_groups[0]["lr"],
               "genotype": genotype.to_dict()}
        state["history"].append(row)
        row["healthy"] = supernet_health(state["history"], remedies)["healthy"]
        _snapshot(state["trajectory"], model, float(state["epoch"] + 1))
        schedule.step()
        return any(remedy.stop(row) for remedy in remedies)  # e.g. DARTS+: too many skips

    run_epochs(state, epochs=config.epochs, steps=steps, batches=batches, step=step, end_epoch=end_epoch,
               save=lambda s: checkpoint_dict(s, config, modules), path=run.checkpoint,
               desc=f"search {config.name}", progress=progress and main, after_step=after_step,
               write=main, agree=distributed.any_process if parallel else None,
               callback=None if callback is None else lambda info: callback({**info, "model": model}))
    for remedy in remedies:  # the supernet as the search leaves it (DARTS-: the auxiliary skip gone)
        remedy.before_step(model, 1.0)
    final = decision.decision(model.arch_weights(), model.primitives)
    if judge_null:
        final = null.judge(final, config)
    health = supernet_health(state["history"], remedies)
    if main:
        warn_if_undecided(final, f"search {config.name}", _undecided_remedy(config))
        warn_if_unhealthy(health, f"search {config.name}")
    return SearchResult(genotype=derive(model, remedies), decision=final, health=health,
                        alphas={k: a.detach().cpu().clone() for k, a in model.alphas.items()},
                        history=state["history"], trajectory=_stack(state["trajectory"]), model=model,
                        config=config, run_dir=run.dir)


def _undecided_remedy(config: SearchConfig) -> str:
    """What an undecided search of `config` should try (or how to read it, as an active remedy advises)."""
    fallback = decision.DARTS_REMEDY if config.sampling == "softmax" else decision.SAMPLED_REMEDY
    return undecided_advice(remedies_for(config)) or fallback


def _snapshot(trajectory: dict, model: SearchNetwork, at: float) -> None:
    trajectory["epoch"].append(at)
    for kind, w in model.arch_weights().items():
        trajectory[kind].append(w.cpu())


def _stack(trajectory: dict) -> dict[str, torch.Tensor]:
    return {"epoch": torch.tensor(trajectory["epoch"]),
            **{k: torch.stack(v) for k, v in trajectory.items() if k != "epoch"}}
