"""Tests for darts_lite.darts.bilevel: the approximations of eq. 7 measured against the exact hypergradient.

Tiny float64 supernet (C=4, 3 cells, 8x8 inputs) so every check is fast and numerically clean.
"""
import math

import pytest
import torch
import torch.nn as nn

from darts_lite.darts import bilevel
from darts_lite.darts import hypergradient as hg
from darts_lite.darts.supernet import SearchNetwork

XI = 0.025


def make_model(seed=0):
    torch.manual_seed(seed)
    model = SearchNetwork(C=4, num_classes=10, layers=3).double()
    with torch.no_grad():  # a non-symmetric point, far from the uniform init
        for a in model.arch_parameters():
            a.copy_(0.5 * torch.randn_like(a))
    gen = torch.Generator().manual_seed(seed + 1)
    batches = [(torch.randn(8, 3, 8, 8, dtype=torch.float64, generator=gen),
                torch.randint(0, 10, (8,), generator=gen)) for _ in range(2)]
    return model, batches[0], batches[1]


@pytest.fixture(scope="module")
def setup():
    return make_model()


def test_smooth_variant_replaces_kinks_and_keeps_parameters(setup):
    model, train, _ = setup
    smooth = bilevel.smooth_variant(model)
    assert any(isinstance(m, nn.MaxPool2d) for m in model.modules())  # the original is untouched
    assert any(isinstance(m, nn.ReLU) for m in model.modules())
    assert not any(isinstance(m, (nn.ReLU, nn.MaxPool2d)) for m in smooth.modules())
    assert any(isinstance(m, nn.SiLU) for m in smooth.modules())
    assert smooth is not model
    ours, theirs = model.state_dict(), smooth.state_dict()
    assert list(ours) == list(theirs)
    for k in ours:
        torch.testing.assert_close(ours[k], theirs[k], rtol=0, atol=0)
    assert smooth.arch_parameters()[0].data_ptr() != model.arch_parameters()[0].data_ptr()  # a copy
    # a max-pool becomes an average pool of the same geometry: the output shape is unchanged
    assert smooth(train[0]).shape == model(train[0]).shape


def test_compare_hypergradients_tiny_radius(setup):
    model, train, val = setup
    out = bilevel.compare_hypergradients(model, train, val, XI, radii=(1e-6,), repeats=1)
    rows = {r["method"]: r for r in out["rows"]}
    assert set(rows) == {"exact", "first_order", "second_order"}
    first, second = rows["first_order"], rows["second_order"]
    assert second["radius"] == 1e-6
    assert second["rel_err"] < 1e-4 and second["rel_err_implicit"] < 1e-3
    assert first["rel_err"] > second["rel_err"]
    assert second["cosine"] > 1 - 1e-8 and -1 <= first["cosine"] <= 1
    assert out["implicit_to_direct"] > 0
    for row in out["rows"]:
        assert row["seconds"] > 0
        if out["memory"] == "n/a":  # no peak-RSS counter on this OS: not measured, not guessed
            assert row["peak_bytes"] is None
        else:
            assert isinstance(row["peak_bytes"], int) and row["peak_bytes"] >= 0
    assert "first_order" in bilevel.format_table(out["rows"])


def test_metrics_match_definitions():
    a = [torch.tensor([3.0, 0.0], dtype=torch.float64), torch.tensor([4.0], dtype=torch.float64)]
    b = [torch.tensor([3.0, 0.0], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64)]
    assert math.isclose(bilevel.rel_error(a, b), 4 / 3)
    assert math.isclose(bilevel.cosine(a, b), 3 / 5)


def test_radius_sweep_converges_on_smooth_network(setup):
    model, train, val = setup
    sweep = bilevel.radius_sweep(bilevel.smooth_variant(model), train, val, XI, radii=(1e-1, 1e-2, 1e-3))
    errs = [row["rel_err_implicit"] for row in sweep]
    assert [row["radius"] for row in sweep] == [1e-1, 1e-2, 1e-3]
    assert errs[0] > errs[1] > errs[2]
    assert errs[2] < errs[0] / 1000  # O(r^2): ~1e4 over two decades
    assert all(row["rel_err_total"] <= row["rel_err_implicit"] for row in sweep)


def test_radius_sweep_on_relu_network_is_only_reported(setup):
    """On ReLU / max-pool the paper's radius gives a smoothed derivative: only finiteness is required."""
    model, train, val = setup
    sweep = bilevel.radius_sweep(model, train, val, XI, radii=(1e-2, 1e-6))
    assert all(math.isfinite(row["rel_err_implicit"]) for row in sweep)
    assert sweep[1]["rel_err_implicit"] < 1e-3  # the pointwise derivative at a tiny radius


def test_compare_does_not_touch_the_model(setup):
    model, train, val = setup
    before = {k: v.clone() for k, v in model.state_dict().items()}
    bilevel.compare_hypergradients(model, train, val, XI, radii=(1e-2,), repeats=1)
    assert all(p.grad is None for p in model.parameters())
    for k, v in model.state_dict().items():
        if "running" in k or "num_batches" in k:  # BatchNorm statistics move on every forward
            continue
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    total = hg.exact(model, train, val, XI)
    assert all(torch.isfinite(t).all() for t in total)
