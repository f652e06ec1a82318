"""The best cell under a latency budget, per device, by lookup: exact answers, searches, and transfers.

Accuracy comes from NAS-Bench-201's 12-epoch table, latency from a device's column of the measured
table (`device_latency`); nothing is trained. A device's budget is a percentile of its own latencies
(`budget_at`), so every device keeps the same share of the space.

* `best_under_budget`: the exact answer, the most accurate cell whose latency fits;
* `budget_search`: random search (Li & Talwalkar, UAI 2019) or regularised evolution (Real et al.,
  AAAI 2019) that query cells one at a time and see each one's accuracy and latency. Both rank cells
  by a fitness that puts every fitting cell above every cell over budget (`fitness`); the search's
  answer is its best fitting cell, and its regret is the exact answer's accuracy minus its own;
* `transfer`: the exact answer for device A, run on device B: its latency over B's budget, and
  its accuracy below B's own answer;
* `pareto_front`: the cells no other cell beats in both accuracy and latency.
"""
from __future__ import annotations

import numpy as np

from .device_latency import DeviceLatency
from .nasbench201 import NB201Table, random_search_curve, regularized_evolution_curve

SEARCHES = ("random", "evolution")
BUDGET_PERCENTILE = 25


def budget_at(latency_ms: np.ndarray, percentile: float = BUDGET_PERCENTILE) -> float:
    """The latency (ms) below which `percentile` percent of the cells run: a budget every device can meet."""
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    return float(np.percentile(latency_ms, percentile))


def fitness(accuracy: np.ndarray, latency_ms: np.ndarray, budget: float) -> np.ndarray:
    """A cell's accuracy if it fits the budget, else minus its latency over the budget (faster ranks higher).

    Accuracies are >= 0 and the second branch is < 0: any fitting cell beats any cell over budget.
    """
    accuracy, latency_ms = np.asarray(accuracy, dtype=float), np.asarray(latency_ms, dtype=float)
    return np.where(latency_ms <= budget, accuracy, -latency_ms / budget)


def best_under_budget(accuracy: np.ndarray, latency_ms: np.ndarray, budget: float) -> int:
    """Row of the most accurate cell whose latency fits the budget (ties: the faster one)."""
    fits = np.flatnonzero(np.asarray(latency_ms) <= budget)
    if fits.size == 0:
        raise ValueError(f"no cell fits a budget of {budget:.4g} ms; the fastest takes {np.min(latency_ms):.4g} ms")
    order = np.lexsort((latency_ms[fits], -np.asarray(accuracy)[fits]))
    return int(fits[order[0]])


def budget_search(table: NB201Table, latency_ms: np.ndarray, budget: float, search: str = "random",
                  queries: int = 100, runs: int = 20, seed: int = 0) -> np.ndarray:
    """(runs,) accuracy of each run's best fitting cell after `queries` lookups; nan where none fitted."""
    if search not in SEARCHES:
        raise ValueError(f"search must be one of {SEARCHES}, not {search!r}")
    scored = NB201Table(table.arch, fitness(table.accuracy, latency_ms, budget))
    run = random_search_curve if search == "random" else regularized_evolution_curve
    final = run(scored, queries, runs, seed)[:, -1]
    return np.where(final >= 0, final, np.nan)


def regret_rows(table: NB201Table, latency: DeviceLatency, devices=None, percentile: float = BUDGET_PERCENTILE,
                queries: int = 100, runs: int = 20, seed: int = 0) -> list[dict]:
    """Per device and search: the budget, the exact answer, and each run's regret (accuracy points).

    Rows {"device", "search", "budget_ms", "best", "best_arch", "regret" (list, one per run; nan: no
    fitting cell found), "missed" (runs that found none)}.
    """
    latency.check_aligned(table)
    rows = []
    for device in latency.devices if devices is None else devices:
        lat = latency.of(device)
        budget = budget_at(lat, percentile)
        best = best_under_budget(table.accuracy, lat, budget)
        for search in SEARCHES:
            found = budget_search(table, lat, budget, search, queries, runs, seed)
            rows.append({"device": device, "search": search, "budget_ms": budget, "best": float(table.accuracy[best]),
                         "best_arch": table.arch[best], "regret": (table.accuracy[best] - found).tolist(),
                         "missed": int(np.isnan(found).sum())})
    return rows


def transfer(table: NB201Table, latency: DeviceLatency, devices, percentile: float = BUDGET_PERCENTILE) -> dict:
    """The exact answer of each device A, run on each device B.

    {"devices", "picks" (row per device), "over" [A][B] (latency on B / B's budget: above 1 breaks
    B's budget), "regret" [A][B] (B's best accuracy minus A's pick's: what A's choice costs on B)}.
    """
    latency.check_aligned(table)
    devices = list(devices)
    lat = {d: latency.of(d) for d in devices}
    budget = {d: budget_at(lat[d], percentile) for d in devices}
    picks = {d: best_under_budget(table.accuracy, lat[d], budget[d]) for d in devices}
    over = [[float(lat[b][picks[a]] / budget[b]) for b in devices] for a in devices]
    regret = [[float(table.accuracy[picks[b]] - table.accuracy[picks[a]]) for b in devices] for a in devices]
    return {"devices": devices, "picks": [picks[d] for d in devices], "over": over, "regret": regret}


def pareto_front(accuracy: np.ndarray, latency_ms: np.ndarray) -> np.ndarray:
    """Rows of the cells on the accuracy-latency front, fastest first: no cell is both faster and more accurate."""
    accuracy, latency_ms = np.asarray(accuracy, dtype=float), np.asarray(latency_ms, dtype=float)
    order = np.lexsort((-accuracy, latency_ms))  # by latency, then most accurate first
    front, best = [], -np.inf
    for i in order:
        if accuracy[i] > best:
            front.append(int(i))
            best = accuracy[i]
    return np.array(front, dtype=np.int64)
