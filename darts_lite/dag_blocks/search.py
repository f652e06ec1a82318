"""The search over DAG-wired dense blocks: alternating phases, DAG sampling with feedback.

One round of `search_dags` (one "epoch" of the shared loop, so it has progress bars,
a checkpoint after every round, resume and Ctrl-C handling):

1. weight phase: `weight_steps` Adam steps on the shared weights, the blocks mixed by
   softmax(alpha), on search_train;
2. architecture phase: `arch_steps` Adam steps on the alphas alone, on search_val
   (`arch_split="val"`) or on the same search_train data (`arch_split="train"`);
3. evaluation: every block's accuracy on search_val with the shared weights (one-shot);
4. sampling (`sampling="random"` or `"feedback"`): the `elite` blocks with the highest alpha
   stay; the others are replaced by fresh draws from the `DAGSampler`, which with "feedback"
   first moves toward the blocks the alphas favour (`dag_sampling` PBIL rule). The shared
   weights carry over: a new block reuses the trained weights of the edges it has.

`train_dag` trains one block from scratch as a standalone `DAGNetwork`, the yardstick for
comparing blocks (and the plain dense network, `DAG.chain`) under one training budget.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

from ..core.checkpoint import epoch_generator
from ..core.config import ConfigError
from ..core.decision import choice_decision, measures, warn_if_undecided
from ..core.loop import checkpoint_dict, run_epochs, zero_sums
from ..core.runs import resume_or_start, start_run
from ..core.runtime import set_seed
from ..core.training import evaluate, fit_model
from ..data import DataSplits, Split
from .config import DAGSearchConfig
from .dag import DAG
from .dense_blocks import DAGNetwork, DAGSupernet
from .sampling import DAGSampler, feedback_weights


@dataclass
class DAGSearchResult:
    """What `search_dags` returns: the best block, the final blocks and the search's record."""

    best: DAG
    dags: list[DAG]
    alphas: list[float]
    history: list[dict]
    decision: dict                # `decision.choice_decision` of softmax(alphas) over the k blocks
    edge_probs: torch.Tensor      # (n, n) sampler probabilities at the end
    model: DAGSupernet
    config: DAGSearchConfig
    run_dir: Path


def in_features(data: DataSplits) -> int:
    """Inputs of a dense network on this data: channels x height x width."""
    return data.in_channels * data.image_size ** 2


def make_sampler(config: DAGSearchConfig) -> DAGSampler:
    return DAGSampler(config.layers, config.max_skip or None, p_init=config.p_init)


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return (logits.argmax(1) == y).float().mean().item()


@torch.no_grad()
def block_accuracies(model: DAGSupernet, split: Split, batch_size: int = 512) -> list[float]:
    """Each block's accuracy on `split` with the shared weights (its one-shot estimate)."""
    model.eval()
    correct = torch.zeros(model.k)
    for start in range(0, len(split), batch_size):
        X, y = split.X[start:start + batch_size], split.y[start:start + batch_size]
        h = model.block_outputs(X)                                     # (k, N, width)
        correct += (model.head(h).argmax(-1) == y).sum(1).cpu()
    model.train()
    return (correct / max(len(split), 1)).tolist()


