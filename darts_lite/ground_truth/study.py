"""Every search scored on the ground truth, at one budget, over seeds, beside its shuffled-label null.

`run_study` runs each registered method (`scoring.METHODS`) once per seed under one budget in
seconds, and each supernet method once more per seed on labels shuffled within search_train and
search_val (`darts.null.shuffled_labels`): its null. The outcomes are saved as JSON (`save_study`;
the course commits one beside its table) so that notebook 08 reads them without searching again,
and `study_table` turns them into the rows of the results table: the picks' ground-truth accuracy
(mean +- std), top %, regret, seconds, Kendall tau beside the noise ceiling, the kept weight the
search reached, and what its null reached.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from ..core.config import write_json
from ..core.stats import mean_std
from ..darts.null import null_row, shuffled_labels, threshold
from ..readers import read_json
from ..data.reference import reference_file
from . import methods  # noqa: F401  (registers the methods)
from .build import code_version
from .fresh import load_fresh
from .methods import bench_of
from .scoring import METHODS, SearchOutcome, pick_gene, score_method
from .table import GroundTruth

DEFAULT_TABLE = Path("ground_truth") / "digits16_2nodes.csv"
DEFAULT_STUDY = Path("ground_truth") / "digits16_2nodes.study.json"
FIVE_SEED_STUDY = Path("ground_truth") / "digits16_2nodes.5seeds.json"  # the winner and random search, 5 seeds
FRESH = Path("ground_truth") / "digits16_2nodes.fresh.json"  # the studies' picks retrained on fresh seeds
MAX_BYTES = 20 * 1024 * 1024


def default_fresh() -> dict:
    """The committed fresh-seed record of the studies' picks (`fresh.retrain_study`)."""
    return load_fresh(reference_file(FRESH))


def default_table() -> GroundTruth:
    """The course's committed ground truth: digits 16x16, the 2-node cell of 3 operations."""
    return GroundTruth.load(reference_file(DEFAULT_TABLE))


def run_study(table: GroundTruth, names: Sequence[str] | None = None, seeds: Sequence[int] = (0, 1, 2),
              budget_seconds: float = 30.0, null: bool = True, progress: bool = True,
              path: str | Path | None = None) -> dict:
    """Each method once per seed (and each supernet method on shuffled labels): a JSON-ready record.

    With `path`, the record is written after every run, and a study of the same budget and seeds
    already there is continued: the runs it holds are kept, not run again.
    """
    names = list(METHODS) if names is None else list(names)
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise KeyError(f"unknown method(s) {unknown}; registered: {', '.join(METHODS)}")
    _, data = bench_of(table)
    jobs = [(n, s, False) for n in names for s in seeds]
    jobs += [(n, s, True) for n in names for s in seeds if null and getattr(METHODS[n].fn, "supernet", False)]
    record = {"budget_seconds": budget_seconds, "seeds": list(seeds), "date": time.strftime("%Y-%m-%d"),
              "code_version": code_version(), "methods": {}}
    if path is not None and Path(path).is_file():
        old = load_study(path)
        if (old["budget_seconds"], old["seeds"]) == (budget_seconds, list(seeds)):
            record = old
    for n in names:
        record["methods"].setdefault(n, {"description": METHODS[n].description, "runs": [], "null_runs": []})
    for n, m in record["methods"].items():  # a resumed study keeps its methods' configuration (and shares it)
        for r in m["runs"]:
            if n in METHODS and "epochs" in r["details"] and hasattr(METHODS[n].fn, "remember"):
                METHODS[n].fn.remember(table, budget_seconds, r["details"]["epochs"])
    done = {(n, r["seed"], kind == "null_runs") for n, m in record["methods"].items()
            for kind in ("runs", "null_runs") for r in m[kind]}
    for name, seed, shuffled in tqdm(jobs, desc="methods x seeds", disable=not progress):
        if (name, seed, shuffled) in done:
            continue
        outcome = METHODS[name].fn(table, seed, budget_seconds, shuffled_labels(data, seed) if shuffled else None)
        record["methods"][name]["null_runs" if shuffled else "runs"].append({"seed": seed, **_jsonable(outcome)})
        if path is not None:
            save_study(record, path)
    return record


def _jsonable(outcome: SearchOutcome) -> dict:
    d = asdict(outcome)
    d["pick"] = [list(e) for e in d["pick"]] if not isinstance(d["pick"], str) else d["pick"]
    d["scores"] = None if d["scores"] is None else [round(float(x), 6) for x in d["scores"]]
    return d


def save_study(record: dict, path: str | Path) -> Path:
    """Write a study's record (JSON)."""
    return write_json(path, record)


def load_study(path: str | Path | None = None, default: Path = DEFAULT_STUDY) -> dict:
    """A saved study (default: the committed `default`), refusing a file that is not one or far too large."""
    path = Path(path) if path is not None else reference_file(default)
    record = read_json(path, "study", max_bytes=MAX_BYTES, hint="`python -m darts_lite score` writes one")
    if "methods" not in record:
        raise ValueError(f"{path} is not a study file: it has no 'methods' section")
    return record


