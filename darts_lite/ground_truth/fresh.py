"""Picks judged on fresh training seeds, because the table's top is noise.

The table trains each cell on two seeds, and its cells differ by less than one training's noise.
So the cells it ranks best are partly its luckiest: the winner's curse. A method whose pick the
table puts in its top 5% may pick a median cell. Its bottom holds: collapsed cells stay worst.

`retrain` trains cells again with the table's own recipe (`build.train_cells`) on seeds the table
never used (`FRESH_SEEDS`). `retrain_study` does so for every pick of a study and for the cells
around the table's median, the baseline no search needs; `save_fresh` keeps them beside the table.
`score_method` (scoring) then reports each method's fresh accuracy beside its table accuracy, and
how often it lands in the bad tail (`BAD_TAIL`: the table's bottom 10%, where the table is reliable).
`fresh_verdicts` compares each method, on fresh seeds, with random search's picks and the median cells.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from ..core.config import write_json
from ..core.stats import compare_samples, mean_std
from ..readers import read_json
from .build import code_version, train_cells
from .methods import bench_of
from .scoring import BAD_TAIL, pick_gene
from .table import GroundTruth

FRESH_SEEDS = (7, 8, 9)  # training seeds no table of the course uses
MEDIAN_CELLS = 6         # cells around the table's median: the baseline a search must beat


def median_cells(table: GroundTruth, k: int = MEDIAN_CELLS) -> list[str]:
    """The k cells whose table accuracy is closest to the median (canonical strings)."""
    order = np.argsort(np.abs(table.accuracy - np.median(table.accuracy)), kind="stable")[:k]
    return [table.canonical[i] for i in sorted(order)]


def in_bad_tail(table: GroundTruth, acc: float) -> bool:
    """Is a cell of table accuracy `acc` in the table's bottom `BAD_TAIL` %?"""
    return table.percentile(acc) < BAD_TAIL


def retrain(table: GroundTruth, cells: Sequence, seeds: Sequence[int] = FRESH_SEEDS,
            progress: bool = True) -> dict[str, list[float]]:
    """{canonical: [test accuracy per seed]} of `cells` trained with the table's recipe on fresh `seeds`."""
    used = sorted(set(seeds) & set(table.seeds))
    if used:
        raise ValueError(f"seeds {used} trained the table itself; fresh seeds must be others (e.g. {FRESH_SEEDS})")
    bench, data = bench_of(table)
    rows = sorted({table.lookup(c) for c in cells})
    out = {table.canonical[r]: [] for r in rows}
    chunks = [rows[i:i + bench.cells_per_step] for i in range(0, len(rows), bench.cells_per_step)]
    for seed in tqdm(seeds, desc="fresh seeds", disable=not progress):
        for chunk in chunks:
            accs = train_cells(bench, table.index[chunk].tolist(), seed, data)
            for r, acc in zip(chunk, accs):
                out[table.canonical[r]].append(float(acc))
    return out


def study_picks(record: dict) -> list:
    """Every pick of every method's runs in a study record (null runs left out)."""
    return [pick_gene(r["pick"]) for m in record["methods"].values() for r in m["runs"]]


def retrain_study(table: GroundTruth, records: Sequence[dict], seeds: Sequence[int] = FRESH_SEEDS,
                  fresh: dict | None = None, progress: bool = True) -> dict:
    """The fresh record of the studies' picks and the median cells; cells already in `fresh` are kept."""
    fresh = fresh or {"seeds": list(seeds), "cells": {}}
    if fresh["seeds"] != list(seeds):
        raise ValueError(f"the fresh record was trained on seeds {fresh['seeds']}, not {list(seeds)}")
    wanted = {table.canonical[table.lookup(c)] for rec in records for c in study_picks(rec)}
    wanted |= set(median_cells(table))
    todo = sorted(wanted - set(fresh["cells"]))
    start = time.perf_counter()
    if todo:
        fresh["cells"].update(retrain(table, todo, seeds, progress))
    fresh.update(median_cells=median_cells(table), date=time.strftime("%Y-%m-%d"), code_version=code_version(),
                 seconds=fresh.get("seconds", 0.0) + time.perf_counter() - start)
    return fresh


def save_fresh(fresh: dict, path: str | Path) -> Path:
    """Write a fresh record as JSON."""
    return write_json(path, fresh)


def load_fresh(path: str | Path) -> dict:
    """A fresh record written by `save_fresh`."""
    fresh = read_json(path, "fresh-seed record", expect=dict)
    if not {"seeds", "cells"} <= set(fresh):
        raise ValueError(f"{path} is not a fresh-seed record: it needs 'seeds' and 'cells'")
    return fresh


def fresh_accuracy(table: GroundTruth, fresh: dict, cell) -> float:
    """A cell's mean accuracy over the fresh seeds; KeyError if it was not retrained."""
    key = table.canonical[table.lookup(cell)]
    if key not in fresh["cells"]:
        raise KeyError(f"cell {key} has no fresh-seed accuracies: run `retrain_study` for its study")
    return float(np.mean(fresh["cells"][key]))


def fresh_verdicts(table: GroundTruth, record: dict, fresh: dict, baseline: str = "random_search") -> list[dict]:
    """Per method: its picks' fresh accuracy, and beats / ties / loses against `baseline`'s picks and the median cells.

    Each run's pick counts once (its mean over the fresh seeds); the median cells are a sample of
    their own, each cell's fresh mean once.
    """
    def picks(name: str) -> list[float]:
        return [fresh_accuracy(table, fresh, pick_gene(r["pick"])) for r in record["methods"][name]["runs"]]

    median = [fresh_accuracy(table, fresh, c) for c in fresh["median_cells"]]
    base = picks(baseline) if baseline in record["methods"] else None
    rows = []
    for name, m in record["methods"].items():
        accs = picks(name)
        table_accs = [float(table.accuracy[table.lookup(pick_gene(r["pick"]))]) for r in m["runs"]]
        mean, std = mean_std(accs)
        rows.append({"method": name, "runs": len(accs), "fresh": accs, "fresh_mean": mean, "fresh_std": std,
                     "table_mean": float(np.mean(table_accs)),
                     "bad_tail": float(np.mean([in_bad_tail(table, a) for a in table_accs])),
                     "vs_median": compare_samples(accs, median),
                     "vs_baseline": None if base is None or name == baseline else compare_samples(accs, base)})
    return rows
