"""Tests for darts_lite.darts.ops: output shapes of every candidate, `none`, the op registry, FactorizedReduce
against the paper's stride-2 form."""
import copy
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from darts_lite.darts.ops import OPS, PRIMITIVES, build_op, check_primitives, register_op
from darts_lite.darts.search_cell import MixedOp
from darts_lite.darts.supernet import SearchNetwork

C = 4


def test_primitives_are_the_eight_of_the_paper_in_order():
    assert PRIMITIVES == ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                          "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")


@pytest.mark.parametrize("name", PRIMITIVES)
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("H,W", [(8, 8), (7, 7), (9, 6)])
def test_op_output_shape(name, stride, H, W):
    torch.manual_seed(0)
    op = build_op(name, C, stride, affine=False)
    x = torch.randn(3, C, H, W)
    y = op(x)
    expected = (3, C, H, W) if stride == 1 else (3, C, math.ceil(H / 2), math.ceil(W / 2))
    assert tuple(y.shape) == expected
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("stride", [1, 2])
def test_none_outputs_zeros(stride):
    x = torch.randn(2, C, 7, 7) + 5.0
    y = build_op("none", C, stride)(x)
    assert torch.count_nonzero(y) == 0


def test_skip_connect_stride1_is_identity():
    x = torch.randn(2, C, 6, 6)
    assert torch.equal(build_op("skip_connect", C, 1)(x), x)


def test_build_op_unknown_name_raises_keyerror_naming_it():
    with pytest.raises(KeyError, match="conv_42x42"):
        build_op("conv_42x42", C, 1)


def test_build_op_bad_stride_names_the_value():
    with pytest.raises(ValueError, match="stride must be 1 or 2, got 3"):
        build_op("sep_conv_3x3", C, 3)


class _Scale(nn.Module):
    """A trivial custom op: 2 * x (strided by subsampling)."""

    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return 2.0 * x[:, :, ::self.stride, ::self.stride]


@pytest.fixture
def custom_op():
    """Register `test_scale2x`, and remove it from OPS afterwards whatever happens."""
    name = "test_scale2x"
    assert name not in OPS
    register_op(name, lambda C, stride, affine: _Scale(stride))
    yield name
    OPS.pop(name, None)


def test_register_op_is_usable_by_mixedop_and_searchnetwork(custom_op):
    assert custom_op in OPS
    assert custom_op not in PRIMITIVES  # the default search space is unchanged
    x = torch.randn(2, C, 6, 6, dtype=torch.float64)
    mixed = MixedOp(C, 1, primitives=("none", custom_op)).double()
    w = torch.tensor([0.3, 0.7], dtype=torch.float64)
    torch.testing.assert_close(mixed(x, w), 0.7 * 2.0 * x, rtol=1e-12, atol=1e-12)

    net = SearchNetwork(C=C, num_classes=3, layers=3, nodes=2, multiplier=2,
                        primitives=("skip_connect", custom_op))
    assert net.alphas["normal"].shape == (5, 2)
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 3)
    assert {op for op, _ in net.genotype().normal} <= {"skip_connect", custom_op}


def test_register_op_refuses_duplicate_name(custom_op):
    with pytest.raises(ValueError, match=custom_op):
        register_op(custom_op, lambda C, stride, affine: nn.Identity())
    with pytest.raises(ValueError, match="sep_conv_3x3"):
        register_op("sep_conv_3x3", lambda C, stride, affine: nn.Identity())
    assert isinstance(build_op(custom_op, C, 1), _Scale)  # not replaced


def test_register_op_overwrite(custom_op):
    register_op(custom_op, lambda C, stride, affine: nn.Identity(), overwrite=True)
    assert isinstance(build_op(custom_op, C, 1), nn.Identity)


@pytest.mark.parametrize("bad", ["", None, 3])
def test_register_op_rejects_bad_name(bad):
    with pytest.raises(ValueError, match="non-empty string"):
        register_op(bad, lambda C, stride, affine: nn.Identity())
    assert bad not in OPS


def test_check_primitives_accepts_and_returns_tuple():
    assert check_primitives(["none", "skip_connect"]) == ("none", "skip_connect")


def test_check_primitives_rejects_unknown():
    with pytest.raises(ValueError, match="not_an_op"):
        check_primitives(["skip_connect", "not_an_op"])


def test_check_primitives_rejects_duplicate():
    with pytest.raises(ValueError, match=r"unique, got \['skip_connect', 'none', 'skip_connect'\]"):
        check_primitives(["skip_connect", "none", "skip_connect"])


def test_check_primitives_rejects_empty():
    with pytest.raises(ValueError, match="at least one"):
        check_primitives([])


@pytest.mark.parametrize("stride", [1, 2])
def test_max_pool_in_channels_last_memory_gives_torchs_values_ties_and_gradients(stride):
    from darts_lite.darts.ops import MaxPool2d
    torch.manual_seed(0)
    x = torch.randint(0, 3, (4, 5, 9, 7)).double().requires_grad_()  # three values: ties in most windows
    ours, theirs = MaxPool2d(3, stride, 1)(x), nn.MaxPool2d(3, stride, 1)(x)
    assert ours.is_contiguous() and torch.equal(ours, theirs)
    g = torch.randn_like(theirs)
    assert torch.equal(torch.autograd.grad(ours, x, g)[0], torch.autograd.grad(theirs, x, g)[0])
    assert isinstance(build_op("max_pool_3x3", 5, stride), MaxPool2d)


