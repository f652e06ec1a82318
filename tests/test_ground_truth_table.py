"""Tests for darts_lite.ground_truth.table and .scoring on small CSVs written by hand, values worked out by hand."""
import csv
import json
import math

import numpy as np
import pytest

from darts_lite.ground_truth import scoring, table
from darts_lite.ground_truth.scoring import MethodScore, SearchOutcome, register_method, score_all, score_method
from darts_lite.ground_truth.space import SMALL_PRIMITIVES, canonical, cell_string, unique_cells
from darts_lite.ground_truth.table import GroundTruth, TableError

GENES = unique_cells()[:5]  # GENES[0] is the all-skip_connect cell
# (seed 0, seed 1) per row; means 0.55, 0.85, 0.70, 0.90, 0.65: ranked r3 > r1 > r2 > r4 > r0
ACCS = [(0.50, 0.60), (0.80, 0.90), (0.70, 0.70), (0.95, 0.85), (0.64, 0.66)]
MEANS = [0.55, 0.85, 0.70, 0.90, 0.65]


def row(i, gene, accs):
    out = {"index": i, "cell": cell_string(gene), "canonical": canonical(gene),
           "skips": sum(op == "skip_connect" for op, _ in gene), "params": 100 + i, "macs": 1000 + i}
    out.update({f"acc_seed{s}": a for s, a in enumerate(accs)})
    return out


def write(path, rows, drop=(), provenance=None):
    columns = [c for c in rows[0] if c not in drop]
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    if provenance is not None:
        path.with_suffix(".json").write_text(json.dumps(provenance))
    return path


@pytest.fixture
def gt(tmp_path):
    rows = [row(i, g, a) for i, (g, a) in enumerate(zip(GENES, ACCS))]
    provenance = {"space": {"primitives": list(SMALL_PRIMITIVES)}, "seeds": [0, 1]}
    return GroundTruth.load(write(tmp_path / "gt.csv", rows, provenance=provenance))


def small(tmp_path, accs):
    return GroundTruth.load(write(tmp_path / "small.csv", [row(i, g, a) for i, (g, a) in enumerate(zip(GENES, accs))]))


def test_load_reads_rows_seeds_and_provenance(gt, tmp_path):
    assert len(gt) == 5 and gt.seeds == [0, 1]
    assert gt.cells == [cell_string(g) for g in GENES] and gt.canonical == [canonical(g) for g in GENES]
    assert gt.accuracies.shape == (5, 2) and np.allclose(gt.accuracy, MEANS)
    assert gt.skips.tolist() == [4, 3, 3, 3, 2] and gt.params.tolist() == [100, 101, 102, 103, 104]
    assert gt.provenance["seeds"] == [0, 1]
    assert small(tmp_path, ACCS).provenance == {}  # no JSON beside it


def test_load_errors_name_the_file_and_the_problem(tmp_path):
    rows = [row(i, g, a) for i, (g, a) in enumerate(zip(GENES, ACCS))]
    with pytest.raises(FileNotFoundError, match="nope.csv: no such file"):
        GroundTruth.load(tmp_path / "nope.csv")
    with pytest.raises(TableError, match=r"big\.csv is not a ground-truth table file: .* over the 20,971,520-byte"):
        with (tmp_path / "big.csv").open("wb") as f:
            f.truncate(table.MAX_BYTES + 1)  # sparse: nothing is written, and load must not read it
        GroundTruth.load(tmp_path / "big.csv")
    with pytest.raises(TableError, match=r"cols.csv: missing column\(s\) skips, macs; expected index, cell"):
        GroundTruth.load(write(tmp_path / "cols.csv", rows, drop=("skips", "macs")))
    with pytest.raises(TableError, match="one.csv: 1 acc_seed<N> column.*at least 2"):
        GroundTruth.load(write(tmp_path / "one.csv", rows, drop=("acc_seed1",)))
    bad = [dict(r) for r in rows]
    bad[2]["params"] = "abc"
    with pytest.raises(TableError, match="nan.csv, line 4, column params: 'abc' is not a finite number"):
        GroundTruth.load(write(tmp_path / "nan.csv", bad))
    bad[2]["params"], bad[3]["acc_seed1"] = 102, "nan"
    with pytest.raises(TableError, match="nan2.csv, line 5, column acc_seed1"):
        GroundTruth.load(write(tmp_path / "nan2.csv", bad))
    twin = (("skip_connect", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 1))  # row 1, nodes swapped
    dup = rows + [row(5, twin, (0.1, 0.2))]
    with pytest.raises(TableError, match="dup.csv, line 7: canonical class .* already on line 3"):
        GroundTruth.load(write(tmp_path / "dup.csv", dup))
    wrong = [dict(r) for r in rows]
    wrong[0]["canonical"] = rows[1]["canonical"]
    with pytest.raises(TableError, match="wrong.csv, line 2: canonical .* is not space.canonical of cell"):
        GroundTruth.load(write(tmp_path / "wrong.csv", wrong))


