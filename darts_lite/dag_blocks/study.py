"""Studies over many DAG blocks: train a sample of them, correlate their properties with accuracy.

`random_dag_study` draws `count` distinct valid DAGs from the untrained sampler (each allowed
edge with probability `p`, conditioned on validity: a product model, not a uniform draw over
DAGs) and trains each one as a standalone network with one budget and one seed (`train_dag`).
`property_correlations` then gives Spearman's rho, with a bootstrap interval, between each
DAG property (depth, number of edges, longest skip) and test accuracy.
"""
from __future__ import annotations

import torch
from tqdm.auto import tqdm

from ..core.checkpoint import epoch_generator
from ..core.stats import spearman
from ..data import DataSplits
from .sampling import DAGSampler
from .search import train_dag

PROPERTIES = ("depth", "edges", "longest_skip")


def random_dag_study(n: int, count: int, data: DataSplits, seed: int = 0, max_skip: int | None = None,
                     p: float = 0.5, progress: bool = True, **train_kwargs) -> list[dict]:
    """Train `count` sampled DAGs of `n` layers on `data`; one row of `train_dag` output per DAG."""
    dags = DAGSampler(n, max_skip, p_init=p).sample(count, epoch_generator(seed, 0, 6))
    return [train_dag(dag, data, seed=seed, **train_kwargs)
            for dag in tqdm(dags, desc=f"train {count} DAGs on {data.name}", disable=not progress)]


def property_correlations(rows: list[dict], target: str = "test_acc", properties=PROPERTIES,
                          seed: int = 0) -> dict[str, dict[str, float]]:
    """{property: spearman(property, target)} over the rows of a study."""
    return {prop: spearman([r[prop] for r in rows], [r[target] for r in rows], seed=seed) for prop in properties}


def majority_accuracy(data: DataSplits) -> float:
    """Test accuracy of always answering the most frequent search_train class: the floor to beat."""
    majority = torch.bincount(data.search_train.y).argmax()
    return float((data.test.y == majority).float().mean())