def test_a_search_with_the_channels_last_max_pool_is_bit_identical_to_torchs(monkeypatch):
    """Its gradient comes back in channels-last memory: the steps after it must still round the same.

    The plain path (`fast=False`) builds its pools from `OPS`; the fast path pools in `FastSearchCell`."""
    import darts_lite.darts.ops as ops

    def run(pool):
        monkeypatch.setitem(ops.OPS, "max_pool_3x3", lambda C, stride, affine: pool(3, stride=stride, padding=1))
        return seeded_search(C=8, nodes=4, fast=False)

    assert torch.equal(run(nn.MaxPool2d), run(ops.MaxPool2d))


def seeded_search(C: int, nodes: int, fast: bool) -> torch.Tensor:
    """Every parameter (weights, then alphas) after 3 seeded search steps on random 16x16 images, flattened."""
    from darts_lite.darts.search import search_step
    torch.manual_seed(0)
    model = SearchNetwork(C=C, num_classes=10, layers=3, nodes=nodes, multiplier=nodes, in_channels=1, fast=fast)
    w_opt = torch.optim.SGD(model.weight_parameters(), lr=0.05, momentum=0.9)
    alpha_opt = torch.optim.Adam(model.arch_parameters(), lr=0.01)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        batch = torch.randn(16, 1, 16, 16, generator=g), torch.randint(0, 10, (16,), generator=g)
        search_step(model, w_opt, alpha_opt, batch, batch, order=1)
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def papers_factorized_halves(x, conv_a, conv_b):
    """The paper's FactorizedReduce: two stride-2 1x1 convolutions, the second on the input shifted by one pixel
    (zero-padded back to its size), in the layout of `x` (channels-last only where oneDNN's kernel is sound)."""
    shifted = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
    return F.conv2d(x, conv_a.weight, stride=2), F.conv2d(shifted, conv_b.weight, stride=2)


def _reduce_and_grads(x, module, halves, layout):
    x = x.clone().contiguous(memory_format=layout).requires_grad_()
    module = copy.deepcopy(module).to(memory_format=layout)
    out = torch.cat(halves(torch.relu(x), module.conv_a, module.conv_b), 1)
    out.backward(torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view(out.shape))
    return [out.detach(), x.grad, module.conv_a.weight.grad, module.conv_b.weight.grad]


@pytest.mark.parametrize("layout,c_in", [("plain", 2), ("plain", 5), ("plain", 16), ("channels_last", 16),
                                         ("channels_last", 24)])
def test_factorized_halves_are_the_papers_stride_2_form_bit_for_bit(c_in, layout):
    """Even sides (every shape of the course's CPU images), in one memory layout: the same float32 numbers, output
    and every gradient. Channels-last from 16 input channels only: below, the paper's form is the faulty kernel."""
    from darts_lite.darts.ops import FactorizedReduce, factorized_halves
    torch.manual_seed(0)
    module, x = FactorizedReduce(c_in, 6), torch.randn(8, c_in, 16, 16)
    memory = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    ours = _reduce_and_grads(x, module, factorized_halves, memory)
    paper = _reduce_and_grads(x, module, papers_factorized_halves, memory)
    assert ours[0].shape == (8, 6, 8, 8)
    for a, b in zip(ours, paper):
        assert torch.equal(a, b)


@pytest.mark.parametrize("c_in", [2, 5])
def test_factorized_halves_channels_last_below_the_kernel_block_match_plain_memory(c_in):
    """Where the paper's channels-last form would corrupt the heap, the shipped form gives plain memory's numbers
    (to float32 rounding: the two layouts run different kernels)."""
    from darts_lite.darts.ops import FactorizedReduce, factorized_halves
    torch.manual_seed(0)
    module, x = FactorizedReduce(c_in, 6), torch.randn(8, c_in, 16, 16)
    ours = _reduce_and_grads(x, module, factorized_halves, torch.channels_last)
    plain = _reduce_and_grads(x, module, papers_factorized_halves, torch.contiguous_format)
    for a, b in zip(ours, plain):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("side", [7, 9, 15])
def test_factorized_halves_match_the_papers_form_at_odd_sides(side):
    """Odd sides: the shifted input's zero border falls on the odd pixels' last row and column (padded after
    the 1x1 convolution); float64, since the two forms' kernels may round differently at these sizes."""
    from darts_lite.darts.ops import FactorizedReduce, factorized_halves
    torch.manual_seed(0)
    module, x = FactorizedReduce(3, 4).double(), torch.randn(4, 3, side, side, dtype=torch.float64)
    ours = _reduce_and_grads(x, module, factorized_halves, torch.channels_last)
    paper = _reduce_and_grads(x, module, papers_factorized_halves, torch.contiguous_format)
    assert ours[0].shape[-1] == (side + 1) // 2
    for a, b in zip(ours, paper):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fast", [False, True], ids=["plain_cells", "fast_cells"])
def test_a_search_through_factorized_reduce_is_bit_identical_to_the_papers_form(monkeypatch, fast):
    """A seeded search (3 steps: reduction cells, their stride-2 skips and the FactorizedReduce preprocessing)
    with the paper's stride-2 convolutions and with the library's: every weight and alpha the same, bit for bit."""
    import darts_lite.darts.fast_cell as fast_cell
    import darts_lite.darts.ops as ops

    ours = seeded_search(C=4, nodes=2, fast=fast)
    monkeypatch.setattr(ops, "factorized_halves", papers_factorized_halves)
    monkeypatch.setattr(fast_cell, "factorized_halves", papers_factorized_halves)
    assert torch.equal(ours, seeded_search(C=4, nodes=2, fast=fast))
