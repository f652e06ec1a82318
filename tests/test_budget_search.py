"""The best cell under a latency budget: exact answers against brute force, searches, transfers, fronts, the study."""
import itertools
import json

import numpy as np
import pytest

from darts_lite.ground_truth.budget_search import (
    budget_at, budget_search, best_under_budget, fitness, pareto_front, regret_rows, transfer)
from darts_lite.ground_truth.device_latency import DeviceLatency
from darts_lite.ground_truth.device_study import device_study
from darts_lite.ground_truth.nasbench201 import NB201Table, arch_string

# The whole space of three operations (3^6 = 729 cells): evolution needs every cell of its space.
OPS3 = ("none", "skip_connect", "nor_conv_3x3")
SPACE3 = [arch_string(ops) for ops in itertools.product(OPS3, repeat=6)]


@pytest.fixture(scope="module")
def toy():
    """An accuracy table and two devices whose latencies disagree, on the 729-cell space."""
    rng = np.random.default_rng(0)
    accuracy = NB201Table(SPACE3, rng.uniform(10, 90, len(SPACE3)).round(1))  # ties
    fast_gpu = rng.uniform(1, 10, len(SPACE3))
    phone = 11 - fast_gpu + rng.uniform(0, 2, len(SPACE3))  # mostly the other way round
    return accuracy, DeviceLatency(SPACE3, ("gpu", "phone"), np.stack([fast_gpu, phone], axis=1))


def brute_best(accuracy, latency, budget) -> int:
    """Most accurate fitting cell; ties: the faster, then the lower row."""
    fits = [i for i in range(len(accuracy)) if latency[i] <= budget]
    return min(fits, key=lambda i: (-accuracy[i], latency[i], i))


def test_budget_at_is_the_percentile_and_refuses_one_out_of_range():
    lat = np.arange(1.0, 101.0)
    assert budget_at(lat, 25) == pytest.approx(np.sort(lat)[24] + 0.75 * (lat[25] - lat[24]))
    assert budget_at(lat, 100) == 100.0
    for bad in (0, -5, 101):
        with pytest.raises(ValueError, match="percentile must be in"):
            budget_at(lat, bad)


def test_best_under_budget_is_the_brute_force_answer_ties_included():
    rng = np.random.default_rng(1)
    for trial in range(30):
        n = int(rng.integers(5, 60))
        accuracy = rng.integers(0, 6, n).astype(float)  # many ties in accuracy
        latency = rng.integers(1, 8, n).astype(float)   # and in latency
        budget = float(rng.integers(int(latency.min()), 9))
        assert best_under_budget(accuracy, latency, budget) == brute_best(accuracy, latency, budget), trial
    with pytest.raises(ValueError, match="no cell fits a budget of 0.5 ms; the fastest takes 1 ms"):
        best_under_budget(np.array([1.0, 2.0]), np.array([1.0, 3.0]), 0.5)


def test_fitness_puts_every_fitting_cell_above_every_cell_over_budget():
    rng = np.random.default_rng(2)
    accuracy = np.concatenate([[0.0, 100.0], rng.uniform(0, 100, 500)])
    latency = np.concatenate([[5.0, 5.0001], rng.uniform(0.1, 20, 500)])
    budget = 5.0
    f = fitness(accuracy, latency, budget)
    fits = latency <= budget
    assert fits.any() and (~fits).any()
    assert f[fits].min() > f[~fits].max()
    np.testing.assert_array_equal(f[fits], accuracy[fits])
    over = np.flatnonzero(~fits)
    for i, j in itertools.combinations(over[:40], 2):  # over budget: the faster ranks higher
        assert (f[i] > f[j]) == (latency[i] < latency[j])


def test_a_search_that_queries_the_whole_space_finds_the_exact_answer(toy):
    accuracy, latency = toy
    lat = latency.of("phone")
    budget = budget_at(lat, 25)
    best = accuracy.accuracy[brute_best(accuracy.accuracy, lat, budget)]
    found = budget_search(accuracy, lat, budget, "random", queries=len(SPACE3), runs=3, seed=4)
    np.testing.assert_array_equal(best - found, 0.0)
    evolved = budget_search(accuracy, lat, budget, "evolution", queries=300, runs=3, seed=4)
    fitting = set(accuracy.accuracy[lat <= budget])
    assert all(a in fitting and a <= best for a in evolved)  # a fitting cell's accuracy, never above the best
    with pytest.raises(ValueError, match="search must be one of"):
        budget_search(accuracy, lat, budget, "grid")


def test_a_run_that_finds_no_fitting_cell_is_nan(toy):
    accuracy, latency = toy
    lat = latency.of("gpu")
    budget = budget_at(lat, 2)  # about 15 of the 729 cells fit: 20 queries miss them all about 2 runs in 3
    found = budget_search(accuracy, lat, budget, "random", queries=20, runs=40, seed=0)
    assert np.isnan(found).any() and (~np.isnan(found)).any()
    assert set(found[~np.isnan(found)]) <= set(accuracy.accuracy[lat <= budget])


