"""Tests for darts_lite.darts.fast_cell and partial: the batched cell computes what the plain cell computes."""
import pytest
import torch
import torch.nn as nn

from darts_lite.darts.config import SearchConfig
from darts_lite.darts.fast_cell import FanOut, FastSearchCell, fan_out_edges
from darts_lite.darts.genotypes import num_edges
from darts_lite.darts.ops import PRIMITIVES, register_op
from darts_lite.darts.partial import channel_shuffle, check_partial_channels
from darts_lite.darts.search import make_optimizers, search_step
from darts_lite.darts.search_cell import MixedOp, SearchCell
from darts_lite.darts.supernet import SearchNetwork, fast_copy


def _inputs(reduction_prev: bool, H: int = 6, dtype=torch.float64):
    g = torch.Generator().manual_seed(1)
    s0 = torch.randn(3, 6, 2 * H if reduction_prev else H, 2 * H if reduction_prev else H, generator=g, dtype=dtype)
    return s0, torch.randn(3, 8, H, H, generator=g, dtype=dtype)


def _weight_grad_norm(module: nn.Module) -> torch.Tensor:
    """sum of squared gradients over every weight: the same however the weights are laid out."""
    return sum(p.grad.pow(2).sum() for p in module.parameters() if p.grad is not None)


def test_fan_out_edges_cover_every_edge_once():
    for nodes in (1, 2, 3, 4, 5):
        rows = fan_out_edges(nodes)
        assert sorted(e for r in rows for e in r) == list(range(num_edges(nodes)))
        offsets = [sum(2 + k for k in range(i)) for i in range(nodes)]
        for j, r in enumerate(rows):  # state j feeds nodes max(0, j-1) .. nodes-1, edge (j -> i) = offsets[i] + j
            assert r == [offsets[i] + j for i in range(nodes) if j < 2 + i]


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("partial_channels", [1, 2])
@pytest.mark.parametrize("reduction,reduction_prev", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("nodes,multiplier", [(4, 4), (2, 1)])
def test_fast_cell_equals_plain_cell_outputs_and_gradients(reduction, reduction_prev, partial_channels, nodes,
                                                            multiplier, channels_last):
    """The fast cell, in plain or channels-last memory (`core.channels_last`), against the plain cell."""
    torch.manual_seed(0)
    plain = SearchCell(nodes, multiplier, 6, 8, 4, reduction, reduction_prev,
                       partial_channels=partial_channels).double()
    fast = FastSearchCell.from_plain(plain)
    if channels_last:
        fast.to(memory_format=torch.channels_last)
    outs, grads = [], []
    for cell in (plain, fast):
        layout = torch.channels_last if cell is fast and channels_last else torch.contiguous_format
        s0, s1 = (s.contiguous(memory_format=layout).requires_grad_() for s in _inputs(reduction_prev))
        alphas = torch.randn(num_edges(nodes), len(PRIMITIVES), dtype=torch.float64,
                             generator=torch.Generator().manual_seed(2)).requires_grad_()
        out = cell(s0, s1, torch.softmax(alphas, -1))
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        outs.append(out)
        grads.append((alphas.grad, s0.grad, s1.grad, _weight_grad_norm(cell)))
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-12, atol=1e-12)
    for fast_grad, plain_grad in zip(grads[1], grads[0]):
        torch.testing.assert_close(fast_grad, plain_grad, rtol=1e-10, atol=1e-12)
    # BatchNorm running statistics were copied and updated alike: eval mode agrees too
    plain.eval(), fast.eval()
    s0, s1 = _inputs(reduction_prev)
    w = torch.softmax(torch.randn(num_edges(nodes), len(PRIMITIVES), dtype=torch.float64), -1)
    torch.testing.assert_close(fast(s0, s1, w), plain(s0, s1, w), rtol=1e-12, atol=1e-12)


def test_fast_cell_has_fewer_modules_to_call():
    plain = SearchCell(4, 4, 8, 8, 8, False, False)
    fast = FastSearchCell.from_plain(plain)
    convs = [sum(isinstance(m, nn.Conv2d) for m in c.modules()) for c in (plain, fast)]
    assert convs[1] * 2 < convs[0]  # 5 fan-outs instead of 14 edges
    assert sum(p.numel() for p in plain.parameters()) == sum(p.numel() for p in fast.parameters())


