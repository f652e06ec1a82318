"""The null of `decided`: what a search's kept weight reaches when there is nothing to find.

Alphas concentrate under noise too: Adam follows whatever gradient the minibatches give, and
sampling and annealing (GDAS) push the softmax towards one-hot whatever the data say. So a kept
weight means a choice only above what the same search reaches on data without signal. `shuffled_labels`
permutes the labels within search_train and within search_val (the images and class counts stay,
every image-label link goes); `measure_null` runs a search configuration on such data over several
seeds (`ground_truth.nulls.measure_null`), and `judge` reads a search's decision against the
measured null of its configuration:

    decided = kept_weight > max(DECIDED, the largest kept weight the null reached), per cell kind.

Nulls are measured once per configuration the course ships (`python -m darts_lite null`) and kept in
the committed table `data/decision_null/nulls.csv`, keyed by `null_key` (every setting of the search
but its name, seed, device and data folder). A configuration without a row is said to have no
measured null; its `decided` falls back to the fixed threshold, and `describe` says so.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Sequence

import torch

from ..core.decision import DECIDED, kinds
from ..data import DataSplits, Split
from ..data.reference import reference_file
from ..readers import read_bytes, read_csv, shorten
from .config import SearchConfig
from .remedies import REMEDIES, null_key_when_off

NULL_TABLE = Path("decision_null") / "nulls.csv"
NOT_IN_KEY = ("name", "seed", "device", "data_root")
MAX_BYTES = 5 * 1024 * 1024


def null_key(config: SearchConfig) -> str:
    """The configuration as the null table knows it: every setting but name, seed, device and data folder.

    A remedy's setting enters the key only when on (unless the remedy says it predates the table's
    first rows, `Setting.in_null_key_when_off`), so that the keys of searches without it stay those
    measured before it existed.
    """
    off_not_in_key = set(REMEDIES) - set(null_key_when_off())
    settings = {k: (list(v) if isinstance(v, tuple) else v) for k, v in config.to_dict().items()
                if k not in NOT_IN_KEY and not (k in off_not_in_key and not v)}
    return json.dumps(settings, sort_keys=True)


def shuffled_labels(data: DataSplits, seed: int) -> DataSplits:
    """The same images with their labels permuted within search_train and within search_val (test untouched)."""
    g = torch.Generator().manual_seed(seed)

    def shuffle(split: Split) -> Split:
        return Split(split.X, split.y[torch.randperm(len(split.y), generator=g)])

    return DataSplits(**{**data.__dict__, "search_train": shuffle(data.search_train),
                         "search_val": shuffle(data.search_val)})


def threshold(reach: float | None) -> float:
    """The kept weight a cell kind must pass to count as decided: 0.5, or the null's reach when higher."""
    return DECIDED if reach is None else max(DECIDED, reach)


def null_row(key: str, seed: int, dataset: str, sampling: str, epochs: int, decision: dict, train_acc: float,
             val_acc: float) -> dict:
    """One row of the null table: a configuration's search on shuffled labels, for one seed."""
    return {"key": key, "seed": seed, "dataset": dataset, "sampling": sampling, "epochs": epochs,
            "kept_weight_normal": round(decision["normal"]["kept_weight"], 4),
            "kept_weight_reduce": round(decision["reduce"]["kept_weight"], 4),
            "train_acc": round(train_acc, 4), "val_acc": round(val_acc, 4)}


FIELDS = ("key", "seed", "dataset", "sampling", "epochs", "kept_weight_normal", "kept_weight_reduce",
          "train_acc", "val_acc")
NUMBERS = ("seed", "epochs", "kept_weight_normal", "kept_weight_reduce")  # read as numbers by lookup_null


def append_nulls(rows: Sequence[dict], path: str | Path | None = None) -> Path:
    """Add measured rows to the null table (a row of the same key and seed is replaced)."""
    path = Path(path) if path is not None else reference_file(NULL_TABLE, must_exist=False)
    old = [r for r in read_nulls(path) if (r["key"], int(r["seed"])) not in {(n["key"], n["seed"]) for n in rows}] \
        if path.is_file() else []
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows([{k: r[k] for k in FIELDS} for r in [*old, *rows]])
    return path


def read_nulls(path: str | Path) -> list[dict]:
    """The rows of a null table; a file that is too large, not UTF-8 CSV, or has a malformed row raises
    ValueError naming the file (and the line). The numbers are read as numbers here, so no lookup fails later."""
    what = "null table"
    header, rows = read_csv(read_bytes(path, what, MAX_BYTES), path, what)
    missing = [f for f in FIELDS if f not in header]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {missing}; expected {FIELDS}")
    out = []
    for r in rows:
        if len(r.fields) != len(header):
            raise ValueError(f"{path}, line {r.line}: {len(r.fields)} fields where the header has {len(header)}")
        row = dict(zip(header, r.fields))
        for name in NUMBERS:
            try:
                value = float(row[name])
            except ValueError:
                value = float("nan")
            if value != value:  # nan: not a number, or written as one
                raise ValueError(f"{path}, line {r.line}, column {name}: {shorten(row[name])} is not a number")
        out.append(row)
    return out


def lookup_null(config: SearchConfig, path: str | Path | None = None) -> dict | None:
    """The measured null of `config`'s configuration: seeds and, per cell kind, mean and max kept weight."""
    path = Path(path) if path is not None else reference_file(NULL_TABLE, must_exist=False)
    if not path.is_file():
        return None
    rows = [r for r in read_nulls(path) if r["key"] == null_key(config)]
    if not rows:
        return None
    out = {"measured": True, "seeds": len(rows)}
    for kind in ("normal", "reduce"):
        values = [float(r[f"kept_weight_{kind}"]) for r in rows]
        out[kind] = {"mean": sum(values) / len(values), "max": max(values)}
    return out


def judge(decision: dict, config: SearchConfig, path: str | Path | None = None) -> dict:
    """`decision` with its null and `decided` read against it (kept weight above max(DECIDED, null max))."""
    null = lookup_null(config, path)
    out = {kind: dict(c) for kind, c in kinds(decision).items()}
    for kind, c in out.items():
        c["threshold"] = threshold(null[kind]["max"] if null else None)
        c["decided"] = c["kept_weight"] > c["threshold"] if null else c["kept_weight"] >= DECIDED
    return {**out, "decided": all(c["decided"] for c in out.values()),
            "null": null or {"measured": False, "why": "no null measured for this configuration "
                                                       "(python -m darts_lite null ... measures one)"}}
