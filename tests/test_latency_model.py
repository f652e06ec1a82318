"""The additive latency model and the counted MACs/params: each checked against a computation written here."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn as nn
from scipy import stats as sps

from darts_lite.core.cost import count_macs, count_parameters
from darts_lite.core.lut import LookupTable
from darts_lite.core.stats import rank_scores
from darts_lite.ground_truth.cell_costs import nb201_count_table
from darts_lite.ground_truth.device_latency import DeviceLatency
from darts_lite.ground_truth.latency_model import (
    baseline_predictions, design, fit_additive, flops_rank_correlation, line_fit, lut_check, op_indices,
    summarise)
from darts_lite.ground_truth.nasbench201 import NB201_OPS, arch_ops, arch_string
from darts_lite.ground_truth.nb201_search import EDGES, ResidualReduce, nb201_op

SPACE = [arch_string(ops) for ops in itertools.product(NB201_OPS, repeat=6)]  # all 15,625 cells


@pytest.fixture(scope="module")
def additive():
    """True terms T[e, op] (T[e, none] = 0), an intercept, and every cell's latency summed by hand."""
    rng = np.random.default_rng(0)
    terms = np.concatenate([np.zeros((6, 1)), rng.uniform(0.1, 5.0, (6, 4))], axis=1)
    intercept = 3.7
    column = {op: i for i, op in enumerate(NB201_OPS)}
    latency = np.array([intercept + sum(terms[e, column[op]] for e, op in enumerate(arch_ops(a))) for a in SPACE])
    return terms, intercept, latency


def test_op_indices_are_the_columns_of_each_edge():
    arch = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"
    np.testing.assert_array_equal(op_indices([arch]), [[3, 0, 4, 1, 2, 0]])
    assert op_indices(SPACE).shape == (15_625, 6)


def test_design_has_an_intercept_and_one_feature_per_edge_not_none():
    ops = np.random.default_rng(1).integers(5, size=(40, 6))
    X = design(ops)
    assert X.shape == (40, 25)
    for row, cell in zip(X, ops):
        want = np.zeros(25)
        want[0] = 1.0
        for e, op in enumerate(cell):
            if op != 0:  # none is each edge's reference: no feature
                want[1 + 4 * e + (op - 1)] = 1.0
        np.testing.assert_array_equal(row, want)
        assert row.sum() == 1 + np.count_nonzero(cell)


def test_an_additive_table_is_recovered_from_100_cells(additive):
    terms, intercept, latency = additive
    ops = op_indices(SPACE)
    train = np.random.default_rng(2).choice(len(SPACE), size=100, replace=False)
    fit = fit_additive(ops[train], latency[train], ridge=0.0)
    assert fit.choices == NB201_OPS
    np.testing.assert_allclose(fit.costs["latency_ms"], terms, atol=1e-8)
    assert fit.fixed["latency_ms"] == pytest.approx(intercept, abs=1e-8)
    np.testing.assert_allclose(fit.predict_indices(ops, "latency_ms"), latency, atol=1e-8)
    assert fit.predict(arch_ops(SPACE[123]))["latency_ms"] == pytest.approx(latency[123], abs=1e-8)


def test_ridge_is_the_closed_form_with_the_intercept_unpenalised():
    rng = np.random.default_rng(3)
    ops = rng.integers(5, size=(60, 6))
    y = rng.uniform(1, 20, 60)  # not additive: the penalty matters
    X = design(ops)
    for lam in (0.5, 3.0):
        P = np.eye(25)
        P[0, 0] = 0.0
        coef = np.linalg.solve(X.T @ X + lam * P, X.T @ y)
        fit = fit_additive(ops, y, ridge=lam)
        assert fit.fixed["latency_ms"] == pytest.approx(coef[0], rel=1e-9)
        np.testing.assert_allclose(np.asarray(fit.costs["latency_ms"])[:, 1:], coef[1:].reshape(6, 4), rtol=1e-8,
                                   atol=1e-10)
        np.testing.assert_array_equal(np.asarray(fit.costs["latency_ms"])[:, 0], 0.0)
    # shifting every latency by c moves the intercept alone: it is not shrunk
    shifted = fit_additive(ops, y + 100.0, ridge=3.0)
    assert shifted.fixed["latency_ms"] == pytest.approx(fit.fixed["latency_ms"] + 100.0, rel=1e-9)
    np.testing.assert_allclose(shifted.costs["latency_ms"], fit.costs["latency_ms"], atol=1e-9)


