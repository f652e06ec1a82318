"""Tests for darts_lite.meta_kernels (meta_kernel, feedback): one merged convolution equals the separate branches."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from darts_lite.meta_kernels.feedback import FeedbackGroup, blend_meta_kernels, feedback_betas, meta_kernels
from darts_lite.meta_kernels.meta_kernel import DepthwiseSeparable, MetaKernelConv, pad_kernel


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("depthwise", [True, False])
def test_merged_convolution_equals_the_sum_of_separate_convolutions(stride, depthwise):
    torch.manual_seed(0)
    C_out = 6 if depthwise else 5
    op = MetaKernelConv(6, C_out, (3, 5, 7), stride, depthwise=depthwise, bias=True).double()
    with torch.no_grad():
        op.bias.normal_()
    x = torch.randn(2, 6, 11, 13, dtype=torch.float64)
    alphas = torch.randn(3, dtype=torch.float64)
    w = torch.softmax(alphas, 0)
    groups = 6 if depthwise else 1
    # independent yardstick: each branch with its own padding, summed by hand
    expected = sum(w[i] * F.conv2d(x, k, None, stride, k.shape[-1] // 2, groups=groups)
                   for i, k in enumerate(op.kernels)) + op.bias[:, None, None]
    torch.testing.assert_close(op(x, alphas), expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(op.separate(x, alphas), expected, rtol=0, atol=1e-12)


def test_gradients_of_merged_and_separate_agree():
    torch.manual_seed(1)
    op = MetaKernelConv(4, 4, (3, 5, 7), depthwise=True).double()
    x = torch.randn(2, 4, 9, 9, dtype=torch.float64)
    alphas = torch.randn(3, dtype=torch.float64, requires_grad=True)
    grads = []
    for fn in (op, op.separate):
        op.zero_grad()
        alphas.grad = None
        fn(x, alphas).square().sum().backward()
        grads.append([alphas.grad.clone()] + [k.grad.clone() for k in op.kernels])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_pad_kernel_centres_and_refuses_even_sizes():
    k = torch.arange(9.0).reshape(1, 1, 3, 3)
    p = pad_kernel(k, 7)
    assert p.shape == (1, 1, 7, 7) and torch.equal(p[..., 2:5, 2:5], k) and p.sum() == k.sum()
    with pytest.raises(ValueError, match="odd"):
        pad_kernel(torch.ones(1, 1, 4, 4), 7)


def test_derive_gives_the_chosen_branch():
    torch.manual_seed(2)
    op = MetaKernelConv(3, 3, (3, 5, 7), stride=2, depthwise=True).double()
    alphas = torch.tensor([0.1, 2.0, -1.0], dtype=torch.float64)
    conv = op.derive(alphas)
    assert conv.kernel_size == (5, 5) and conv.stride == (2, 2) and conv.groups == 3
    x = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    w = torch.softmax(alphas, 0)
    torch.testing.assert_close(conv(x), w[1] * F.conv2d(x, op.kernels[1], None, 2, 2, groups=3))


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="odd"):
        MetaKernelConv(2, 2, (3, 4))
    with pytest.raises(ValueError, match="keeps the channels"):
        MetaKernelConv(2, 3, depthwise=True)
    with pytest.raises(ValueError, match="3 alphas"):
        MetaKernelConv(2, 2)(torch.zeros(1, 2, 5, 5), torch.zeros(2))


def test_depthwise_separable_has_fewer_parameters_than_a_full_convolution():
    sep = DepthwiseSeparable(3, 16, 11)
    full = nn.Conv2d(3, 16, 11, padding=5, bias=False)
    convs = sum(m.weight.numel() for m in sep.modules() if isinstance(m, nn.Conv2d))
    assert convs == 11 * 11 * 3 + 3 * 16 < full.weight.numel()
    assert sep(torch.zeros(2, 3, 16, 16)).shape == (2, 16, 16, 16)


def test_feedback_betas_sum_to_one_and_favour_the_lower_loss():
    b = feedback_betas([0.5, 1.0, 2.0])
    assert torch.isclose(b.sum(), torch.tensor(1.0, dtype=torch.float64))
    assert b[0] > b[1] > b[2]
    t = torch.tanh(1 / torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64))
    torch.testing.assert_close(b, t / t.sum())
    torch.testing.assert_close(feedback_betas([0.7, 0.7]), torch.tensor([0.5, 0.5], dtype=torch.float64))
    with pytest.raises(ValueError, match="positive"):
        feedback_betas([0.0, 1.0])


def test_blend_sets_every_copy_to_the_weighted_kernel():
    torch.manual_seed(3)
    models = [nn.Sequential(MetaKernelConv(2, 2, depthwise=True), nn.ReLU()) for _ in range(2)]
    before = [[k.detach().clone() for k in meta_kernels(m)[0].kernels] for m in models]
    betas = blend_meta_kernels(models, [0.4, 1.6])
    for s in range(3):
        expected = float(betas[0]) * before[0][s] + float(betas[1]) * before[1][s]
        for m in models:
            torch.testing.assert_close(meta_kernels(m)[0].kernels[s].detach(), expected)


def test_feedback_group_period_and_switch():
    torch.manual_seed(4)
    models = [MetaKernelConv(1, 1, (3, 5)) for _ in range(2)]
    opts = [torch.optim.SGD(m.parameters(), lr=0.1) for m in models]

    def step(model, opt, batch):
        loss = model(batch).square().mean() + 0.1
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    x = torch.randn(1, 1, 6, 6)
    group = FeedbackGroup(models, opts, step, period=2)
    group.step([x, 2 * x])
    assert not torch.equal(models[0].kernels[0], models[1].kernels[0])  # period 2: not yet blended
    group.step([x, 2 * x])
    assert torch.equal(models[0].kernels[0], models[1].kernels[0]) and group.last_betas is not None
    off = FeedbackGroup([MetaKernelConv(1, 1, (3,)) for _ in range(2)], opts, step, enabled=False)
    off.models = [MetaKernelConv(1, 1, (3,)) for _ in range(2)]
    off.optimizers = [torch.optim.SGD(m.parameters(), lr=0.1) for m in off.models]
    off.step([x, x])
    assert not torch.equal(off.models[0].kernels[0], off.models[1].kernels[0])