def test_regret_is_the_best_minus_what_each_run_found(toy):
    accuracy, latency = toy
    rows = regret_rows(accuracy, latency, percentile=30, queries=50, runs=4, seed=3)
    assert [(r["device"], r["search"]) for r in rows] == [("gpu", "random"), ("gpu", "evolution"),
                                                          ("phone", "random"), ("phone", "evolution")]
    for r in rows:
        lat = latency.of(r["device"])
        budget = np.percentile(lat, 30)
        best = brute_best(accuracy.accuracy, lat, budget)
        assert r["budget_ms"] == pytest.approx(budget)
        assert r["best"] == accuracy.accuracy[best] and r["best_arch"] == SPACE3[best]
        found = budget_search(accuracy, lat, budget, r["search"], 50, 4, 3)
        np.testing.assert_allclose(r["regret"], accuracy.accuracy[best] - found)
        assert r["missed"] == int(np.isnan(found).sum())
        assert all(g >= 0 for g in r["regret"] if not np.isnan(g))
    shuffled = NB201Table(SPACE3[::-1], accuracy.accuracy[::-1])
    with pytest.raises(ValueError, match="disagree"):
        regret_rows(shuffled, latency, queries=5, runs=1)


def test_transfer_by_hand_for_two_devices(toy):
    accuracy, latency = toy
    out = transfer(accuracy, latency, ["gpu", "phone"], percentile=25)
    lat = {d: latency.of(d) for d in ("gpu", "phone")}
    budget = {d: np.percentile(lat[d], 25) for d in lat}
    pick = {d: brute_best(accuracy.accuracy, lat[d], budget[d]) for d in lat}
    assert out["devices"] == ["gpu", "phone"] and out["picks"] == [pick["gpu"], pick["phone"]]
    for a, row_over, row_regret in zip(("gpu", "phone"), out["over"], out["regret"]):
        for b, over, regret in zip(("gpu", "phone"), row_over, row_regret):
            assert over == pytest.approx(lat[b][pick[a]] / budget[b])
            assert regret == pytest.approx(accuracy.accuracy[pick[b]] - accuracy.accuracy[pick[a]])
            if a == b:
                assert over <= 1 and regret == 0
    assert out["over"][0][1] > 1 and out["over"][1][0] > 1  # the devices disagree: each pick breaks the other budget


def brute_front(accuracy, latency) -> list[int]:
    """Cells no other cell weakly beats in both and strictly in one; of identical points, the lowest row."""
    n = len(accuracy)
    front = []
    for i in range(n):
        dominated = any(latency[j] <= latency[i] and accuracy[j] >= accuracy[i]
                        and (latency[j] < latency[i] or accuracy[j] > accuracy[i]) for j in range(n))
        duplicate = any(latency[j] == latency[i] and accuracy[j] == accuracy[i] for j in range(i))
        if not dominated and not duplicate:
            front.append(i)
    return sorted(front, key=lambda i: latency[i])


def test_pareto_front_is_the_brute_force_front_ties_included():
    rng = np.random.default_rng(5)
    for trial in range(25):
        n = int(rng.integers(1, 80))
        accuracy = rng.integers(0, 10, n).astype(float)
        latency = rng.integers(0, 10, n).astype(float)
        got = pareto_front(accuracy, latency)
        assert got.tolist() == brute_front(accuracy, latency), trial
        assert np.all(np.diff(latency[got]) > 0) and np.all(np.diff(accuracy[got]) > 0)


def test_device_study_smoke_returns_every_key_as_json():
    out = device_study(sample_sizes=(10,), seeds=range(2), queries=20, runs=2, progress=False)
    assert set(out) == {"devices", "families", "seeds", "sample_sizes", "percentile", "queries", "runs", "lut",
                        "flops_all_cells", "help", "regret", "transfer", "pareto"}
    assert len(out["devices"]) == 27 and out["seeds"] == 2 and out["sample_sizes"] == [10]
    assert len(out["lut"]) == 27 * 3 and all(r["seeds"] == 2 and r["k"] == 10 for r in out["lut"])
    assert len(out["help"]) == 6 and len(out["regret"]) == 27 * 2
    assert all(len(r["regret"]) == 2 for r in out["regret"])
    assert len(out["transfer"]["arch"]) == len(out["transfer"]["devices"])
    for front in out["pareto"].values():
        assert np.all(np.diff(front["latency_ms"]) > 0) and np.all(np.diff(front["accuracy"]) > 0)
    again = json.loads(json.dumps(out))
    assert set(again) == set(out) and again["transfer"]["picks"] == out["transfer"]["picks"]
