"""Training and evaluating any classifier: the budget every network of a comparison gets.

`train_model` trains a network from scratch on the search splits together (DARTS retrains on the
full training set, Sec. 3.2 of Liu et al., 2019) with SGD, a cosine schedule, gradient clipping,
optional drop-path and auxiliary loss (read from the model, as the derived DARTS network has them),
a checkpoint every epoch and `resume=True`; `TrainConfig` holds its settings. `evaluate` measures
loss and accuracy; `fit_model` trains any small classifier under a fixed Adam budget, for quick
comparisons; `recalibrate_bn` recomputes BatchNorm statistics.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import DataSplits, Split, iterate_batches, num_batches
from .channels_last import use_channels_last
from .checkpoint import epoch_generator
from .config import Config, ConfigError, check_ranges
from .cost import count_parameters
from .loop import checkpoint_dict, epoch_means, run_epochs, zero_sums
from .runs import Run, resume_or_start
from .runtime import get_device


@dataclass
class TrainConfig(Config):
    """Retraining a derived network from scratch (Sec. 3.2 of the paper)."""

    layers: int = 8                  # cells of the retrained network (paper: 20)
    channels: int = 16               # channels of its first cells, doubled at each reduction (paper: 36)
    epochs: int = 10                 # training epochs on search_train + search_val (paper: 600)
    batch_size: int = 64             # images per step (paper: 96)
    lr: float = 0.025                # SGD learning rate, cosine-annealed to lr_min (paper: 0.025)
    lr_min: float = 0.0              # the learning rate at the last epoch (paper: 0)
    momentum: float = 0.9            # SGD momentum (paper: 0.9)
    weight_decay: float = 3e-4       # L2 penalty on the weights (paper: 3e-4)
    drop_path_prob: float = 0.0      # chance of dropping a cell's path, ramped up over the epochs (paper: 0.2)
    auxiliary_weight: float = 0.0    # weight of the auxiliary head's loss (paper: 0.4); 0 disables the head
    grad_clip: float = 5.0           # largest gradient norm; 0 disables clipping (paper: 5)
    seed: int = 0                    # seeds the weights, the alphas, the data split and the batch order
    device: str = "auto"             # auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps

    def __post_init__(self):
        check_ranges(self, {"layers": (3, None), "channels": (1, None), "epochs": (1, None),
                            "batch_size": (1, None), "lr": (0, None), "lr_min": (0, self.lr),
                            "momentum": (0, 1), "weight_decay": (0, None), "drop_path_prob": (0, 0.99),
                            "auxiliary_weight": (0, None), "grad_clip": (0, None), "seed": (0, None)})


@dataclass
class TrainResult:
    """A retrained network, its per-epoch history and its test metrics."""

    model: nn.Module
    history: list[dict]
    test: dict[str, float]
    run_dir: Path


def training_images(data: DataSplits) -> Split:
    """search_train + search_val: what a network is trained on once its architecture is fixed."""
    return Split(torch.cat([data.search_train.X, data.search_val.X]),
                 torch.cat([data.search_train.y, data.search_val.y]))


@torch.inference_mode()
def evaluate(model: nn.Module, split: Split, batch_size: int = 256) -> dict[str, float]:
    """Mean cross-entropy loss and accuracy of `model` (in eval mode) on a split."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total_loss, correct = 0.0, 0
    for X, y in iterate_batches(split, batch_size, shuffle=False):
        X, y = X.to(device), y.to(device)
        logits = model(X)
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    model.train(was_training)
    n = max(len(split), 1)
    return {"loss": total_loss / n, "acc": correct / n}


