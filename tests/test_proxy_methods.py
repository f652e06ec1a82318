"""The zero-cost proxies on the ground truth (ground_truth.proxy_methods, proxy_study): one adapter builds the
table's cells and scores them, the parameter count keeps its old rule, the proxy's top cells are trained
best first, and the report's numbers against scipy on tables written by hand; the committed report agrees
with the committed study."""
import numpy as np
import pytest
from scipy import stats as sps

from darts_lite.ground_truth import METHODS, GroundTruth, build_table, default_table, load_study
from darts_lite.ground_truth.build import BenchConfig, build_networks
from darts_lite.ground_truth.methods import bench_of
from darts_lite.ground_truth.proxy_methods import TOP_K, proxy_batch, proxy_top_k, ranked
from darts_lite.ground_truth.proxy_study import (PUBLISHED_SPEARMAN, load_proxy_scores, score_proxies,
                                                 spearman_difference, top_k_versus_random)
from darts_lite.ground_truth.space import canonical, cell_string, unique_cells
from darts_lite.proxies import PROXIES, naswot_score

TINY = dict(image_size=8, layers=3, channels=4, epochs=1, limit=4, cells_per_step=2, workers=1, seeds=(0, 1))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return GroundTruth.load(build_table(BenchConfig(**TINY), tmp_path_factory.mktemp("gt") / "t.csv", progress=False))


def test_every_proxy_is_a_method_and_the_top_k_searches_too():
    assert set(PROXIES) | {f"{n}_top_k" for n in TOP_K} <= set(METHODS)
    assert {"naswot", "params"} <= set(PROXIES)  # the committed study's names keep their meaning


def test_a_proxy_method_scores_each_cell_built_alone_on_the_seeds_batch(tiny):
    bench, data = bench_of(tiny)
    X, _ = proxy_batch(data, 1)
    nets = build_networks(bench, tiny.index.tolist(), 1, data)
    outcome = METHODS["naswot"].fn(tiny, 1, 1.0)
    assert outcome.scores == pytest.approx([naswot_score(n, X) for n in nets], abs=1e-9)
    assert outcome.pick == tiny.cells[int(np.argmax(outcome.scores))]
    # the counts agree with the table's own columns (written at build by core.cost)
    assert METHODS["params"].fn(tiny, 0, 1.0).scores == list(map(float, tiny.params))
    assert METHODS["flops"].fn(tiny, 0, 1.0).scores == list(map(float, 2 * tiny.macs))


def test_params_picks_as_before_the_most_parameters_ties_drawn_by_the_seed():
    table = default_table()
    for seed in range(5):
        old_rule = np.argmax(table.params + np.random.default_rng(seed).random(len(table)) * 1e-3)
        assert ranked(table.params, seed)[0] == old_rule
    assert len({ranked([1.0] * 50, s)[0] for s in range(5)}) > 1  # ties: the seed decides


def test_top_k_trains_the_best_scored_cells_first_until_the_budget_ends(tiny, monkeypatch):
    from darts_lite.ground_truth import methods
    trained = []

    def fake_train(config, indices, seed, data, train=None, test=None):
        trained.append(list(indices))
        return [0.5 + 0.1 * i for i in indices]  # the highest index trains best

    monkeypatch.setattr(methods, "train_cells", fake_train)  # the training loop random search shares
    search = proxy_top_k("params", cells_per_step=2)
    out = search(tiny, 0, 0.0)  # no budget left after scoring: one group, the two best-scored cells
    order = ranked(tiny.params, 0)
    assert trained == [tiny.index[order[:2]].tolist()] and out.details["candidates"] == 2
    assert out.pick == tiny.cells[max(order[:2], key=lambda r: tiny.index[r])]
    trained.clear()
    out = search(tiny, 0, 1e9)  # all of them, best-scored first
    assert trained == [tiny.index[order[:2]].tolist(), tiny.index[order[2:]].tolist()]
    assert out.pick == tiny.cells[int(np.argmax(tiny.index))] and out.scores == list(map(float, tiny.params))