def test_lookup_by_gene_canonical_and_cell_string(gt):
    assert [gt.lookup(g) for g in GENES] == [0, 1, 2, 3, 4]
    assert gt.lookup(canonical(GENES[3])) == 3 and gt.lookup(cell_string(GENES[2])) == 2
    twin = (("skip_connect", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 1))
    assert gt.lookup(twin) == 1  # another member of row 1's isomorphism class
    assert gt.lookup([["skip_connect", 0], ["sep_conv_3x3", 1], ["skip_connect", 0], ["skip_connect", 1]]) == 1
    with pytest.raises(KeyError, match="not in this table of 5 cells.*skip_connect, sep_conv_3x3, max_pool_3x3"):
        gt.lookup((("max_pool_3x3", 0), ("max_pool_3x3", 1)) * 2)
    with pytest.raises(KeyError, match="not in this table"):
        gt.lookup("[conv(c_{k-2})]")


def test_top_percent_percentile_and_regret(gt):
    assert gt.top_percent(0.90) == pytest.approx(20.0)  # the best of 5 cells: top 100/5 %
    assert gt.top_percent(0.85) == pytest.approx(40.0)
    assert gt.top_percent(0.55) == pytest.approx(100.0) and gt.top_percent(0.95) == 0.0
    assert gt.percentile(0.90) == pytest.approx(80.0) and gt.percentile(0.70) == pytest.approx(40.0)
    assert gt.percentile(0.55) == 0.0
    assert gt.regret(0.70) == pytest.approx(0.20) and gt.regret(0.90) == pytest.approx(0.0)


def test_noise_ceiling_against_hand_computed_ranks(gt, tmp_path):
    # seed ranks r0..r4: (1, 4, 3, 5, 2) and (1, 5, 3, 4, 2): one discordant pair of 10, sum d^2 = 2
    ceiling = gt.noise_ceiling()
    assert ceiling["kendall_tau"] == pytest.approx((9 - 1) / 10)
    assert ceiling["spearman_rho"] == pytest.approx(1 - 6 * 2 / (5 * (25 - 1)))
    assert ceiling["mean_abs_seed_diff"] == pytest.approx((0.1 + 0.1 + 0 + 0.1 + 0.02) / 5)
    agree = small(tmp_path, [(0.1, 0.2), (0.5, 0.6), (0.9, 0.95)]).noise_ceiling()
    assert agree["kendall_tau"] == pytest.approx(1.0) and agree["spearman_rho"] == pytest.approx(1.0)
    reverse = small(tmp_path, [(0.1, 0.9), (0.5, 0.6), (0.9, 0.2)]).noise_ceiling()
    assert reverse["kendall_tau"] == pytest.approx(-1.0) and reverse["spearman_rho"] == pytest.approx(-1.0)


def test_spread_finds_the_all_skip_cell(gt):
    spread = gt.spread()
    assert (spread["best"], spread["median"], spread["worst"]) == pytest.approx((0.90, 0.70, 0.55))
    assert len(spread["all_skip"]) == 1
    skip = spread["all_skip"][0]
    assert skip["cell"] == cell_string(GENES[0]) and set(skip["cell"].split("|")) <= {"", "+", "skip_connect~0",
                                                                                      "skip_connect~1"}
    assert skip["accuracy"] == pytest.approx(0.55) and skip["top_percent"] == pytest.approx(100.0)


def test_ranking_tau(gt):
    assert gt.ranking_tau(MEANS) == pytest.approx(1.0)
    assert gt.ranking_tau([-m for m in MEANS]) == pytest.approx(-1.0)
    # scores 1..5 against means ranked (1, 4, 3, 5, 2): 6 concordant, 4 discordant pairs
    assert gt.ranking_tau([1, 2, 3, 4, 5]) == pytest.approx((6 - 4) / 10)
    with pytest.raises(ValueError, match="one score per cell"):
        gt.ranking_tau([1, 2, 3])


def np_argmin(values):
    return min(range(len(values)), key=lambda i: values[i])


