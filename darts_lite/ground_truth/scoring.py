"""Every search method scored by one function on one ground-truth table (as NAS-Bench-201 and NASLib do).

A method is registered once (`register_method`) as a function of the table, a seed and a time
budget that returns a `SearchOutcome`: the cell it picks, the seconds it took and, if it ranks every
cell (a supernet, a zero-cost proxy), its score of each. `score_method` looks each run's pick up in
the table: its mean accuracy over the table's seeds, its top %, its regret to the best cell, and the
Kendall tau of the method's ranking against the table's, averaged over runs. Given the picks'
accuracies on fresh training seeds (`fresh`), it reports those too: the table's top is noise, so
its top % flatters a pick (the winner's curse); `bad_tail` counts the picks in its reliable bottom.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..core.stats import mean_std
from .table import GroundTruth

BAD_TAIL = 10.0  # percent: the table's bottom, where its ranking is reliable (the collapsed cells)


@dataclass
class SearchOutcome:
    """One run of a search method: its pick (a gene or canonical string), its seconds, its per-cell scores."""

    pick: tuple | str
    seconds: float
    scores: Sequence[float] | None = None  # one per table row, in row order; None: the method ranks nothing
    details: dict = field(default_factory=dict)  # what the method reports of itself (epochs, candidates, decision)


def pick_gene(pick) -> tuple | str:
    """A pick as saved in JSON (a canonical string, or [[op, input], ...]) as `GroundTruth.lookup` takes it."""
    return pick if isinstance(pick, str) else tuple((op, int(j)) for op, j in pick)


@dataclass
class Method:
    """A registered search method: `fn(table, seed, budget_seconds) -> SearchOutcome`."""

    name: str
    fn: Callable[[GroundTruth, int, float], SearchOutcome]
    description: str = ""


#: The search methods scored on a table, by name; filled by `register_method` where each method lives.
METHODS: dict[str, Method] = {}


def register_method(name: str, fn: Callable[[GroundTruth, int, float], SearchOutcome],
                    description: str = "") -> Method:
    """Add (or replace, so that a notebook cell can run again) the method `name` in `METHODS`."""
    if not name or not callable(fn):
        raise ValueError(f"register_method needs a name and a function, got {name!r} and {fn!r}")
    METHODS[name] = Method(name, fn, description)
    return METHODS[name]


def run_methods(table: GroundTruth, names: Sequence[str], seeds: Sequence[int],
                budget_seconds: float) -> dict[str, list[SearchOutcome]]:
    """Each named method run once per seed under one budget: the input of `score_all`."""
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        raise KeyError(f"unknown method(s) {', '.join(unknown)}; registered: {', '.join(METHODS) or 'none'}")
    return {n: [METHODS[n].fn(table, seed, budget_seconds) for seed in seeds] for n in names}


@dataclass
class MethodScore:
    """A method's picks over its runs, each scored on the ground truth, and its ranking's tau."""

    method: str
    picks: list[str]            # the picked cells' keys (the table's representative of each class)
    accuracies: list[float]     # ground-truth mean accuracy of each pick
    top_percents: list[float]
    regrets: list[float]
    seconds: list[float]
    tau: float | None = None    # mean Kendall tau of the runs' per-cell scores; None: no scores
    fresh: list[float] | None = None  # each pick's mean accuracy on fresh training seeds; None: not retrained
    bad_tail: float = 0.0       # share of the picks in the table's bottom 10% (`fresh.BAD_TAIL`)

    @property
    def mean_accuracy(self) -> float:
        """Mean over runs of the picks' ground-truth accuracy."""
        return mean_std(self.accuracies)[0]

    @property
    def std_accuracy(self) -> float:
        """Sample standard deviation (ddof=1) over runs of the picks' accuracy; 0.0 for one run."""
        return mean_std(self.accuracies)[1]

    @property
    def mean_top_percent(self) -> float:
        """Mean over runs of the picks' top %."""
        return float(np.mean(self.top_percents))

    @property
    def mean_regret(self) -> float:
        """Mean over runs of the best cell's accuracy minus the pick's."""
        return float(np.mean(self.regrets))

    @property
    def mean_seconds(self) -> float:
        """Mean over runs of the search's wall-clock seconds."""
        return float(np.mean(self.seconds))

    def as_row(self) -> dict[str, str]:
        """The method as one row of a results table, numbers formatted ("table acc" by the table's seeds)."""
        fresh = "n/a" if self.fresh is None else "{:.3f} ± {:.3f}".format(*mean_std(self.fresh))
        return {"method": self.method, "runs": str(len(self.picks)),
                "acc": f"{self.mean_accuracy:.3f} ± {self.std_accuracy:.3f}", "fresh acc": fresh,
                "bad tail": f"{self.bad_tail:.0%}",
                "top %": f"{self.mean_top_percent:.1f}", "regret": f"{self.mean_regret:.3f}",
                "seconds": f"{self.mean_seconds:.1f}", "tau": "n/a" if self.tau is None else f"{self.tau:.3f}"}


def score_method(table: GroundTruth, method: str, picks: Sequence, seconds: Sequence[float],
                 scores_per_run: Sequence[Sequence[float]] | None = None, fresh: dict | None = None) -> MethodScore:
    """Score one method's picks (genes or canonical strings, one per run) and its rankings on `table`.

    `fresh` is a fresh-seed record (`fresh.retrain_study`): {"cells": {canonical: [acc per seed]}}.
    """
    if not picks or len(picks) != len(seconds):
        raise ValueError(f"{method}: one pick and one time per run, got {len(picks)} picks and {len(seconds)} times")
    rows = [table.lookup(p) for p in picks]
    accuracies = [float(table.accuracy[r]) for r in rows]
    tau = None
    if scores_per_run:
        tau = float(np.mean([table.ranking_tau(s) for s in scores_per_run]))
    fresh_accs = None
    if fresh is not None:
        missing = [table.canonical[r] for r in rows if table.canonical[r] not in fresh["cells"]]
        if missing:
            raise KeyError(f"{method}: picks {missing} have no fresh-seed accuracies; retrain them first")
        fresh_accs = [float(np.mean(fresh["cells"][table.canonical[r]])) for r in rows]
    bottom = float(np.mean([table.percentile(a) < BAD_TAIL for a in accuracies]))
    return MethodScore(method=method, picks=[table.cells[r] for r in rows], accuracies=accuracies,
                       top_percents=[table.top_percent(a) for a in accuracies],
                       regrets=[table.regret(a) for a in accuracies], seconds=[float(s) for s in seconds], tau=tau,
                       fresh=fresh_accs, bad_tail=bottom)


def score_all(table: GroundTruth, outcomes: dict[str, list[SearchOutcome]]) -> list[MethodScore]:
    """Every method's runs scored on `table`, in the order given; tau over the runs that ranked every cell."""
    return [score_method(table, name, [o.pick for o in runs], [o.seconds for o in runs],
                         [o.scores for o in runs if o.scores is not None] or None)
            for name, runs in outcomes.items()]
