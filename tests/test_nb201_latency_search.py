"""The latency-aware DARTS search in NAS-Bench-201's space: L = CE + beta * LAT(alpha) (nb201_search)."""
import copy

import pytest
import torch

from darts_lite.core.lut import LookupTable
from darts_lite.darts import SearchConfig
from darts_lite.darts.search import make_optimizers, search_step
from darts_lite.ground_truth.nasbench201 import NB201_OPS, arch_ops, arch_string
from darts_lite.ground_truth.nb201_search import EDGES, NB201SearchNetwork, search_nb201

SLOW = "nor_conv_3x3"
SLOW_MS = [1.0 if op != SLOW else 50.0 for op in NB201_OPS]  # one operation far slower than the rest


def table(rows=None, choices=NB201_OPS, resource="latency_ms", device="toy") -> LookupTable:
    rows = [SLOW_MS] * len(EDGES) if rows is None else rows
    return LookupTable(device, choices, {resource: rows}, {resource: 2.0})


def config(**kw) -> SearchConfig:
    return SearchConfig(**{"name": "nb201_lat", "dataset": "digits", "channels": 4, "batch_size": 32, "epochs": 1,
                           "seed": 0, "device": "cpu", **kw})


def test_a_large_beta_lowers_the_slow_operation_on_every_edge(small_digits, tmp_path):
    cfg = config(arch_lr=0.03)  # 4 Adam steps of up to 0.03 each: visible moves of alpha
    plain = search_nb201(cfg, small_digits, cells_per_stage=1, run_dir=tmp_path / "a", progress=False)
    aware = search_nb201(cfg, small_digits, cells_per_stage=1, run_dir=tmp_path / "b", progress=False,
                         latency=table(), beta=1.0)
    slow = NB201_OPS.index(SLOW)
    for edge, (p, a) in enumerate(zip(plain["alphas"], aware["alphas"])):
        assert a[slow] < p[slow] - 5e-3, f"edge {edge}: softmax weight of {SLOW} {a[slow]} vs {p[slow]} at beta 0"
    assert aware["expected_latency_ms"] < table().expected(torch.zeros(6, 5))["latency_ms"].item()


def hand_gradient(alphas: torch.Tensor, lut: torch.Tensor, beta: float) -> torch.Tensor:
    """d/dalpha of beta * sum_e sum_o softmax(alpha_e)_o LUT[e, o]: beta * p * (LUT - E) row by row."""
    e = alphas.exp()
    p = e / e.sum(dim=1, keepdim=True)
    return beta * p * (lut - (p * lut).sum(dim=1, keepdim=True))


def test_the_penalty_gradient_is_beta_softmax_times_the_lut_minus_its_expectation():
    torch.manual_seed(0)
    lut_rows = torch.rand(6, 5).mul(10).tolist()
    lut, beta = table(lut_rows), 0.7
    alphas = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    rows = lut.tensor("latency_ms").double()
    expected = hand_gradient(alphas.detach(), rows, beta)
    (auto,) = torch.autograd.grad(beta * lut.expected(alphas)["latency_ms"], alphas)
    assert torch.allclose(auto, expected, atol=1e-12)
    h, fd = 1e-6, torch.zeros_like(expected)
    with torch.no_grad():
        for e in range(6):
            for o in range(5):
                up, down = alphas.clone(), alphas.clone()
                up[e, o] += h
                down[e, o] -= h
                fd[e, o] = beta * (lut.expected(up)["latency_ms"] - lut.expected(down)["latency_ms"]) / (2 * h)
    assert torch.allclose(fd, expected, atol=1e-7)
    assert torch.allclose(expected.sum(dim=1), torch.zeros(6, dtype=torch.float64), atol=1e-12)  # softmax shift

    # ... and search_step adds exactly that to the hypergradient of CE (same model, same batches).
    net = NB201SearchNetwork(C=4, cells_per_stage=1, num_classes=3, in_channels=1)
    X, y = torch.randn(8, 1, 8, 8), torch.randint(0, 3, (8,))
    grads = []
    for penalty in (None, lambda m: beta * lut.expected(m.alphas)["latency_ms"]):
        model = copy.deepcopy(net)
        w_opt, alpha_opt, _ = make_optimizers(model, config())
        search_step(model, w_opt, alpha_opt, (X, y), (X, y),
                    alpha_penalty=None if penalty is None else lambda: penalty(model))
        grads.append(model.alphas.grad.double())
    added = hand_gradient(net.alphas.detach().double(), rows, beta)
    assert torch.allclose(grads[1] - grads[0], added, atol=1e-5)


@pytest.mark.parametrize("latency, beta, message", [
    (table(choices=NB201_OPS[::-1]), 1.0, "choices must be NB201_OPS in that order"),
    (table([SLOW_MS] * 5), 1.0, "one slot per edge of the cell"),
    (table(resource="latency_us"), 1.0, "no 'latency_ms' resource"),
    (table(), -1.0, "must be a finite number >= 0"),
    (None, 1.0, "no latency table was given"),
])
def test_a_table_that_does_not_fit_the_cell_is_refused(small_digits, tmp_path, latency, beta, message):
    with pytest.raises(ValueError, match=message):
        search_nb201(config(), small_digits, cells_per_stage=1, run_dir=tmp_path, progress=False,
                     latency=latency, beta=beta)
    assert not tmp_path.joinpath("nb201_search_checkpoint.pt").exists()  # refused before any work


def test_the_latency_aware_search_runs_and_reports_its_picks_latency(small_digits, tmp_path):
    lut = table(torch.rand(6, 5, generator=torch.Generator().manual_seed(1)).mul(5).tolist())
    cfg = config(epochs=2)
    out = search_nb201(cfg, small_digits, cells_per_stage=1, run_dir=tmp_path, progress=False, latency=lut, beta=0.1)
    assert arch_string(arch_ops(out["arch"])) == out["arch"] and len(arch_ops(out["arch"])) == 6
    assert set(arch_ops(out["arch"])) <= set(NB201_OPS)
    assert out["latency_ms"] == lut.predict(arch_ops(out["arch"]))["latency_ms"]
    assert [row["epoch"] for row in out["history"]] == [1, 2]
    assert out["history"][-1]["lat_ms"] == pytest.approx(out["expected_latency_ms"])
    alphas = torch.tensor(out["alphas"]).log()  # softmax of log(softmax(alpha)) is softmax(alpha)
    assert out["expected_latency_ms"] == pytest.approx(lut.expected(alphas)["latency_ms"].item(), rel=1e-5)

    resumed = search_nb201(cfg, small_digits, cells_per_stage=1, run_dir=tmp_path, resume=True, progress=False,
                           latency=lut, beta=0.1)
    assert resumed["alphas"] == out["alphas"] and resumed["history"] == out["history"]
    for latency, beta in ((lut, 0.2), (LookupTable("other", NB201_OPS, lut.costs), 0.1), (None, 0.0)):
        with pytest.raises(ValueError, match="cannot resume"):
            search_nb201(cfg, small_digits, cells_per_stage=1, run_dir=tmp_path, resume=True, progress=False,
                         latency=latency, beta=beta)