def test_ten_cells_are_fitted_exactly_by_the_least_norm_solution():
    rng = np.random.default_rng(4)
    ops = rng.integers(5, size=(10, 6))
    y = rng.uniform(1, 20, 10)
    fit = fit_additive(ops, y)  # 10 equations, 25 unknowns
    np.testing.assert_allclose(fit.predict_indices(ops, "latency_ms"), y, atol=1e-8)
    coef = np.linalg.pinv(design(ops)) @ y
    assert fit.fixed["latency_ms"] == pytest.approx(coef[0], abs=1e-8)
    np.testing.assert_allclose(np.asarray(fit.costs["latency_ms"])[:, 1:], coef[1:].reshape(6, 4), atol=1e-8)


def test_fit_refuses_mismatched_inputs_and_a_negative_ridge():
    ops = np.zeros((5, 6), dtype=int)
    with pytest.raises(ValueError, match="5 cells and 4 latencies"):
        fit_additive(ops, np.ones(4))
    with pytest.raises(ValueError, match="ridge must be >= 0"):
        fit_additive(ops, np.ones(5), ridge=-1.0)


def hand_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given their mean rank."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    for v in np.unique(x):
        ranks[x == v] = ranks[x == v].mean()
    return ranks


def hand_kendall_b(p: np.ndarray, m: np.ndarray) -> float:
    concordant = discordant = tied_p = tied_m = 0
    for i, j in itertools.combinations(range(len(p)), 2):
        s = np.sign(p[i] - p[j]) * np.sign(m[i] - m[j])
        concordant += s > 0
        discordant += s < 0
        tied_p += p[i] == p[j] and m[i] != m[j]
        tied_m += m[i] == m[j] and p[i] != p[j]
    return (concordant - discordant) / np.sqrt((concordant + discordant + tied_p) * (concordant + discordant + tied_m))


def test_rank_scores_are_spearman_kendall_and_mape():
    rng = np.random.default_rng(5)
    measured = rng.integers(1, 8, 25).astype(float)  # ties on both sides
    predicted = measured + rng.integers(-3, 4, 25)
    predicted[predicted <= 0] = 0.5
    got = rank_scores(predicted, measured)
    assert got["spearman"] == pytest.approx(np.corrcoef(hand_ranks(predicted), hand_ranks(measured))[0, 1], abs=1e-12)
    assert got["spearman"] == pytest.approx(sps.spearmanr(predicted, measured).statistic, abs=1e-12)
    assert got["kendall"] == pytest.approx(hand_kendall_b(predicted, measured), abs=1e-12)
    mape = 100 * sum(abs(p - m) / m for p, m in zip(predicted, measured)) / len(measured)
    assert got["mape"] == pytest.approx(mape, rel=1e-12)
    flat = rank_scores(np.full(5, 2.0), np.arange(1.0, 6.0))
    assert np.isnan(flat["spearman"]) and np.isnan(flat["kendall"])
    assert flat["mape"] == pytest.approx(100 * np.mean([1, 0, 1 / 3, 2 / 4, 3 / 5]))


def test_baselines_are_least_squares_lines_fitted_on_the_training_cells():
    rng = np.random.default_rng(6)
    counts = LookupTable("counted", NB201_OPS, {"macs": rng.integers(0, 1000, (6, 5)).tolist(),
                                                "params": rng.integers(0, 50, (6, 5)).tolist()},
                         {"macs": 500.0, "params": 10.0})
    ops = rng.integers(5, size=(200, 6))
    latency = rng.uniform(1, 30, 200)
    train = rng.choice(200, size=30, replace=False)
    got = baseline_predictions(counts, ops, train, latency)
    for name, resource in (("flops", "macs"), ("params", "params")):
        count = np.array([counts.predict([NB201_OPS[i] for i in row])[resource] for row in ops])
        slope, intercept = np.polyfit(count[train], latency[train], 1)
        np.testing.assert_allclose(got[name], intercept + slope * count, rtol=1e-9)
    assert line_fit(np.full(4, 7.0), [1.0, 2.0, 3.0, 6.0]) == (3.0, 0.0)  # a count that does not vary: the mean