def _kept(runs: list[dict]) -> str:
    values = [r["details"]["decision"]["normal"]["kept_weight"] for r in runs if "decision" in r["details"]]
    if not values:
        return "n/a"
    mean, std = mean_std(values)
    return f"{mean:.2f} ± {std:.2f}"


def study_table(table: GroundTruth, record: dict, fresh: dict | None = None) -> list[dict]:
    """One row per method: the scored picks (and the null's picks, kept weights) of a study record.

    With a fresh-seed record (`fresh.retrain_study`), each row also has its picks' fresh accuracy.
    """
    rows = []
    for name, m in _in_registration_order(record):
        runs = m["runs"]
        scored = score_method(table, name, [pick_gene(r["pick"]) for r in runs], [r["seconds"] for r in runs],
                              [r["scores"] for r in runs if r.get("scores") is not None] or None, fresh=fresh)
        row = {**scored.as_row(), "kept (normal)": _kept(runs), "null kept (normal)": _kept(m["null_runs"]),
               "null acc": "n/a", "decided": "n/a"}
        if m["null_runs"]:
            null = score_method(table, name, [pick_gene(r["pick"]) for r in m["null_runs"]],
                                [r["seconds"] for r in m["null_runs"]])
            row["null acc"] = f"{null.mean_accuracy:.3f} ± {null.std_accuracy:.3f}"
            reach = max(r["details"]["decision"]["normal"]["kept_weight"] for r in m["null_runs"])
            decided = sum(r["details"]["decision"]["normal"]["kept_weight"] > threshold(reach) for r in runs)
            row["decided"] = f"{decided} of {len(runs)}"
        row["score"] = scored
        rows.append(row)
    return rows


def _in_registration_order(record: dict) -> list[tuple[str, dict]]:
    order = {name: i for i, name in enumerate(METHODS)}
    return sorted(record["methods"].items(), key=lambda item: order.get(item[0], len(order)))


def collapse_rows(table: GroundTruth, record: dict) -> list[dict]:
    """Per supernet method of a study: how its picks collapse (skips, all-skip picks) and its supernet's health."""
    rows = []
    for name, m in _in_registration_order(record):
        runs = [r for r in m["runs"] if "epochs" in r["details"]]
        if not runs:
            continue
        picks = [table.lookup(pick_gene(r["pick"])) for r in runs]
        skips = [int(table.skips[p]) for p in picks]
        health = [r["details"]["health"] for r in runs if "health" in r["details"]]
        all_skip, below_median = _collapsed_picks(table, picks)
        rows.append({"method": name, "runs": len(runs), "skips in the picks": " ".join(map(str, skips)),
                     "all-skip picks": all_skip, "below the median": below_median,
                     "healthy": f"{sum(h['healthy'] for h in health)} of {len(health)}" if health else "n/a",
                     "val acc drop": f"{np.mean([h['val_acc_drop'] for h in health]):.3f}" if health else "n/a",
                     "picks": picks})
    return rows


def method_report(table: GroundTruth, record: dict, method: str, baseline: str = "random_search") -> dict:
    """One method of a study seed by seed, against `baseline` at the same cost, as numbers.

    `top_percent` is the share of the space at least as good as the pick, averaged over seeds; the
    pick is never to be the all-skip cell nor below the space's median.
    """
    def picks(name: str) -> list[int]:
        if name not in record["methods"]:
            raise KeyError(f"the study has no runs of {name!r}; it has {sorted(record['methods'])}")
        return [table.lookup(pick_gene(r["pick"])) for r in record["methods"][name]["runs"]]

    mine, theirs = picks(method), picks(baseline)
    top = [float(table.top_percent(table.accuracy[p])) for p in mine]
    all_skip, below_median = _collapsed_picks(table, mine)
    return {"method": method, "seeds": [r["seed"] for r in record["methods"][method]["runs"]],
            "accuracy": [float(table.accuracy[p]) for p in mine], "top_percent_each": top,
            "top_percent": float(np.mean(top)), "mean_accuracy": float(np.mean(table.accuracy[mine])),
            "baseline": baseline, "baseline_mean_accuracy": float(np.mean(table.accuracy[theirs])),
            "all_skip_picks": all_skip, "below_median_picks": below_median}


def _collapsed_picks(table: GroundTruth, picks: list[int]) -> tuple[int, int]:
    """How many of the picks (table rows) are an all-skip cell, and how many lie below the space's median."""
    median, most_skips = np.median(table.accuracy), table.skips.max()
    return int(sum(table.skips[p] == most_skips for p in picks)), int(sum(table.accuracy[p] < median for p in picks))


def null_rows(record: dict) -> list[dict]:
    """The null runs as rows of `darts.null`'s table (so that searches of those configurations find their null)."""
    rows = []
    for m in record["methods"].values():
        for r in m["null_runs"]:
            d = r["details"]
            rows.append(null_row(d["null_key"], r["seed"], d["dataset"], d["sampling"], d["epochs"], d["decision"],
                                 d["train_acc"], d["supernet_val_acc"]))
    return rows

