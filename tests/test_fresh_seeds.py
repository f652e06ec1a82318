"""Picks judged on fresh training seeds: the median cells, the bad tail, the verdicts, on tables written by hand."""
import pytest

from darts_lite.ground_truth import GroundTruth, canonical, cell_string, score_method
from darts_lite.ground_truth.fresh import (
    fresh_verdicts, in_bad_tail, median_cells, retrain,
)
from darts_lite.ground_truth.space import unique_cells

GENES = unique_cells()[:10]


def hand_table() -> GroundTruth:
    # table accuracies 0.90, 0.91, ..., 0.99 (two seeds each, equal): cell 0 is the worst
    accs = [[0.90 + i / 100] * 2 for i in range(10)]
    return GroundTruth(cells=[cell_string(g) for g in GENES], canonical=[canonical(g) for g in GENES],
                       skips=[0] * 10, params=[1] * 10, macs=[1] * 10, accuracies=accs, seeds=[0, 1])


def test_median_cells_are_those_closest_to_the_median():
    table = hand_table()  # median 0.945: the closest are 0.94 and 0.95, then 0.93 and 0.96
    assert median_cells(table, k=4) == [table.canonical[i] for i in (3, 4, 5, 6)]


def test_the_bad_tail_is_the_tables_bottom_ten_percent():
    table = hand_table()
    assert in_bad_tail(table, 0.90) and not in_bad_tail(table, 0.91)  # 0 of 10 below, then 1 of 10


def test_fresh_seeds_must_not_be_the_tables():
    with pytest.raises(ValueError, match="trained the table itself"):
        retrain(hand_table(), [GENES[0]], seeds=(1, 7))


def record_of(picks_by_method: dict) -> dict:
    return {"methods": {name: {"runs": [{"pick": [list(p) for p in GENES[i]], "seconds": 1.0} for i in picks],
                               "null_runs": []} for name, picks in picks_by_method.items()}}


def fresh_of(table, by_index: dict) -> dict:
    return {"seeds": [7, 8, 9], "cells": {table.canonical[i]: accs for i, accs in by_index.items()},
            "median_cells": [table.canonical[i] for i in (4, 5)]}


def test_score_method_reports_the_fresh_accuracy_and_the_bad_tail():
    table = hand_table()
    fresh = fresh_of(table, {9: [0.93, 0.95, 0.94], 0: [0.80, 0.82, 0.81]})
    s = score_method(table, "m", [GENES[9], GENES[0]], [1.0, 1.0], fresh=fresh)
    assert s.fresh == pytest.approx([0.94, 0.81]) and s.bad_tail == 0.5
    assert s.as_row()["fresh acc"].startswith("0.875") and s.as_row()["bad tail"] == "50%"
    with pytest.raises(KeyError, match="no fresh-seed accuracies"):
        score_method(table, "m", [GENES[3]], [1.0], fresh=fresh)


def test_fresh_verdicts_compare_with_random_search_and_the_median_cells():
    table = hand_table()
    fresh = fresh_of(table, {9: [0.95] * 3, 8: [0.96] * 3, 7: [0.95] * 3, 4: [0.95] * 3, 5: [0.94] * 3,
                             0: [0.80] * 3, 1: [0.81] * 3, 2: [0.79] * 3})
    record = record_of({"top": [9, 8, 7], "collapsed": [0, 1, 2], "random_search": [4, 5, 8]})
    rows = {r["method"]: r for r in fresh_verdicts(table, record, fresh)}
    assert rows["top"]["table_mean"] == pytest.approx(0.98) and rows["top"]["fresh_mean"] == pytest.approx(0.9533, 1e-3)
    assert rows["top"]["vs_median"]["word"] == "ties"    # the table's best three are median cells on fresh seeds
    assert rows["collapsed"]["vs_median"]["word"] == "loses to" and rows["collapsed"]["bad_tail"] == pytest.approx(1 / 3)
    assert rows["collapsed"]["vs_baseline"]["word"] == "loses to" and rows["random_search"]["vs_baseline"] is None


def test_the_committed_fresh_record_covers_every_pick_of_the_studies():
    from darts_lite.ground_truth import FIVE_SEED_STUDY, FRESH_SEEDS, default_fresh, default_table, load_study
    from darts_lite.ground_truth.fresh import study_picks
    fresh, table = default_fresh(), default_table()
    assert fresh["seeds"] == list(FRESH_SEEDS) and not set(FRESH_SEEDS) & set(table.seeds)
    studies = [load_study(), load_study(default=FIVE_SEED_STUDY)]
    keys = {table.canonical[table.lookup(p)] for s in studies for p in study_picks(s)} | set(fresh["median_cells"])
    assert keys <= set(fresh["cells"]), "retrain the new picks: python -m darts_lite score --fresh"
    assert fresh["median_cells"] == median_cells(table)
    assert all(len(a) == len(FRESH_SEEDS) and all(0 < x <= 1 for x in a) for a in fresh["cells"].values())