def test_flops_rank_correlation_per_device():
    cells = SPACE[::997]  # 16 cells
    counts = nb201_count_table(C=4, cells_per_stage=1, resolution=8)
    macs = np.array([counts.predict(arch_ops(a))["macs"] for a in cells])
    noisy = np.random.default_rng(7).uniform(1, 10, len(cells))
    latency = DeviceLatency(cells, ("fast_when_small", "random"), np.stack([1.0 + macs, noisy], axis=1))
    got = flops_rank_correlation(latency, counts)
    assert set(got) == {"fast_when_small", "random"}
    assert got["fast_when_small"] == pytest.approx(1.0)
    assert got["random"] == pytest.approx(np.corrcoef(hand_ranks(macs), hand_ranks(noisy))[0, 1], abs=1e-12)


def test_lut_check_on_an_additive_device_is_exact_and_summarise_means_over_seeds(additive):
    _, _, latency = additive
    rows_used = np.random.default_rng(8).choice(len(SPACE), size=300, replace=False)
    device = DeviceLatency([SPACE[i] for i in rows_used], ("toy",), latency[rows_used, None])
    counts = nb201_count_table(C=4, cells_per_stage=1, resolution=8)
    rows = lut_check(device, counts, sample_sizes=(100,), seeds=range(3), progress=False)
    assert len(rows) == 3 * 3 and {r["model"] for r in rows} == {"additive", "flops", "params"}
    for r in rows:
        if r["model"] == "additive":
            assert r["spearman"] == pytest.approx(1.0) and r["mape"] < 1e-6
    summary = summarise(rows)
    assert len(summary) == 3 and all(s["seeds"] == 3 for s in summary)
    for s in summary:
        same = [r for r in rows if r["model"] == s["model"]]
        assert s["mape"] == pytest.approx(np.mean([r["mape"] for r in same]))


# --- cell_costs: the LUT of MACs/params against a whole discrete network built here -------------------------

class Cell(nn.Module):
    """A discrete NAS-Bench-201 cell holding only its chosen operations (no module for `none`)."""

    def __init__(self, ops, C):
        super().__init__()
        self.kept = [(e, j, i) for e, ((j, i), op) in enumerate(zip(EDGES, ops)) if op != "none"]
        self.ops = nn.ModuleDict({str(e): nb201_op(ops[e], C, affine=True) for e, _, _ in self.kept})

    def forward(self, x):
        nodes = [x]
        for j in range(1, 4):
            inputs = [self.ops[str(e)](nodes[i]) for e, jj, i in self.kept if jj == j]
            nodes.append(sum(inputs) if inputs else torch.zeros_like(x))
        return nodes[3]


def network(ops, C, N, num_classes=10):
    layers = [nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C)]
    for stage in range(3):
        width = C * 2 ** stage
        if stage:
            layers.append(ResidualReduce(width // 2, width))
        layers.extend(Cell(ops, width) for _ in range(N))
    layers += [nn.BatchNorm2d(4 * C), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * C, num_classes)]
    return nn.Sequential(*layers)


CELLS = ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
         "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
         "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|",
         "|avg_pool_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|"]


@pytest.mark.parametrize("C, N", [(4, 1), (4, 2), (6, 1)])
def test_count_table_equals_the_counts_of_the_whole_network(C, N):
    table = nb201_count_table(C=C, cells_per_stage=N, resolution=8)
    for arch in CELLS:
        ops = arch_ops(arch)
        net = network(ops, C, N)
        assert net(torch.zeros(1, 3, 8, 8)).shape == (1, 10)
        predicted = table.predict(ops)
        assert predicted["macs"] == count_macs(net, (1, 3, 8, 8)), arch
        assert predicted["params"] == count_parameters(net), arch