def search_dags(config: DAGSearchConfig, data: DataSplits | None = None, run_dir: str | Path | None = None,
                resume: bool = False, progress: bool = True,
                callback: Callable[[dict], None] | None = None,
                input_masks: list[torch.Tensor | None] | None = None,
                dags: list[DAG] | None = None) -> DAGSearchResult:
    """Search k DAG blocks by alternating weight and architecture phases (see the module docstring).

    `dags` sets the first round's k blocks (default: a draw from the sampler); with
    `sampling="fixed"` they stay for the whole search.
    `input_masks` (one per block, or None) fix each block's mask on the shared input layer, e.g.
    `dense_blocks.local_mask` for a convolution-like first layer; they stay with the block slot.
    """
    run = start_run(config, "dag", data, run_dir)
    data, device = run.data, run.device
    train, val = data.search_train.to(device), data.search_val.to(device)
    arch_data = val if config.arch_split == "val" else train
    for name, size, split in (("weight_batch", config.weight_batch, train),
                              ("arch_batch", config.arch_batch, arch_data)):
        if size > len(split):
            raise ConfigError(f"DAGSearchConfig.{name}={size} exceeds the {len(split)} samples it draws from; lower it")
    sampler = make_sampler(config)
    if dags is None:
        dags = sampler.sample(config.blocks, epoch_generator(config.seed, 0, 3))
    elif len(dags) != config.blocks or not all(d.n == config.layers for d in dags):
        raise ConfigError(f"dags must be {config.blocks} DAGs of {config.layers} layers (blocks, layers of the "
                          f"config), got {len(dags)} of {sorted({d.n for d in dags})} layers")
    model = DAGSupernet(in_features(data), config.width, data.num_classes, dags, config.aggregation,
                        input_masks).to(device)
    w_opt = torch.optim.Adam(model.weight_parameters(), lr=config.weight_lr)
    a_opt = torch.optim.Adam(model.arch_parameters(), lr=config.arch_lr)
    modules = {"model": model, "w_opt": w_opt, "a_opt": a_opt, "sampler": sampler}
    state = resume_or_start(run, config, modules, {"epoch": 0, "step": 0, "history": [], "sums": zero_sums()},
                            resume)
    steps = config.weight_steps + config.arch_steps

    def batches(epoch: int, start: int):
        # Batch indices of a round are a pure function of (seed, round): resume is exact.
        g = epoch_generator(config.seed, epoch, 4)
        w_idx = torch.randint(len(train), (config.weight_steps, config.weight_batch), generator=g)
        a_idx = torch.randint(len(arch_data), (config.arch_steps, config.arch_batch), generator=g)
        plan = [("w", train, i) for i in w_idx] + [("a", arch_data, i) for i in a_idx]
        for phase, split, idx in plan[start:]:
            idx = idx.to(device)
            yield phase, split.X[idx], split.y[idx]

    def step(batch):
        phase, X, y = batch
        opt = w_opt if phase == "w" else a_opt
        logits = model(X)
        loss = F.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        model.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "acc": _accuracy(logits, y)}

    def end_epoch(state):
        current = model.dags()
        alphas = model.alphas.detach().cpu()
        row = {"round": state["epoch"] + 1, "alphas": alphas.tolist(), "dags": [d.edges for d in current],
               "stats": [d.stats() for d in current], "block_val_acc": block_accuracies(model, val),
               "val_acc": evaluate(model, val)["acc"], "train_loss": state["sums"]["loss"] / max(state["sums"]["n"], 1),
               "seconds": state["sums"]["seconds"],
               **measures(choice_decision(torch.softmax(alphas, 0)))}
        state["history"].append(row)
        if config.sampling == "fixed" or state["epoch"] + 1 == config.rounds:
            return
        if config.sampling == "feedback":
            sampler.update(current, feedback_weights(alphas, config.temperature), config.feedback_lr)
        keep = alphas.argsort(descending=True)[:config.elite].tolist()
        fresh = iter(sampler.sample(config.blocks - len(keep), epoch_generator(config.seed, state["epoch"] + 1, 3)))
        new = [current[b] if b in keep else next(fresh) for b in range(config.blocks)]
        with torch.no_grad():
            for b in range(config.blocks):
                if b not in keep:
                    model.alphas[b] = 0.0
        model.set_dags(new)
        a_opt.state.clear()  # Adam moments belonged to the replaced blocks

    run_epochs(state, epochs=config.rounds, steps=steps, batches=batches, step=step, end_epoch=end_epoch,
               save=lambda s: checkpoint_dict(s, config, modules), path=run.checkpoint, desc="dag search",
               progress=progress, callback=callback)
    final = model.dags()
    alphas = model.alphas.detach().cpu().tolist()
    best = final[max(range(len(alphas)), key=alphas.__getitem__)]
    chosen = choice_decision(torch.softmax(torch.tensor(alphas), 0))
    warn_if_undecided({"blocks": chosen, "decided": chosen["decided"]}, "the DAG search",
                      "Give the alphas more rounds or arch_steps, or a larger arch_lr.")
    return DAGSearchResult(best=best, dags=final, alphas=alphas, history=state["history"], decision=chosen,
                           edge_probs=sampler.edge_matrix(), model=model, config=config, run_dir=run.dir)


def train_dag(dag: DAG, data: DataSplits, width: int = 64, epochs: int = 10, lr: float = 1e-3,
              batch_size: int = 64, seed: int = 0, aggregation: str = "sum",
              input_mask: torch.Tensor | None = None, device: str = "auto") -> dict:
    """Train `dag` as a standalone `DAGNetwork` from scratch on search_train + search_val; test it.

    Returns {"test_acc", "params", "seconds", "dag", **dag.stats()}. Same seed, same data order,
    same budget for every DAG, so accuracies are comparable across blocks.
    """
    set_seed(seed)
    model = DAGNetwork(in_features(data), width, data.num_classes, dag, aggregation, input_mask)
    return {**fit_model(model, data, epochs, lr, batch_size, seed, device), "dag": dag, **dag.stats()}
