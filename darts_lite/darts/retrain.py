"""Retraining a derived network from scratch (Liu et al., 2019, Sec. 3.2).

The genotype's `network.Network`, sized by a `TrainConfig` (more cells and channels than the
supernet had), trained by `core.training.train_model`, the one training loop of the library.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..core.runtime import set_seed
from ..core.training import TrainConfig, TrainResult, train_model
from ..data import DataSplits
from .genotypes import Genotype
from .network import Network


def build_network(genotype: Genotype, config: TrainConfig, data: DataSplits) -> Network:
    """The network of `genotype` at the size of `config`, for the input of `data`."""
    return Network(genotype, C=config.channels, num_classes=data.num_classes, layers=config.layers,
                   in_channels=data.in_channels, auxiliary=config.auxiliary_weight > 0,
                   drop_path_prob=config.drop_path_prob)


def train_network(genotype: Genotype, config: TrainConfig, data: DataSplits,
                  run_dir: str | Path = "runs/train", resume: bool = False, progress: bool = True,
                  callback: Callable[[dict], None] | None = None) -> TrainResult:
    """Train the derived network from scratch on search_train + search_val, test on `data.test`."""
    set_seed(config.seed)
    model = build_network(genotype, config, data)
    return train_model(model, config, data, run_dir, resume, progress, callback)

