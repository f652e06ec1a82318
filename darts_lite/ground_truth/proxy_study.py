"""How well each zero-cost proxy ranks the ground truth's cells, beside the numbers published for NAS-Bench-201.

`score_proxies(table)` takes each registered proxy (`darts_lite.proxies.PROXIES`) over seeds, through its
method (`proxy_methods`), from a study where it holds the runs, and reports per proxy: Spearman's rho
and Kendall's tau against the table's mean accuracy (tau and the pick's top % by `scoring.score_method`,
the one scoring function), the seconds, and where the score depends on the batch or the initialisation,
how much it moves from seed to seed (the std of rho; Kendall's tau between two seeds' scores). Beside
them: the noise ceiling, and each proxy's rho against the best count of the architecture (`params` or
`flops`), with a paired bootstrap over the cells. The report is saved as JSON (`save_proxy_scores`;
the course commits one beside its table) for notebook 09.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import stats as sps

from ..core.config import write_json
from ..core.stats import compare_samples
from ..data.reference import reference_file
from ..proxies import PROXIES
from ..readers import read_json
from .build import code_version
from .scoring import METHODS, pick_gene, score_method
from .table import GroundTruth

DEFAULT_PROXY_SCORES = Path("ground_truth") / "digits16_2nodes.proxies.json"
SUITE_ZERO = "Krishnakumar et al., NAS-Bench-Suite-Zero, NeurIPS 2022 Datasets and Benchmarks"
ABDELFATTAH = "Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021"
#: Spearman's rho against the final accuracy on NAS-Bench-201 CIFAR-10, as published, and where.
PUBLISHED_SPEARMAN = {"naswot": 0.77, "synflow": 0.74, "grad_norm": 0.59, "snip": 0.60, "jacob_cov": 0.73,
                      "params": 0.72, "flops": 0.69}
PUBLISHED_SOURCE = {"naswot": SUITE_ZERO, "synflow": ABDELFATTAH, "grad_norm": ABDELFATTAH, "snip": ABDELFATTAH,
                    "jacob_cov": ABDELFATTAH, "params": SUITE_ZERO, "flops": SUITE_ZERO}
BASELINES = ("params", "flops")  # counts of the architecture: what a proxy must beat
MAX_BYTES = 2 * 1024 * 1024


def _spearman(scores: Sequence[float], accuracy: np.ndarray) -> float:
    return float(sps.spearmanr(scores, accuracy).statistic)


def proxy_runs(table: GroundTruth, name: str, seeds: Sequence[int], study: dict | None = None,
               budget_seconds: float = 30.0) -> list[dict]:
    """Each seed's run of the method `name` ({seed, pick, seconds, scores}): the study's, else run now."""
    held = {r["seed"]: r for r in (study or {}).get("methods", {}).get(name, {}).get("runs", [])}
    runs = []
    for seed in seeds:
        if seed not in held:
            outcome = METHODS[name].fn(table, seed, budget_seconds)
            held[seed] = {"seed": seed, "pick": outcome.pick, "seconds": outcome.seconds, "scores": outcome.scores}
        runs.append(held[seed])
    return runs


def proxy_report(table: GroundTruth, name: str, runs: list[dict]) -> dict:
    """One proxy over its runs: rho, tau, top %, seconds, its variation over seeds, the published rho."""
    picks = [pick_gene(r["pick"]) for r in runs]
    scored = score_method(table, name, picks, [r["seconds"] for r in runs], [r["scores"] for r in runs])
    rhos = [_spearman(r["scores"], table.accuracy) for r in runs]
    varies = bool(PROXIES[name].depends_on)
    per_seed = [{"seed": r["seed"], "spearman": rho, "kendall": table.ranking_tau(r["scores"]), "top_percent": top,
                 "seconds": float(r["seconds"])} for r, rho, top in zip(runs, rhos, scored.top_percents)]
    return {"proxy": name, "paper": PROXIES[name].paper, "depends_on": list(PROXIES[name].depends_on),
            "spearman": float(np.mean(rhos)), "kendall": scored.tau, "top_percent": scored.mean_top_percent,
            "seconds": scored.mean_seconds,
            "seed_spearman_std": float(np.std(rhos, ddof=1)) if varies and len(runs) > 1 else None,
            "seed_kendall": float(sps.kendalltau(runs[0]["scores"], runs[1]["scores"]).statistic)
            if varies and len(runs) > 1 else None,
            "published_spearman": PUBLISHED_SPEARMAN.get(name), "published_source": PUBLISHED_SOURCE.get(name),
            "per_seed": per_seed}


def spearman_difference(table: GroundTruth, a: list[list[float]], b: list[list[float]], resamples: int = 1000,
                        seed: int = 0) -> dict:
    """rho(a) - rho(b) (each averaged over its seeds) and its 95% paired bootstrap interval over the cells.

    `word` is "beats" or "loses to" where the interval excludes 0, else "ties"."""
    acc, rng = table.accuracy, np.random.default_rng(seed)

    def diff(idx):
        return (np.mean([_spearman(np.asarray(s)[idx], acc[idx]) for s in a])
                - np.mean([_spearman(np.asarray(s)[idx], acc[idx]) for s in b]))

    boots = [diff(rng.integers(0, len(acc), len(acc))) for _ in range(resamples)]
    low, high = (float(q) for q in np.nanquantile(boots, [0.025, 0.975]))
    word = "beats" if low > 0 else "loses to" if high < 0 else "ties"
    return {"diff": float(diff(np.arange(len(acc)))), "low": low, "high": high, "word": word}


def score_proxies(table: GroundTruth, seeds: Sequence[int] = (0, 1, 2), study: dict | None = None,
                  names: Sequence[str] | None = None, budget_seconds: float = 30.0, resamples: int = 1000) -> dict:
    """Every proxy (or `names`) over `seeds`: a report each, the noise ceiling, each against the best count."""
    names = list(PROXIES) if names is None else list(names)
    runs = {n: proxy_runs(table, n, seeds, study, budget_seconds) for n in names}
    proxies = {n: proxy_report(table, n, runs[n]) for n in names}
    report = {"date": time.strftime("%Y-%m-%d"), "code_version": code_version(), "seeds": list(seeds),
              "cells": len(table), "budget_seconds": budget_seconds, "noise_ceiling": table.noise_ceiling(),
              "proxies": proxies, "baseline": None, "versus_baseline": {}}
    counts = [n for n in BASELINES if n in proxies]
    if counts:
        base = max(counts, key=lambda n: proxies[n]["spearman"])
        report["baseline"] = base
        report["versus_baseline"] = {
            n: spearman_difference(table, [r["scores"] for r in runs[n]], [r["scores"] for r in runs[base]],
                                   resamples) for n in names if n not in BASELINES}
    return report


def top_k_versus_random(table: GroundTruth, study: dict, names: Sequence[str],
                        baseline: str = "random_search") -> list[dict]:
    """Each named method's picks against random search's at the same budget: beats, ties or loses (2 SE)."""
    def accuracies(name):
        runs = study["methods"][name]["runs"]
        return [float(table.accuracy[table.lookup(pick_gene(r["pick"]))]) for r in runs]
    rs = accuracies(baseline)
    return [{"method": n, "n": len(rs), **compare_samples(accuracies(n), rs)} for n in names
            if n in study["methods"]]


def save_proxy_scores(report: dict, path: str | Path) -> Path:
    """Write a `score_proxies` report (JSON)."""
    return write_json(path, report)


def load_proxy_scores(path: str | Path | None = None) -> dict:
    """A saved `score_proxies` report (default: the committed one beside the table)."""
    path = Path(path) if path is not None else reference_file(DEFAULT_PROXY_SCORES)
    report = read_json(path, "proxy scores", max_bytes=MAX_BYTES, hint="`score_proxies` and `save_proxy_scores`")
    if "proxies" not in report:
        raise ValueError(f"{path} is not a proxy report: it has no 'proxies' section")
    return report
