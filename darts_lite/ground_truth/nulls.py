"""Measuring the null of `decided` (`darts.null`): a search configuration run on shuffled labels.

The rows it returns go to the committed null table (`darts.null.append_nulls`), where every search
of that configuration looks its null up (`darts.null.judge`).
"""
from __future__ import annotations

import tempfile
from typing import Sequence

from ..darts import SearchConfig, search
from ..darts.null import null_key, null_row, shuffled_labels
from ..data import DataSplits


def measure_null(config: SearchConfig, data: DataSplits, seeds: Sequence[int] = (0, 1, 2)) -> list[dict]:
    """Run `config` on shuffled labels for each seed: one row per seed (key, seed, kept weights, accuracies)."""
    rows = []
    for seed in seeds:
        cfg = config.replace(seed=seed)
        with tempfile.TemporaryDirectory() as run_dir:
            result = search(cfg, shuffled_labels(data, seed), run_dir=run_dir, progress=False, judge_null=False)
        last = result.history[-1]
        rows.append(null_row(null_key(cfg), seed, cfg.dataset, cfg.sampling, cfg.epochs, result.decision,
                             last["train_acc"], last["val_acc"]))
    return rows
