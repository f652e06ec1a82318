"""The kernel-size search: meta-kernels, feedback blocks, L = CE + beta * LAT(alpha) and budgets.

The course's own design, with the expected-latency loss of ProxylessNAS (Cai, Zhu and Han, 2019,
ICLR): random alpha init; until done, for every copy of the supernet (the feedback blocks,
`replicas`): an architecture step on a search_val batch with

    L(alpha) = CE_val + beta * LAT(alpha) + lambda * sum_r relu(E[r](alpha) / budget_r - 1),

LAT and E[r] the expected latency / MACs / parameters from the `cost_table.CostTable`; a weight step
on a search_train batch; then every `feedback_period` steps the copies' meta-kernels are blended by
the feedback rule (`feedback.FeedbackGroup`). At the end the architecture is read from the alphas
of the copy with the best search-val accuracy and traded down until it meets every budget
(`cost_table.derive_within_budget`). The shared epoch loop gives progress bars, a checkpoint per epoch,
resume and Ctrl-C handling; `curve` records search-val accuracy every `eval_every` steps.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.checkpoint import epoch_generator
from ..core.config import ConfigError
from ..core.decision import choice_decision, measures, warn_if_undecided
from ..core.loop import checkpoint_dict, run_epochs, zero_sums
from ..core.runs import resume_or_start, start_run
from ..core.training import evaluate
from ..data import DataSplits, Split, iterate_batches, num_batches
from .config import KernelSearchConfig
from .cost_table import CostTable, budget_penalty, derive_within_budget
from .feedback import FeedbackGroup
from .kernel_net import KernelNet, KernelSearchNet


@dataclass
class KernelSearchResult:
    kernels: tuple[int, ...]          # derived kernel size per layer (within every budget)
    alphas: torch.Tensor              # (layers, kernel sizes) of the chosen copy
    history: list[dict]
    decision: dict                    # `decision.choice_decision` of softmax(alphas): one size per layer chosen?
    curve: list[tuple[int, float]]    # (step, search-val accuracy of the best copy)
    model: KernelSearchNet
    config: KernelSearchConfig
    run_dir: Path


def build_supernet(config: KernelSearchConfig, data: DataSplits) -> KernelSearchNet:
    return KernelSearchNet(data.in_channels, data.num_classes, config.widths, config.strides, config.kernel_sizes,
                           config.stem_channels, config.stem_kernel, config.merged, config.alpha_init_std,
                           config.depthwise)


def build_kernel_net(config: KernelSearchConfig, data: DataSplits, kernels) -> KernelNet:
    """The discrete network of the search space of `config` with the given kernel size per layer."""
    return KernelNet(data.in_channels, data.num_classes, kernels, config.widths, config.strides,
                     config.stem_channels, config.stem_kernel, config.depthwise)


def steps_to_reach(curve: list[tuple[int, float]], target: float) -> int | None:
    """The first step at which the learning curve reaches `target` accuracy (None: never)."""
    return next((step for step, acc in curve if acc >= target), None)


def search_kernels(config: KernelSearchConfig, data: DataSplits | None = None, table: CostTable | None = None,
                   run_dir: str | Path | None = None, resume: bool = False, progress: bool = True,
                   callback: Callable[[dict], None] | None = None) -> KernelSearchResult:
    """Run the search of the module docstring; `table` is needed for a latency weight or any budget."""
    needs_table = config.latency_weight > 0 or config.budgets()
    if needs_table and table is None:
        raise ConfigError("a latency weight or a budget needs a cost table: build one with "
                          "latency.build_cost_table(build_supernet(config, data), input_shape)")
    run = start_run(config, "kernel", data, run_dir)
    data, device = run.data, run.device
    train, val = data.search_train.to(device), data.search_val.to(device)
    steps = min(num_batches(len(train), config.batch_size, True), num_batches(len(val), config.batch_size, True))
    if steps == 0:
        raise ConfigError(f"batch_size {config.batch_size} exceeds the search splits "
                          f"({len(train)}, {len(val)} images); lower it")
    probe = Split(val.X[:config.eval_samples], val.y[:config.eval_samples])
    replicas = nn.ModuleList()
    for r in range(config.replicas):  # each copy its own random weights and alphas, from a seed of its own
        with torch.random.fork_rng(devices=[]):  # ... leaving the run's RNG stream as start_run seeded it
            torch.manual_seed(config.seed * 7919 + r)
            replicas.append(build_supernet(config, data).to(device))
    opts = [(torch.optim.Adam(m.weight_parameters(), lr=config.w_lr),
             torch.optim.Adam(m.arch_parameters(), lr=config.arch_lr)) for m in replicas]
    budgets = config.budgets()

    def step_fn(model, opt_pair, batch):
        w_opt, a_opt = opt_pair
        (Xt, yt), (Xv, yv) = batch
        loss_a = F.cross_entropy(model(Xv), yv)
        if table is not None:
            expected = table.expected(model.alphas)
            loss_a = loss_a + config.latency_weight * expected["latency_us"] \
                + config.budget_weight * budget_penalty(expected, budgets)
        a_opt.zero_grad(set_to_none=True)
        loss_a.backward()
        a_opt.step()
        logits = model(Xt)
        loss_w = F.cross_entropy(logits, yt)
        w_opt.zero_grad(set_to_none=True)
        model.alphas.grad = None
        loss_w.backward()
        w_opt.step()
        step_fn.acc = (logits.argmax(1) == yt).float().mean().item()
        return loss_w.item()

    group = FeedbackGroup(replicas, opts, step_fn, config.feedback_period, config.feedback)
    modules = {"replicas": replicas, **{f"w_opt{r}": o[0] for r, o in enumerate(opts)},
               **{f"a_opt{r}": o[1] for r, o in enumerate(opts)}}
    state = resume_or_start(run, config, modules, {"epoch": 0, "step": 0, "history": [], "curve": [],
                                                   "sums": zero_sums()}, resume)
    group.steps = state["epoch"] * steps + state["step"]

    def batches(epoch: int, start: int):
        streams = [zip(iterate_batches(train, config.batch_size, epoch_generator(config.seed + r, epoch, 7),
                                       drop_last=True, start=start),
                       iterate_batches(val, config.batch_size, epoch_generator(config.seed + r, epoch, 8),
                                       drop_last=True, start=start))
                   for r in range(config.replicas)]
        return zip(*streams)

    def step(batch):
        losses = group.step(batch)
        return {"loss": min(losses), "acc": step_fn.acc}

    def after_step(state):
        if group.steps % config.eval_every == 0:
            state["curve"].append((group.steps, max(evaluate(m, probe)["acc"] for m in replicas)))

    def end_epoch(state):
        accs = [evaluate(m, val)["acc"] for m in replicas]
        best = max(range(len(accs)), key=accs.__getitem__)
        row = {"epoch": state["epoch"] + 1, "val_acc": accs[best], "replica_val_acc": accs,
               "kernels": list(replicas[best].kernels()), "alphas": replicas[best].alphas.detach().cpu().tolist(),
               "train_loss": state["sums"]["loss"] / max(state["sums"]["n"], 1), "seconds": state["sums"]["seconds"],
               **measures(choice_decision(torch.softmax(replicas[best].alphas.detach(), -1)))}
        if table is not None:
            row["expected"] = {k: float(v) for k, v in table.expected(replicas[best].alphas.detach().cpu()).items()}
        state["history"].append(row)

    run_epochs(state, epochs=config.epochs, steps=steps, batches=batches, step=step, end_epoch=end_epoch,
               save=lambda s: checkpoint_dict(s, config, modules), path=run.checkpoint, desc="kernel search",
               progress=progress, after_step=after_step, callback=callback)
    accs = [evaluate(m, val)["acc"] for m in replicas]
    model = replicas[max(range(len(accs)), key=accs.__getitem__)]
    alphas = model.alphas.detach().cpu()
    kernels = derive_within_budget(alphas, table, budgets) if budgets else model.kernels()
    final = choice_decision(torch.softmax(alphas, -1))
    warn_if_undecided({"kernels": final, "decided": final["decided"]}, "the kernel search",
                      "Give the alphas more steps (epochs) or a larger arch_lr.")
    return KernelSearchResult(kernels=kernels, alphas=alphas, history=state["history"], decision=final,
                              curve=[tuple(c) for c in state["curve"]], model=model, config=config, run_dir=run.dir)
