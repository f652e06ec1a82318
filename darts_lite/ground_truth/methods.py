"""The search methods scored on the ground truth, each registered once in `scoring.METHODS`.

Every method searches the table's own space (its cells, operations and macro-architecture, read
from the table's provenance) on the table's data, under a budget in seconds, and returns the cell
it picks (`SearchOutcome`):

- `darts_paper_o1`, `darts_paper_o2`: DARTS as published (softmax relaxation, Adam 3e-4 on alpha;
  first and second order hypergradient, Liu et al. 2019, eq. 7-8);
- `darts_decisive`: the course's decisive schedule (softmax warm-up, then Gumbel single path);
- `single_path`: Gumbel single-path sampling from the first step, no warm-up (GDAS, Dong & Yang 2019);
- `darts_travel`: DARTS's softmax relaxation with Adam's rate on alpha from the budget rule
  (`search.arch_lr`, travel 20, as the decisive schedule has), so that the alphas move in a CPU
  budget: the baseline the remedies (`darts.remedies`) are added to, one method each, as each
  remedy's `Study` declares (e.g. `p_darts`, `darts_minus`, `beta_darts`);
- `random_search`: random cells trained standalone on search_train for a short recipe and ranked on
  search_val, as many as the budget holds (Li & Talwalkar, 2019);
- the zero-cost proxies (`params`, `naswot`, ...) are registered by `proxy_methods`, one adapter for all.

Supernet searches fit the budget by their number of epochs: a probe times a few search steps,
and the epochs are those that fill the budget (the probe's seconds count in the cost). Their
ranking of all cells (for Kendall tau) is the sum over a cell's edges of log softmax(alpha) of its
operations, renormalised over the operations other than `none`.
"""
from __future__ import annotations

import tempfile
import time
from functools import lru_cache

import numpy as np
import torch

from ..darts import SearchConfig, search
from ..darts.genotypes import edge_index
from ..darts.null import null_key
from ..darts.remedies import REMEDIES
from ..core.channels_last import use_channels_last
from ..darts.search import build_supernet, make_optimizers, search_step
from ..data import DataSplits, iterate_batches, num_batches
from .build import BenchConfig, load_bench_data, train_cells
from .scoring import SearchOutcome, register_method
from .space import parse_cell_string
from .table import GroundTruth


@lru_cache(maxsize=4)
def _bench(recipe: tuple) -> tuple[BenchConfig, DataSplits]:
    config = BenchConfig.from_dict(dict(recipe))
    return config, load_bench_data(config)


def bench_of(table: GroundTruth) -> tuple[BenchConfig, DataSplits]:
    """The table's recipe (from its provenance) and its data, loaded once per process."""
    recipe = table.provenance.get("recipe")
    if not recipe:
        raise ValueError("the table has no provenance recipe (its .json beside the CSV): methods cannot "
                         "know its space and data; rebuild it with `python -m darts_lite bench`")
    return _bench(tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in recipe.items()))


def supernet_config(bench: BenchConfig, seed: int, schedule: str, epochs: int = 10, **changes) -> SearchConfig:
    """A DARTS search over the table's space: its cell, operations (and `none`), macro-architecture, data."""
    config = SearchConfig(name="ground_truth", dataset=bench.dataset, image_size=bench.image_size,
                          data_root=bench.data_root, layers=bench.layers, channels=bench.channels, nodes=bench.nodes,
                          multiplier=bench.nodes, primitives=("none", *bench.primitives), epochs=epochs, seed=seed,
                          device="cpu")
    return config.with_schedule(schedule).replace(**changes)


def epochs_for_budget(config: SearchConfig, data: DataSplits, budget_seconds: float, probe_steps: int = 4) -> int:
    """The epochs of `config` that fill `budget_seconds`, from the time of a few steps of its own kind."""
    def step_seconds(sampling: str, arch_step: bool) -> float:
        model = use_channels_last(build_supernet(config, data), "cpu")  # as `search` runs it
        model.set_sampling(sampling, config.tau_max)
        w_opt, alpha_opt, _ = make_optimizers(model, config)
        batches = zip(iterate_batches(data.search_train, config.batch_size, drop_last=True),
                      iterate_batches(data.search_val, config.batch_size, drop_last=True))
        times = []
        for _, (train, val) in zip(range(probe_steps + 1), batches):
            start = time.perf_counter()
            search_step(model, w_opt, alpha_opt, train, val, config.order, config.radius, config.grad_clip,
                        arch_step=arch_step)
            times.append(time.perf_counter() - start)
        return float(np.median(times[1:]))  # the first step pays for allocations

    warmup_share = config.warmup_epochs / config.epochs
    seconds = (1 - warmup_share) * step_seconds(config.sampling, True)
    if warmup_share:
        seconds += warmup_share * step_seconds("softmax", False)
    steps = min(num_batches(len(s), config.batch_size, True) for s in (data.search_train, data.search_val))
    per_epoch = seconds * steps * 1.15  # + the end-of-epoch evaluation
    return max(2, int(budget_seconds / per_epoch))