def _hand_table(n=30, seed=0):
    rng = np.random.default_rng(seed)
    genes = unique_cells()[:n]
    acc = 0.9 + 0.05 * rng.random((n, 2))
    return GroundTruth(cells=[cell_string(g) for g in genes], canonical=[canonical(g) for g in genes],
                       skips=[0] * n, params=rng.integers(1, 5, n), macs=[1] * n, accuracies=acc, seeds=[0, 1])


def test_score_proxies_against_scipy_on_a_hand_made_study():
    table = _hand_table()
    rng = np.random.default_rng(1)
    acc = table.accuracy

    def runs(scores):
        return {"runs": [{"seed": s, "pick": table.cells[int(np.argmax(x))], "seconds": 1.0 + s,
                          "scores": list(map(float, x))} for s, x in enumerate(scores)]}

    noisy = [acc + 0.005 * rng.normal(size=len(acc)) for _ in range(3)]
    study = {"methods": {"naswot": runs(noisy), "params": runs([table.params] * 3), "flops": runs([-acc] * 3)}}
    report = score_proxies(table, seeds=(0, 1, 2), study=study, names=["naswot", "params", "flops"], resamples=200)
    r = report["proxies"]["naswot"]
    rhos = [sps.spearmanr(x, acc).statistic for x in noisy]
    assert r["spearman"] == pytest.approx(np.mean(rhos))
    assert r["seed_spearman_std"] == pytest.approx(np.std(rhos, ddof=1))
    assert r["kendall"] == pytest.approx(np.mean([sps.kendalltau(x, acc).statistic for x in noisy]))
    assert r["seed_kendall"] == pytest.approx(sps.kendalltau(noisy[0], noisy[1]).statistic)
    assert r["seconds"] == pytest.approx(2.0) and r["published_spearman"] == PUBLISHED_SPEARMAN["naswot"]
    best = int(np.argmax(noisy[0]))
    assert r["per_seed"][0]["top_percent"] == pytest.approx(100 * np.mean(acc >= acc[best] - 1e-9))
    p = report["proxies"]["params"]
    assert p["seed_kendall"] is None and p["seed_spearman_std"] is None  # a count depends on neither
    assert report["baseline"] == "params"  # flops ranks backwards here
    assert report["versus_baseline"]["naswot"]["word"] == "beats"
    assert report["noise_ceiling"] == table.noise_ceiling()


def test_spearman_difference_ties_itself_and_sees_a_reversal():
    table = _hand_table(40, 2)
    same = spearman_difference(table, [list(table.accuracy)], [list(table.accuracy)], resamples=100)
    assert same["diff"] == 0 and same["word"] == "ties"
    worse = spearman_difference(table, [list(-table.accuracy)], [list(table.accuracy)], resamples=100)
    assert worse["diff"] == pytest.approx(-2) and worse["word"] == "loses to"


def test_top_k_versus_random_by_two_standard_errors():
    table = _hand_table()
    best, worst = int(np.argmax(table.accuracy)), int(np.argmin(table.accuracy))
    study = {"methods": {"random_search": {"runs": [{"pick": table.cells[worst]}] * 3},
                         "x_top_k": {"runs": [{"pick": table.cells[best]}] * 3}}}
    (row,) = top_k_versus_random(table, study, ["x_top_k", "missing"])
    assert row["method"] == "x_top_k" and row["word"] == "beats" and row["n"] == 3


# --- what is committed ------------------------------------------------------------------------------

def test_the_committed_proxy_report_covers_every_proxy_and_agrees_with_the_study():
    table, study, report = default_table(), load_study(), load_proxy_scores()
    assert set(report["proxies"]) == set(PROXIES) and report["seeds"] == study["seeds"]
    assert report["date"] and report["code_version"]
    for name, r in report["proxies"].items():
        runs = {run["seed"]: run for run in study["methods"][name]["runs"]}
        assert [p["seed"] for p in r["per_seed"]] == sorted(runs)
        for p in r["per_seed"]:
            run = runs[p["seed"]]
            assert p["spearman"] == pytest.approx(sps.spearmanr(run["scores"], table.accuracy).statistic, abs=1e-9)
            assert p["kendall"] == pytest.approx(table.ranking_tau(run["scores"]), abs=1e-9)
        assert (r["seed_kendall"] is None) == (not PROXIES[name].depends_on)
