"""Small statistics for measured results: mean +- std, Spearman's rho with a bootstrap interval, MAPE, a cost
model's rank scores, and
beats, ties or loses (two standard errors of a difference of means).

Spearman's rho is scipy's (`scipy.stats.spearmanr`, ties averaged); its confidence interval is a
percentile bootstrap over the pairs (resampled with replacement, `resamples` times, seeded).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats as sps


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("mean_std needs at least one value")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def spearman(x: Sequence[float], y: Sequence[float], resamples: int = 2000, level: float = 0.95,
             seed: int = 0) -> dict[str, float]:
    """{"rho", "low", "high", "p", "n"}: Spearman's rank correlation and its bootstrap interval.

    rho is nan where either variable is constant (no ranking to correlate); resamples where
    a variable is constant are skipped in the interval.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 3:
        raise ValueError(f"spearman needs two 1-D sequences of the same length >= 3, got {x.shape} and {y.shape}")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return {"rho": math.nan, "low": math.nan, "high": math.nan, "p": math.nan, "n": int(x.size)}
    result = sps.spearmanr(x, y)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(resamples):
        idx = rng.integers(0, x.size, x.size)
        if np.ptp(x[idx]) > 0 and np.ptp(y[idx]) > 0:
            boots.append(sps.spearmanr(x[idx], y[idx]).statistic)
    tail = (1 - level) / 2
    low, high = (np.quantile(boots, [tail, 1 - tail]) if boots else (math.nan, math.nan))
    return {"rho": float(result.statistic), "low": float(low), "high": float(high), "p": float(result.pvalue),
            "n": int(x.size)}


def mape(predicted: Sequence[float], measured: Sequence[float]) -> float:
    """Mean absolute percentage error of predictions against measurements, in percent."""
    p, m = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    if p.shape != m.shape or p.size == 0:
        raise ValueError(f"mape needs two non-empty sequences of the same length, got {p.shape} and {m.shape}")
    if np.any(m == 0):
        raise ValueError("mape is undefined where a measurement is 0")
    return float(100 * np.mean(np.abs(p - m) / np.abs(m)))


def rank_scores(predicted: Sequence[float], measured: Sequence[float]) -> dict[str, float]:
    """{"spearman", "kendall", "mape"}: how well predictions rank and match measurements (ties averaged).

    The one score of a cost model, whether a lookup table measured here or one fitted to published
    timings; the rank correlations are nan where the predictions are constant.
    """
    p, m = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    if p.shape != m.shape or p.ndim != 1 or p.size < 2:
        raise ValueError(f"rank_scores needs two 1-D sequences of the same length >= 2, got {p.shape} and {m.shape}")
    if np.ptp(p) == 0 or np.ptp(m) == 0:
        rho = tau = math.nan
    else:
        rho, tau = float(sps.spearmanr(p, m).statistic), float(sps.kendalltau(p, m).statistic)
    return {"spearman": rho, "kendall": tau, "mape": mape(p, m)}


def compare_means(mean_a: float, std_a: float, n_a: int, mean_b: float, std_b: float, n_b: int) -> dict:
    """Does A beat, tie or lose to B? The difference of the means against two standard errors.

    SE = sqrt(std_a^2 / n_a + std_b^2 / n_b) (the standard error of a difference of two independent
    means, sample standard deviations as `mean_std` gives them). A "beats" B when the difference
    exceeds 2 SE, "loses to" it below -2 SE, and "ties" otherwise: about a 95% interval, read
    loosely at the few seeds a course can afford. Returns {"word", "diff", "two_se"}.
    """
    if min(n_a, n_b) < 1:
        raise ValueError(f"compare_means needs at least one run on each side, got n_a={n_a} and n_b={n_b}")
    two_se = 2 * math.sqrt(std_a ** 2 / n_a + std_b ** 2 / n_b)
    diff = mean_a - mean_b
    word = "beats" if diff > two_se else ("loses to" if diff < -two_se else "ties")
    return {"word": word, "diff": float(diff), "two_se": float(two_se)}


def compare_samples(a: Sequence[float], b: Sequence[float]) -> dict:
    """`compare_means` of two samples (one value per seed or split), with their means and stds added."""
    (ma, sa), (mb, sb) = mean_std(a), mean_std(b)
    return {**compare_means(ma, sa, len(a), mb, sb, len(b)), "mean_a": ma, "std_a": sa, "mean_b": mb, "std_b": sb}
