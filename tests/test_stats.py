"""Tests for darts_lite.core.stats against hand computations."""
import math

import numpy as np
import pytest

from darts_lite.core.stats import mape, mean_std, spearman


def test_mean_std_uses_the_sample_deviation():
    assert mean_std([1.0, 3.0]) == (2.0, math.sqrt(2.0))
    assert mean_std([5.0]) == (5.0, 0.0)
    with pytest.raises(ValueError):
        mean_std([])


def test_spearman_against_the_rank_formula():
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    y = [2.0, 1.0, 4.0, 3.0, 5.0]  # no ties: rho = 1 - 6 sum d^2 / (n (n^2 - 1))
    d2 = sum((a - b) ** 2 for a, b in zip([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]))
    r = spearman(x, y, resamples=200)
    assert r["rho"] == pytest.approx(1 - 6 * d2 / (5 * 24))
    assert r["low"] <= r["rho"] <= r["high"] and r["n"] == 5


def test_spearman_interval_is_tight_for_a_monotone_relation_and_wide_for_noise():
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    assert spearman(x, np.exp(x))["low"] == pytest.approx(1.0)
    noise = spearman(x, rng.normal(size=60))
    assert noise["low"] < 0 < noise["high"]


def test_spearman_of_a_constant_is_nan_not_an_error():
    assert math.isnan(spearman([1, 1, 1, 1], [1, 2, 3, 4])["rho"])
    with pytest.raises(ValueError, match="same length"):
        spearman([1, 2], [1, 2])


def test_mape():
    assert mape([110, 90], [100, 100]) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="0"):
        mape([1], [0])


def test_compare_means_by_two_standard_errors():
    from darts_lite.core.stats import compare_means, compare_samples
    # SE = sqrt(0.03^2/3 + 0.04^2/3) = 0.05/sqrt(3) = 0.028868; 2 SE = 0.057735
    assert compare_means(0.90, 0.03, 3, 0.84, 0.04, 3)["word"] == "beats"          # +0.06 > 0.0577
    assert compare_means(0.90, 0.03, 3, 0.85, 0.04, 3)["word"] == "ties"           # +0.05
    assert compare_means(0.80, 0.03, 3, 0.86, 0.04, 3)["word"] == "loses to"
    c = compare_means(0.9, 0.03, 3, 0.85, 0.04, 3)
    assert c["two_se"] == pytest.approx(0.1 / 3 ** 0.5) and c["diff"] == pytest.approx(0.05)
    s = compare_samples([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    assert s["mean_a"] == 2.0 and s["std_a"] == 1.0 and s["two_se"] == pytest.approx(2 / 3 ** 0.5)
    assert s["word"] == "ties"  # +1.0 < 1.1547
    with pytest.raises(ValueError, match="at least one run"):
        compare_means(0.9, 0.0, 0, 0.8, 0.0, 3)