def train_model(model: nn.Module, config: TrainConfig, data: DataSplits, run_dir: str | Path = "runs/train",
                resume: bool = False, progress: bool = True,
                callback: Callable[[dict], None] | None = None) -> TrainResult:
    """Train `model` on search_train + search_val as configured; test on `data.test`. Resumable.

    The derived DARTS network (`darts.retrain.train_network`), the hand-made baselines and every
    other network of a comparison go through here, so that all of them get the same budget.
    """
    run = Run(Path(run_dir), "train", get_device(config.device), data)
    device = run.device
    model = use_channels_last(model.to(device), device)
    opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                          weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, config.epochs, eta_min=config.lr_min)
    modules = {"model": model, "opt": opt, "schedule": schedule}
    train = training_images(data).to(device)
    steps = num_batches(len(train), config.batch_size, True)
    if steps == 0:
        raise ConfigError(f"batch_size {config.batch_size} is larger than the training set "
                          f"({len(train)} images); lower it")
    state = resume_or_start(run, config, modules, {"epoch": 0, "step": 0, "history": [], "sums": zero_sums()},
                            resume)

    def batches(epoch: int, start: int):
        # The paper ramps drop-path linearly over the epochs.
        model.drop_path_prob = config.drop_path_prob * epoch / config.epochs
        return iterate_batches(train, config.batch_size, epoch_generator(config.seed, epoch, 2),
                               drop_last=True, start=start)

    def step(batch):
        X, y = batch
        model.train()
        out = model(X)
        logits, aux = out if isinstance(out, tuple) else (out, None)
        loss = F.cross_entropy(logits, y)
        if aux is not None:
            loss = loss + config.auxiliary_weight * F.cross_entropy(aux, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        opt.step()
        return {"loss": loss.item(), "acc": (logits.argmax(1) == y).float().mean().item()}

    def end_epoch(state):
        row = {"epoch": state["epoch"] + 1, "lr": schedule.get_last_lr()[0], **epoch_means(state["sums"]),
               **{f"test_{k}": v for k, v in evaluate(model, data.test, config.batch_size).items()}}
        state["history"].append(row)
        schedule.step()

    run_epochs(state, epochs=config.epochs, steps=steps, batches=batches, step=step, end_epoch=end_epoch,
               save=lambda s: checkpoint_dict(s, config, modules), path=run.checkpoint, desc="train",
               progress=progress, callback=callback)
    return TrainResult(model=model, history=state["history"],
                       test=evaluate(model, data.test, config.batch_size), run_dir=run.dir)


@torch.no_grad()
def recalibrate_bn(net: nn.Module, split: Split, batch_size: int = 256) -> nn.Module:
    """Recompute every BatchNorm's running statistics of `net` on `split` (no gradient step).

    The statistics are the exact averages over `split` (momentum None while it runs); each
    BatchNorm's momentum and the model's train/eval mode are restored afterwards.
    """
    bns = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the batches
    was_training = net.training
    net.train()
    device = next(net.parameters()).device
    try:
        for X, _ in iterate_batches(split, batch_size, shuffle=False, drop_last=len(split) > batch_size):
            net(X.to(device))
    finally:  # the model leaves as it came, but for its statistics
        for bn, momentum in zip(bns, momenta):
            bn.momentum = momentum
        net.train(was_training)
    return net


def fit_model(model: nn.Module, data: DataSplits, epochs: int = 10, lr: float = 1e-3, batch_size: int = 64,
              seed: int = 0, device: str = "auto", recalibrate: bool = True) -> dict:
    """Train any classifier from its current weights with Adam on search_train + search_val; test it.

    The data order is a pure function of (seed, epoch), so two models given the same arguments see
    the same batches: the fixed budget under which notebooks compare networks. With `recalibrate`
    the BatchNorm statistics are recomputed on the training data before the test, so that a
    network with a slow BatchNorm momentum (torchvision's MobileNetV3 uses 0.01) is not judged by
    statistics that a short budget left unconverged. No checkpoints: meant for the small networks
    of a comparison (seconds to minutes each). Returns {"test_acc", "test_loss", "params", "seconds"}.
    """
    dev = get_device(device)
    model = use_channels_last(model.to(dev), dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    train = training_images(data).to(dev)
    model.train()
    t0 = time.perf_counter()
    for epoch in range(epochs):
        # drop the last partial batch: a batch of one breaks BatchNorm on 1x1 maps (MobileNet, ResNet)
        for X, y in iterate_batches(train, batch_size, epoch_generator(seed, epoch, 5),
                                    drop_last=len(train) > batch_size):
            loss = F.cross_entropy(model(X), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    if recalibrate:
        recalibrate_bn(model, train)
    seconds = time.perf_counter() - t0
    test = evaluate(model, data.test.to(dev))
    return {"test_acc": test["acc"], "test_loss": test["loss"], "params": count_parameters(model), "seconds": seconds}
