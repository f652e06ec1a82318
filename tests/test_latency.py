"""Tests for meta_kernels.kernel_net and cost_table, core.cost and core.timing: cost tables, predictions, budgets."""
import pytest
import torch
import torch.nn as nn

from darts_lite.core import cost, timing
from darts_lite.meta_kernels import cost_table as latency
from darts_lite.meta_kernels.cost_table import CostTable, budget_penalty, derive_within_budget
from darts_lite.meta_kernels.kernel_net import KernelNet, KernelSearchNet

SHAPE = (2, 1, 12, 12)


@pytest.fixture(scope="module", params=[True, False], ids=["depthwise", "full"])
def supernet(request):
    torch.manual_seed(0)
    return KernelSearchNet(1, 3, widths=(4, 6), strides=(1, 2), kernel_sizes=(3, 5, 7), stem_channels=4, stem_kernel=5,
                           depthwise=request.param)


@pytest.fixture(scope="module")
def table(supernet):
    return latency.build_cost_table(supernet, SHAPE, "cpu", warmup=1, repeats=3, progress=False)


def test_merged_and_naive_supernets_agree(supernet):
    x = torch.randn(*SHAPE)
    supernet.eval()
    merged = supernet(x)
    supernet.merged = False
    naive = supernet(x)
    supernet.merged = True
    torch.testing.assert_close(merged, naive, rtol=1e-4, atol=1e-5)


def test_derived_network_has_the_chosen_kernels(supernet):
    with torch.no_grad():
        supernet.alphas.copy_(torch.tensor([[0.0, 0.0, 5.0], [5.0, 0.0, 0.0]]))
    net = supernet.derive()
    assert net.kernels == (7, 3)
    assert [layer[0].kernel_size for layer in net.layers] == [(7, 7), (3, 3)]
    assert net(torch.zeros(*SHAPE)).shape == (2, 3)


def test_table_params_and_macs_add_up_to_the_whole_network(supernet, table):
    for kernels in [(3, 3), (5, 7), (7, 3)]:
        net = supernet.derive(kernels)
        predicted = table.predict(kernels)
        assert predicted["params"] == cost.count_parameters(net)
        assert predicted["macs"] == cost.count_macs(net, SHAPE)


def test_macs_of_a_depthwise_convolution_match_the_formula():
    conv = nn.Conv2d(4, 4, 5, padding=2, groups=4, bias=False)
    assert cost.count_macs(conv, (1, 4, 8, 8)) == 4 * 8 * 8 * 5 * 5


def test_expected_cost_is_the_softmax_average_and_differentiable(table):
    alphas = torch.zeros(2, 3, requires_grad=True)
    e = table.expected(alphas)
    for r in ("params", "macs"):
        uniform = table.fixed[r] + sum(sum(row) / 3 for row in table.costs[r])
        assert e[r].item() == pytest.approx(uniform, rel=1e-5)
    e["latency_us"].backward()
    assert alphas.grad is not None and alphas.grad.abs().sum() > 0
    one_hot = torch.tensor([[0.0, 0.0, 50.0], [50.0, 0.0, 0.0]])
    assert table.expected(one_hot)["params"].item() == pytest.approx(table.predict((7, 3))["params"], rel=1e-5)


def test_larger_kernels_cost_more_macs_and_params(table):
    for r in ("macs", "params"):
        for row in table.costs[r]:
            assert row[0] < row[1] < row[2]
    assert all(v > 0 for row in table.costs["latency_us"] for v in row)


def test_table_round_trip_and_device_check(table, tmp_path):
    path = table.save(tmp_path / "t.json")
    again = CostTable.load(path, device="cpu")
    assert again.costs == table.costs and again.fixed == table.fixed and again.kernel_sizes == (3, 5, 7)
    again.device = "cuda:Some GPU"
    again.save(path)
    with pytest.raises(ValueError, match="do not transfer"):
        CostTable.load(path, device="cpu")


def test_a_table_for_another_input_shape_is_refused_naming_both(table, tmp_path):
    path = table.save(tmp_path / "t.json")
    assert CostTable.load(path, input_shape=SHAPE).input_shape == SHAPE
    other = (SHAPE[0], SHAPE[1], 2 * SHAPE[2], 2 * SHAPE[3])
    with pytest.raises(ValueError, match=r"shape \(2, 1, 12, 12\), not \(2, 1, 24, 24\)"):
        CostTable.load(path, input_shape=other)


def test_derived_architecture_meets_the_budget(table):
    favour_big = torch.tensor([[0.0, 0.0, 3.0], [0.0, 0.1, 3.0]])
    unconstrained = derive_within_budget(favour_big, table, {})
    assert unconstrained == (7, 7)
    budget = (table.predict((7, 7))["params"] + table.predict((3, 3))["params"]) / 2
    kernels = derive_within_budget(favour_big, table, {"params": budget})
    assert table.predict(kernels)["params"] <= budget
    assert kernels != (3, 3)  # traded down only as far as needed
    with pytest.raises(ValueError, match="unreachable"):
        derive_within_budget(favour_big, table, {"macs": 1.0})


def test_budget_penalty_is_zero_inside_and_grows_outside():
    e = {"macs": torch.tensor(80.0), "params": torch.tensor(150.0)}
    assert budget_penalty(e, {"macs": 100.0}).item() == 0.0
    assert budget_penalty(e, {"params": 100.0}).item() == pytest.approx(0.5)
    assert budget_penalty(e, {}).item() == 0.0


def test_measure_latency_sees_a_larger_workload():
    small, big = nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1)
    t_small = timing.measure_latency(small, (1, 8, 8, 8), warmup=2, repeats=15)
    t_big = timing.measure_latency(big, (32, 8, 64, 64), warmup=2, repeats=15)
    assert t_big > 4 * t_small  # 2048x the work; a loose bound that scheduling noise cannot break


def test_memory_estimate_counts_parameters_and_the_largest_activation_pair():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False))
    est = cost.memory_estimate(net, (1, 1, 8, 8))
    assert est == 4 * (36 + 64 + 4 * 64)


def test_validate_table_reports_rank_correlation_and_error(supernet, table):
    out = latency.validate_table(table, supernet, samples=4, warmup=1, repeats=3, progress=False)
    assert len(out["rows"]) == 4 and out["mape"] >= 0
    assert all(r["measured_us"] > 0 and r["predicted_us"] > 0 for r in out["rows"])


def test_kernel_net_spec_is_checked():
    with pytest.raises(ValueError, match="one kernel size per layer"):
        KernelNet(1, 2, (3,), widths=(4, 4), strides=(1, 1))
    with pytest.raises(ValueError, match="strides"):
        KernelNet(1, 2, (3, 3), widths=(4, 4), strides=(1, 3))


def test_measure_latencies_times_every_network_and_restores_modes():
    small, big = nn.Conv2d(8, 8, 3, padding=1), nn.Sequential(*[nn.Conv2d(8, 8, 3, padding=1) for _ in range(8)])
    big.train()
    out = timing.measure_latencies({"small": small, "big": big}, (16, 8, 32, 32), warmup=2, repeats=9)
    assert set(out) == {"small", "big"} and out["big"] > 2 * out["small"]  # 8x the work
    assert big.training