def test_score_method_on_hand_values(gt):
    s = score_method(gt, "toy", [GENES[3], canonical(GENES[1])], [10.0, 20.0],
                     scores_per_run=[MEANS, [1, 2, 3, 4, 5]])
    assert s.picks == [cell_string(GENES[3]), cell_string(GENES[1])]
    assert s.accuracies == pytest.approx([0.90, 0.85])
    assert s.mean_accuracy == pytest.approx(0.875) and s.std_accuracy == pytest.approx(0.05 / math.sqrt(2))
    assert s.top_percents == pytest.approx([20.0, 40.0]) and s.mean_top_percent == pytest.approx(30.0)
    assert s.regrets == pytest.approx([0.0, 0.05]) and s.mean_regret == pytest.approx(0.025)
    assert s.mean_seconds == pytest.approx(15.0) and s.tau == pytest.approx((1.0 + 0.2) / 2)
    assert s.as_row() == {"method": "toy", "runs": "2", "acc": "0.875 ± 0.035", "fresh acc": "n/a", "bad tail": "0%",
                          "top %": "30.0", "regret": "0.025", "seconds": "15.0", "tau": "0.600"}
    worst = score_method(gt, "worst", [GENES[int(np_argmin(MEANS))]], [1.0])
    assert worst.bad_tail == 1.0 and s.bad_tail == 0.0  # the worst of 5 cells is the bottom 10% (percentile 0)
    one = score_method(gt, "one", [GENES[0]], [1.0])
    assert one.std_accuracy == 0.0 and one.tau is None and one.as_row()["tau"] == "n/a"
    with pytest.raises(ValueError, match="one pick and one time per run"):
        score_method(gt, "bad", [GENES[0]], [1.0, 2.0])


def test_registry_runs_and_scores_every_method(gt, monkeypatch):
    monkeypatch.setattr(scoring, "METHODS", {})

    def best(table, seed, budget_seconds):
        return SearchOutcome(pick=table.canonical[int(np.argmax(table.accuracy))], seconds=budget_seconds,
                             scores=list(table.accuracy))

    def first(table, seed, budget_seconds):
        return SearchOutcome(pick=GENES[seed], seconds=1.0)

    assert register_method("best", best, "the oracle").description == "the oracle"
    register_method("first", first)
    outcomes = scoring.run_methods(gt, ["best", "first"], seeds=[0, 2], budget_seconds=5.0)
    scores = score_all(gt, outcomes)
    assert [s.method for s in scores] == ["best", "first"] and all(isinstance(s, MethodScore) for s in scores)
    assert scores[0].mean_regret == pytest.approx(0.0) and scores[0].tau == pytest.approx(1.0)
    assert scores[1].accuracies == pytest.approx([0.55, 0.70]) and scores[1].tau is None
    with pytest.raises(KeyError, match="unknown method.*nope; registered: best, first"):
        scoring.run_methods(gt, ["nope"], seeds=[0], budget_seconds=1.0)


def _record(picks: dict[str, list[str]], health: bool = True) -> dict:
    details = {"epochs": 3, "health": {"healthy": True, "val_acc_drop": 0.01}} if health else {}
    return {"methods": {name: {"runs": [{"seed": s, "pick": p, "details": dict(details)} for s, p in enumerate(cells)],
                               "null_runs": []} for name, cells in picks.items()}}


def test_method_report_reads_the_targets_off_the_committed_table():
    from darts_lite.ground_truth.study import default_table, method_report
    t = default_table()
    order = np.argsort(-t.accuracy)
    best, worst, middle = t.cells[order[0]], t.cells[order[-1]], t.cells[order[len(t) // 2]]
    skip = next(c for i, c in enumerate(t.cells) if t.skips[i] == t.skips.max())
    report = method_report(t, _record({"mine": [best, skip], "random_search": [middle, middle]}), "mine")
    assert report["top_percent_each"] == [t.top_percent(t.accuracy[order[0]]),
                                          t.top_percent(t.accuracy[t.lookup(skip)])]
    assert report["top_percent"] == pytest.approx(np.mean(report["top_percent_each"]))
    assert report["all_skip_picks"] == 1 and report["below_median_picks"] == 1
    assert report["baseline_mean_accuracy"] == pytest.approx(t.accuracy[order[len(t) // 2]])
    assert method_report(t, _record({"mine": [best], "random_search": [worst]}), "mine")["below_median_picks"] == 0
    with pytest.raises(KeyError, match="no runs of 'other'"):
        method_report(t, _record({"mine": [best]}), "other")


def test_collapse_rows_count_skips_all_skip_picks_and_health_per_supernet_method():
    from darts_lite.ground_truth import viz
    from darts_lite.ground_truth.study import collapse_rows, default_table
    t = default_table()
    skip = [c for i, c in enumerate(t.cells) if t.skips[i] == t.skips.max()]
    none = next(c for i, c in enumerate(t.cells) if t.skips[i] == 0)
    record = _record({"darts_decisive": [skip[0], none]})
    record["methods"]["naswot"] = {"runs": [{"seed": 0, "pick": none, "details": {}}], "null_runs": []}
    (row,) = collapse_rows(t, record)  # naswot trains no supernet: no row
    assert row["method"] == "darts_decisive" and row["skips in the picks"] == f"{int(t.skips.max())} 0"
    assert row["all-skip picks"] == 1 and row["healthy"] == "2 of 2" and row["val acc drop"] == "0.010"
    fig = viz.plot_skips(t, {row["method"]: row["picks"]})
    assert len(fig.axes[0].collections) == 2  # the space and one method's picks