def test_registered_candidates_run_edge_by_edge_and_still_match():
    class Scale(nn.Module):
        def __init__(self, C, stride):
            super().__init__()
            self.conv = nn.Conv2d(C, C, 1, stride=stride, bias=False)

        def forward(self, x):
            return torch.tanh(self.conv(x))

    register_op("test_fast_tanh_1x1", lambda C, stride, affine: Scale(C, stride), overwrite=True)
    primitives = ("none", "test_fast_tanh_1x1", "sep_conv_3x3", "max_pool_3x3")
    torch.manual_seed(0)
    plain = SearchCell(3, 2, 6, 8, 4, True, False, primitives).double()
    fast = FastSearchCell.from_plain(plain)
    assert "per_edge" in fast.fan_outs[0].kinds
    s0, s1 = _inputs(False)
    w = torch.softmax(torch.randn(num_edges(3), len(primitives), dtype=torch.float64), -1)
    torch.testing.assert_close(fast(s0, s1, w), plain(s0, s1, w), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype,tolerance", [(torch.float64, 1e-12), (torch.float32, 1e-4)])
def test_twenty_search_steps_give_the_same_alphas(dtype, tolerance):
    """The fast path's numerics: 20 first-order steps from one seed at the paper's learning rates.

    float64: the same alphas to rounding; float32: within 1e-4 while the alphas move by > 1e-3
    (the two paths round differently in the backward pass, and Adam, which divides by the
    gradient's size, passes such differences on at the scale of its learning rate).
    """
    torch.manual_seed(0)
    plain = SearchNetwork(C=4, num_classes=3, layers=3, nodes=3, multiplier=3, in_channels=1).to(dtype)
    fast = fast_copy(plain)
    config = SearchConfig(layers=3, channels=4, epochs=1)
    g = torch.Generator().manual_seed(3)
    batches = [tuple((torch.randn(8, 1, 8, 8, generator=g, dtype=dtype), torch.randint(0, 3, (8,), generator=g))
                     for _ in ("train", "val")) for _ in range(20)]
    start = torch.cat([a.detach().flatten() for a in plain.arch_parameters()])
    alphas = []
    for model in (plain, fast):
        w_opt, alpha_opt, _ = make_optimizers(model, config)
        for train, val in batches:
            search_step(model, w_opt, alpha_opt, train, val, order=1)
        alphas.append(torch.cat([a.detach().flatten() for a in model.arch_parameters()]))
    assert (alphas[0] - start).abs().max() > 1e-3  # the steps moved the alphas: the comparison means something
    torch.testing.assert_close(alphas[1], alphas[0], rtol=0, atol=tolerance)


def test_fast_network_is_built_directly_and_trains():
    torch.manual_seed(0)
    net = SearchNetwork(C=4, num_classes=3, layers=3, nodes=2, multiplier=2, in_channels=1, fast=True,
                        partial_channels=2)
    assert all(isinstance(c, FastSearchCell) for c in net.cells)
    out = net(torch.randn(2, 1, 8, 8))
    out.sum().backward()
    assert out.shape == (2, 3) and all(a.grad is not None for a in net.arch_parameters())


def test_channel_shuffle_is_the_interleaving_permutation():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]
    assert channel_shuffle(x, 3).flatten().tolist() == [0, 2, 4, 1, 3, 5]
    assert torch.equal(channel_shuffle(x, 1), x)


@pytest.mark.parametrize("stride", [1, 2])
def test_partial_mixed_op_sends_one_kth_of_the_channels_through_the_candidates(stride):
    torch.manual_seed(0)
    mixed = MixedOp(8, stride, partial_channels=4).double()
    x = torch.randn(2, 8, 6, 6, dtype=torch.float64)
    w = torch.softmax(torch.randn(len(PRIMITIVES), dtype=torch.float64), -1)
    ops_part = sum(wk * op(x[:, :2]) for wk, op in zip(w, mixed.ops))  # every op built for 2 channels
    rest = x[:, 2:] if stride == 1 else torch.nn.functional.max_pool2d(x[:, 2:], 2, 2)
    both = torch.cat([ops_part, rest], 1)
    expected = both.view(2, 4, 2, *both.shape[-2:]).transpose(1, 2).reshape(both.shape)
    torch.testing.assert_close(mixed(x, w), expected, rtol=1e-12, atol=1e-12)
    assert all(p.shape[0] in (2, 1) for p in mixed.parameters())  # weights sized for C/K channels


def test_partial_channels_errors_say_what_to_change():
    with pytest.raises(ValueError, match="must divide"):
        check_partial_channels(8, 3, 1)
    with pytest.raises(ValueError, match="even number"):
        check_partial_channels(4, 4, 2)
    with pytest.raises(ValueError, match=">= 1"):
        check_partial_channels(4, 0, 1)


def test_built_in_means_as_ops_defines_it_asked_when_a_cell_is_built(monkeypatch):
    from darts_lite.darts.ops import OPS, is_built_in
    assert all(is_built_in(name) for name in PRIMITIVES)
    assert not is_built_in("no_such_op")
    monkeypatch.setitem(OPS, "avg_pool_3x3", lambda C, stride, affine: nn.MaxPool2d(3, stride, 1))
    assert not is_built_in("avg_pool_3x3")  # an override at any time, before or after fast_cell was imported
    assert FanOut(4, 1, 2).kinds[PRIMITIVES.index("avg_pool_3x3")] == "per_edge"
    monkeypatch.undo()
    assert is_built_in("avg_pool_3x3") and FanOut(4, 1, 2).kinds[PRIMITIVES.index("avg_pool_3x3")] == "shared"


def test_an_overridden_built_in_candidate_runs_edge_by_edge(monkeypatch):
    from darts_lite.darts.ops import OPS, is_built_in
    monkeypatch.setitem(OPS, "sep_conv_3x3", lambda C, stride, affine: nn.Conv2d(C, C, 3, stride, 1, bias=False))
    assert not is_built_in("sep_conv_3x3")
    torch.manual_seed(0)
    plain = SearchCell(2, 2, 6, 8, 4, False, False).double()
    fast = FastSearchCell.from_plain(plain)
    assert fast.fan_outs[0].kinds[PRIMITIVES.index("sep_conv_3x3")] == "per_edge"
    s0, s1 = _inputs(False)
    w = torch.softmax(torch.randn(num_edges(2), len(PRIMITIVES), dtype=torch.float64), -1)
    torch.testing.assert_close(fast(s0, s1, w), plain(s0, s1, w), rtol=1e-12, atol=1e-12)
