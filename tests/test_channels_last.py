"""Tests for darts_lite.core.channels_last: the networks that run channels-last stay channels-last, gradients too."""
import pytest
import torch
import torch.nn as nn

from darts_lite.core.channels_last import is_channels_last, repeat_channels, use_channels_last
from darts_lite.darts.network import Network
from darts_lite.darts.ops import DepthwiseConv2d, MaxPool2d
from darts_lite.darts.random_search import random_genotype
from darts_lite.darts.supernet import SearchNetwork
from darts_lite.hands.baselines import hand_made

CL = torch.channels_last


def test_is_channels_last():
    x = torch.randn(2, 3, 4, 5)
    assert not is_channels_last(x)
    y = x.contiguous(memory_format=CL)
    assert is_channels_last(y)
    # one channel (or 1x1 images): both layouts at once, counted as plain
    assert not is_channels_last(torch.randn(2, 1, 4, 5).contiguous(memory_format=CL))
    assert not is_channels_last(torch.randn(2, 3, 4))


@pytest.mark.parametrize("layout", [torch.contiguous_format, CL])
def test_repeat_channels_is_repeat_in_the_layout_of_its_input(layout):
    x = torch.randn(2, 3, 4, 5).contiguous(memory_format=layout)
    out = repeat_channels(x, 4)
    torch.testing.assert_close(out, x.repeat(1, 4, 1, 1), rtol=0, atol=0)
    assert out.is_contiguous(memory_format=layout)


def test_max_pool_keeps_a_channels_last_input_channels_last():
    x = torch.randn(2, 3, 6, 6)
    pool = MaxPool2d(3, stride=1, padding=1)
    out = pool(x.contiguous(memory_format=CL))
    assert is_channels_last(out)
    torch.testing.assert_close(out, pool(x), rtol=0, atol=0)


@pytest.mark.parametrize("stride,dilation", [(1, 1), (2, 1), (1, 2), (2, 2)])
def test_depthwise_conv_keeps_channels_last_and_matches_a_grouped_convolution(stride, dilation):
    torch.manual_seed(0)
    conv = DepthwiseConv2d(6, 3, stride, dilation, dilation).double()
    reference = nn.Conv2d(6, 6, 3, stride, dilation, dilation, groups=6, bias=False).double()
    reference.load_state_dict(conv.state_dict())
    conv.to(memory_format=CL)
    x = torch.randn(2, 6, 9, 9, dtype=torch.float64)
    a, b = x.clone().contiguous(memory_format=CL).requires_grad_(), x.clone().requires_grad_()
    out, expected = conv(a), reference(b)
    assert is_channels_last(out)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    grad = torch.randn_like(expected)
    out.backward(grad), expected.backward(grad)
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(conv.weight.grad, reference.weight.grad, rtol=1e-12, atol=1e-12)


def test_use_channels_last_converts_only_measured_models_on_a_cpu():
    net = SearchNetwork(C=4, num_classes=3, layers=3, nodes=2, multiplier=2, fast=True)
    assert use_channels_last(net, "meta") is net and not is_channels_last(net.stem[0].weight)
    assert use_channels_last(net, "cpu") is net and is_channels_last(net.stem[0].weight)
    plain = nn.Sequential(nn.Conv2d(3, 4, 3))  # no `faster_channels_last`: left as it is
    assert not is_channels_last(use_channels_last(plain, "cpu")[0].weight)
    assert hand_made("mobilenet_v3_small", 3, 2, 32).faster_channels_last
    assert not hand_made("resnet18", 3, 2, 32).faster_channels_last


def _gradient_layouts(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """How many 4-d gradients reaching a convolution or BatchNorm are channels-last, plain, or neither."""
    counts = {"channels_last": 0, "plain": 0, "other": 0}

    def hook(module, grad_in, grad_out):
        g = grad_out[0]
        if g is not None and g.dim() == 4 and g.shape[1] > 1 and g.shape[-2:] != (1, 1):
            counts["channels_last" if is_channels_last(g) else "plain" if g.is_contiguous() else "other"] += 1

    handles = [m.register_full_backward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    out = model(x)
    (out[0] if isinstance(out, tuple) else out).logsumexp(1).sum().backward()
    for h in handles:
        h.remove()
    return counts


@pytest.mark.parametrize("build,most_not_channels_last", [
    (lambda: SearchNetwork(C=8, num_classes=3, layers=3, fast=True), 0.1),
    # the derived cell's concatenation hands each node a channel slice of its gradient, and the last cell's
    # gradient comes back from the global pooling in plain memory: a few per network, never the bulk
    (lambda: Network(random_genotype(torch.Generator().manual_seed(0)), C=8, num_classes=3, layers=3), 0.25),
], ids=["fast supernet", "derived network"])
def test_a_channels_last_network_keeps_its_activations_and_gradients_channels_last(build, most_not_channels_last):
    torch.manual_seed(0)
    model = use_channels_last(build(), "cpu")
    x = torch.randn(4, 3, 16, 16, requires_grad=True)  # plain memory: the stem's channels-last weight converts it
    features = []
    hooks = [m.register_forward_hook(lambda m, i, o: features.append(o)) for m in model.modules()
             if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    counts = _gradient_layouts(model, x)
    for h in hooks:
        h.remove()
    big = [f for f in features if f.shape[1] > 1 and f.shape[-2:] != (1, 1)]
    assert big and all(is_channels_last(f) for f in big), "an activation fell back to plain memory"
    total = sum(counts.values())
    assert total > 50 and counts["channels_last"] >= (1 - most_not_channels_last) * total, counts


@pytest.mark.parametrize("layout", [torch.contiguous_format, CL], ids=["plain", "channels_last"])
@pytest.mark.parametrize("side", [6, 7])
def test_even_and_odd_pixels_are_slices_whose_gradient_keeps_the_layout(layout, side):
    from darts_lite.core.channels_last import even_and_odd_pixels
    x = torch.randn(2, 3, side, side + 1, dtype=torch.float64).contiguous(memory_format=layout).requires_grad_()
    even, odd = even_and_odd_pixels(x)
    assert torch.equal(even, x[:, :, ::2, ::2]) and torch.equal(odd, x[:, :, 1::2, 1::2])
    g_even, g_odd = torch.randn_like(even), torch.randn_like(odd)
    grad = torch.autograd.grad((even, odd), x, (g_even, g_odd))[0]
    expected = torch.autograd.grad((x[:, :, ::2, ::2], x[:, :, 1::2, 1::2]), x, (g_even, g_odd))[0]
    assert torch.equal(grad, expected)
    assert grad.stride() == x.stride()  # slicing's own gradient is plain memory whatever the input
    # one half unused (its gradient None): the other half's gradient alone
    only_odd = torch.autograd.grad(even_and_odd_pixels(x)[1], x, g_odd)[0]
    assert torch.equal(only_odd, torch.autograd.grad(x[:, :, 1::2, 1::2], x, g_odd)[0])
