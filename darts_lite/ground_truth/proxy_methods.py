"""Every zero-cost proxy (`darts_lite.proxies`) as a search method of the ground truth, through one adapter.

`proxy_method(name)` builds each cell of the table untrained (`build.build_networks`, each from its
own seed), scores it with the proxy on one search_train batch drawn by the seed, and picks the
best score; its `scores` are all cells', so `scoring.score_method` gives the ranking's Kendall tau.
Each registered proxy is a method of the same name (`naswot`, `params` among them: the parameter
count, as before, picks the cell with the most parameters, ties drawn by the seed).

`proxy_top_k(name)` spends a proxy inside a budget: it scores every cell, then trains the best-scored
cells with random search's short recipe (`methods.random_search`: 1 epoch on search_train, ranked on
search_val), best first, until the budget is spent (as Abdelfattah et al., ICLR 2021, Sec. 5 warm up
and move searches).
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch

from ..data import DataSplits, iterate_batches
from ..proxies import PROXIES
from .build import build_networks
from .methods import bench_of, train_in_order
from .scoring import SearchOutcome, register_method
from .table import GroundTruth

BATCH_SIZE = 64  # images in the one batch a proxy sees (NASWOT's and the reference code's 64)


def proxy_batch(data: DataSplits, seed: int, batch_size: int = BATCH_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """The search_train batch the proxies of seed `seed` see: the first of an epoch shuffled by the seed."""
    return next(iterate_batches(data.search_train, batch_size, generator=torch.Generator().manual_seed(seed)))


def proxy_networks(table: GroundTruth, rows: Sequence[int] | None = None, seed: int = 0,
                   data: DataSplits | None = None, batch_size: int = BATCH_SIZE) -> tuple[list, torch.Tensor, ...]:
    """The untrained networks of the cells `rows` (None: all, in row order) and the seed's batch (X, y)."""
    bench, bench_data = bench_of(table)
    data = bench_data if data is None else data
    rows = range(len(table)) if rows is None else rows
    X, y = proxy_batch(data, seed, batch_size)
    return build_networks(bench, table.index[list(rows)].tolist(), seed, data), X, y


def proxy_scores(table: GroundTruth, name: str, seed: int, data: DataSplits | None = None,
                 batch_size: int = BATCH_SIZE, rows: Sequence[int] | None = None) -> list[float]:
    """The proxy `name`'s score of the cells `rows` of `table` (None: all, row order), untrained, from `seed`."""
    networks, X, y = proxy_networks(table, rows, seed, data, batch_size)
    return [PROXIES[name](net, X, y) for net in networks]


def ranked(scores: Sequence[float], seed: int) -> np.ndarray:
    """Rows from the best score to the worst; equal scores in an order drawn by the seed."""
    draw = np.random.default_rng(seed).random(len(scores))
    return np.lexsort((draw, np.asarray(scores, dtype=float)))[::-1]


def proxy_method(name: str, batch_size: int = BATCH_SIZE):
    """A method that picks the cell the proxy `name` scores highest, with every cell's score for tau."""
    if name not in PROXIES:
        raise KeyError(f"no zero-cost proxy {name!r}; registered: {', '.join(PROXIES)}")

    def run(table: GroundTruth, seed: int, budget_seconds: float, data: DataSplits | None = None) -> SearchOutcome:
        start = time.perf_counter()
        scores = proxy_scores(table, name, seed, data, batch_size)
        return SearchOutcome(pick=table.cells[int(ranked(scores, seed)[0])], seconds=time.perf_counter() - start,
                             scores=scores, details={"proxy": name, "batch_size": batch_size})
    run.proxy = name
    return run


def proxy_top_k(name: str, epochs: int = 1, cells_per_step: int = 4, batch_size: int = BATCH_SIZE):
    """A method that scores every cell with the proxy `name`, then trains the best-scored ones until the budget ends.

    The training is random search's (`methods.random_search`): `epochs` on search_train, `cells_per_step`
    cells as one bank, ranked on search_val; the proxy's seconds count in the budget, and at least one
    group is trained.
    """
    def run(table: GroundTruth, seed: int, budget_seconds: float, data: DataSplits | None = None) -> SearchOutcome:
        data = bench_of(table)[1] if data is None else data
        start = time.perf_counter()
        scores = proxy_scores(table, name, seed, data, batch_size)
        proxy_seconds = time.perf_counter() - start
        scored = train_in_order(table, ranked(scores, seed), seed, data, start, budget_seconds, epochs, cells_per_step)
        best = max(scored, key=scored.get)
        return SearchOutcome(pick=table.cells[best], seconds=time.perf_counter() - start, scores=scores,
                             details={"proxy": name, "proxy_seconds": proxy_seconds, "candidates": len(scored),
                                      "epochs_each": epochs})
    run.proxy = name
    return run


def after_training(table: GroundTruth, name: str, rows: Sequence[int], seed: int, epochs: int = 1,
                   data: DataSplits | None = None, batch_size: int = BATCH_SIZE) -> tuple[list[float], list[float]]:
    """The proxy `name`'s scores of the cells `rows` at initialisation and after `epochs` of the table's recipe.

    Each network trains alone on search_train (SGD as the table's recipe, at its initial rate), and both
    scores use the seed's batch: where a proxy's ranking changes, the change is the training's.
    """
    bench, bench_data = bench_of(table)
    data = bench_data if data is None else data
    networks, X, y = proxy_networks(table, rows, seed, data, batch_size)
    proxy, before, after = PROXIES[name], [], []
    for net in networks:
        before.append(proxy(net, X, y))
        opt = torch.optim.SGD(net.parameters(), lr=bench.lr, momentum=bench.momentum, weight_decay=bench.weight_decay)
        order = torch.Generator().manual_seed(seed)
        net.train()
        for _ in range(epochs):
            for Xb, yb in iterate_batches(data.search_train, bench.batch_size, generator=order):
                opt.zero_grad(set_to_none=True)
                torch.nn.functional.cross_entropy(net(Xb), yb).backward()
                if bench.grad_clip:
                    torch.nn.utils.clip_grad_norm_(net.parameters(), bench.grad_clip)
                opt.step()
        after.append(proxy(net, X, y))
    return before, after


#: The proxies whose top cells `proxy_top_k` trains, as the methods `<name>_top_k`.
TOP_K = ("naswot", "synflow", "params")

for proxy_name in PROXIES:
    register_method(proxy_name, proxy_method(proxy_name), f"zero-cost proxy, no training: {PROXIES[proxy_name].paper}")
for proxy_name in TOP_K:
    register_method(f"{proxy_name}_top_k", proxy_top_k(proxy_name),
                    f"the cells {proxy_name} scores best, trained 1 epoch until the budget ends, best on search_val")