def alpha_scores(table: GroundTruth, alphas: torch.Tensor, primitives) -> list[float]:
    """Each cell's log-probability under softmax(alpha) of the normal cell, `none` left out."""
    keep = [i for i, p in enumerate(primitives) if p != "none"]
    logw = torch.log_softmax(alphas.detach().double()[:, keep], dim=-1)
    column = {primitives[i]: c for c, i in enumerate(keep)}
    nodes = len(parse_cell_string(table.cells[0])) // 2
    row = {edge: r for r, edge in enumerate(edge_index(nodes))}
    return [float(sum(logw[row[(j, 2 + pos // 2)], column[op]] for pos, (op, j) in enumerate(parse_cell_string(c))))
            for c in table.cells]


#: The settings that set what a search step costs; the others (the alphas' rate, the remedies, the
#: temperatures, the seed) change what a step does, not how long it takes.
COST_FIELDS = ("dataset", "image_size", "layers", "channels", "nodes", "multiplier", "primitives", "batch_size",
               "order", "sampling", "warmup_epochs", "fast", "partial_channels")

#: (budget, cost signature) -> epochs: one probe for all the methods whose steps cost the same.
SHARED_EPOCHS: dict[tuple, int] = {}


def cost_signature(config: SearchConfig) -> tuple:
    """What a step of `config` costs, as a key: methods with equal keys run equal epochs in one budget."""
    return tuple((f, getattr(config, f)) for f in COST_FIELDS)


def supernet_method(schedule: str, **changes):
    """A method that runs a DARTS search with `schedule` (and `changes`) over the table's space.

    Its epochs fill the budget (`epochs_for_budget`), probed at the first call for a budget and kept in
    `run.epochs[budget]` for every later seed and the null, so that all runs of a method share one
    configuration (a resumed study puts the epochs it recorded back there, `remember`). Methods whose
    steps cost the same (`cost_signature`: a remedy on the same schedule) share one probe, so that they
    run the same epochs: a timing probe on a noisy host can differ by a third from one call to the next.
    """
    def probe_config(bench: BenchConfig, seed: int, epochs: int = 10) -> SearchConfig:
        return supernet_config(bench, seed, schedule, epochs, **changes)

    def remember(table: GroundTruth, budget_seconds: float, epochs: int) -> None:
        run.epochs.setdefault(budget_seconds, epochs)
        SHARED_EPOCHS.setdefault((budget_seconds, cost_signature(probe_config(bench_of(table)[0], 0))), epochs)

    def run(table: GroundTruth, seed: int, budget_seconds: float, data: DataSplits | None = None) -> SearchOutcome:
        bench, bench_data = bench_of(table)
        data = bench_data if data is None else data
        start = time.perf_counter()
        if budget_seconds not in run.epochs:
            key = (budget_seconds, cost_signature(probe_config(bench, seed)))
            if key not in SHARED_EPOCHS:
                SHARED_EPOCHS[key] = epochs_for_budget(probe_config(bench, seed), data, budget_seconds)
            run.epochs[budget_seconds] = SHARED_EPOCHS[key]
        config = probe_config(bench, seed, run.epochs[budget_seconds])
        with tempfile.TemporaryDirectory() as run_dir:
            result = search(config, data, run_dir=run_dir, progress=False)
        return SearchOutcome(pick=result.genotype.normal, seconds=time.perf_counter() - start,
                             scores=alpha_scores(table, result.alphas["normal"], config.primitives),
                             details={"epochs": config.epochs, "decision": result.decision,
                                      "null_key": null_key(config), "dataset": config.dataset,
                                      "sampling": config.sampling, "train_acc": result.history[-1]["train_acc"],
                                      "supernet_val_acc": result.history[-1]["val_acc"],
                                      "health": result.health})
    run.supernet, run.epochs, run.remember = True, {}, remember
    return run


def train_in_order(table: GroundTruth, order, seed: int, data: DataSplits, start: float, budget_seconds: float,
                   epochs: int = 1, cells_per_step: int = 4) -> dict[int, float]:
    """{row: search_val accuracy} of the cells in `order`, trained `epochs` on search_train, `cells_per_step` at a
    time, until `budget_seconds` since `start` are spent (at least one group is trained)."""
    bench, _ = bench_of(table)
    short = bench.replace(epochs=epochs, cells_per_step=cells_per_step)
    order, scored = np.asarray(order), {}
    for s in range(0, len(order), cells_per_step):
        if scored and time.perf_counter() - start >= budget_seconds:
            break
        rows = order[s:s + cells_per_step]
        accs = train_cells(short, table.index[rows].tolist(), seed, data, train=data.search_train, test=data.search_val)
        scored.update(zip(rows.tolist(), accs))
    return scored


def random_search(table: GroundTruth, seed: int, budget_seconds: float, data: DataSplits | None = None,
                  epochs: int = 1, cells_per_step: int = 4) -> SearchOutcome:
    """Random cells, each trained `epochs` on search_train and scored on search_val, until the budget is spent."""
    data = bench_of(table)[1] if data is None else data
    start = time.perf_counter()
    order = np.random.default_rng(seed).permutation(len(table))
    scored = train_in_order(table, order, seed, data, start, budget_seconds, epochs, cells_per_step)
    best = max(scored, key=scored.get)
    return SearchOutcome(pick=table.cells[best], seconds=time.perf_counter() - start,
                         details={"candidates": len(scored), "epochs_each": epochs})


register_method("darts_paper_o1", supernet_method("paper", order=1), "DARTS as published, first order")
register_method("darts_paper_o2", supernet_method("paper", order=2), "DARTS as published, second order (eq. 8)")
register_method("darts_decisive", supernet_method("decisive"), "softmax warm-up, then Gumbel single path")
register_method("single_path", supernet_method("decisive", warmup_epochs=0), "Gumbel single path from step 1 (GDAS)")
TRAVEL = dict(arch_travel=20.0)  # the decisive schedule's budget rule, on the softmax relaxation
register_method("darts_travel", supernet_method("paper", **TRAVEL), "DARTS (softmax), alpha's rate by the budget rule")
for remedy in REMEDIES.values():  # each remedy on darts_travel, as its Study declares: its own schedule
    if remedy.study is not None:
        register_method(remedy.study.name, supernet_method(remedy.study.name), remedy.study.description)
register_method("random_search", random_search, "random cells trained 1 epoch, best on search_val")
