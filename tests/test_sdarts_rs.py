"""SDARTS-RS (random smoothing) against hand computations: the clip, the radius, the w step it changes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from darts_lite.core.config import ConfigError
from darts_lite.darts import SearchNetwork
from darts_lite.darts.config import SearchConfig
from darts_lite.darts.remedies import remedies_for, weight_step_mixing
from darts_lite.darts.remedies.sdarts_rs import START, clip, smooth, smoothing_radius
from darts_lite.darts.search import make_optimizers, search_step

OPS = ("none", "skip_connect", "sep_conv_3x3", "max_pool_3x3")


def tiny_config(**changes) -> SearchConfig:
    base = dict(name="tiny", layers=3, channels=4, nodes=2, multiplier=2, epochs=2, batch_size=8,
                arch_lr=3e-3, device="cpu", seed=1, primitives=OPS)
    return SearchConfig(**{**base, **changes})


def test_clip_clamps_to_the_unit_interval_and_renormalises_each_edge():
    w = torch.tensor([[0.5, -0.2, 0.9, 0.1], [-0.1, -0.3, -0.2, -0.4], [1.4, 0.2, 0.2, 0.2]])
    by_hand = np.array([[0.5, 0.0, 0.9, 0.1], [1.0, 0.0, 0.0, 0.0], [1.0, 0.2, 0.2, 0.2]])
    by_hand /= by_hand.sum(1, keepdims=True)  # the all-negative edge becomes one-hot at its argmax (-0.1)
    assert np.allclose(clip(w).numpy(), by_hand)


def test_the_radius_rises_linearly_from_0_03_to_epsilon():
    assert smoothing_radius(0.3, 0.0) == pytest.approx(START)
    assert smoothing_radius(0.3, 0.5) == pytest.approx((START + 0.3) / 2)
    assert smoothing_radius(0.3, 1.0) == pytest.approx(0.3)
    assert smoothing_radius(0.01, 0.0) == pytest.approx(0.01)  # a radius below 0.03 stays constant


def test_smooth_adds_uniform_noise_within_the_radius_then_clips():
    weights = torch.softmax(torch.randn(5, 4, dtype=torch.float64), -1)
    g = torch.Generator().manual_seed(3)
    out = smooth(weights, 0.1, generator=g)
    delta = 2 * torch.rand(weights.shape, generator=torch.Generator().manual_seed(3), dtype=torch.float64) - 1
    by_hand = (weights + 0.1 * delta).clamp(0, 1).numpy()
    assert np.allclose(out.numpy(), by_hand / by_hand.sum(1, keepdims=True))
    assert (delta.abs() <= 1).all() and not torch.allclose(out, weights)
    assert torch.allclose(smooth(weights, 0.0), weights)  # radius 0: the softmax weights themselves


def tiny_supernet() -> SearchNetwork:
    torch.manual_seed(0)
    return SearchNetwork(C=4, num_classes=3, layers=3, nodes=2, multiplier=2, in_channels=1, primitives=OPS)


def test_the_w_step_gradient_is_the_one_under_the_smoothed_mixture():
    config = tiny_config(sdarts_rs=0.3, grad_clip=0.0)
    (remedy,) = remedies_for(config)
    model, by_hand = tiny_supernet(), tiny_supernet()
    X, y = torch.randn(8, 1, 8, 8), torch.randint(0, 3, (8,))
    w_opt, alpha_opt, _ = make_optimizers(model, config)
    torch.manual_seed(5)
    search_step(model, w_opt, alpha_opt, (X, y), (X, y), grad_clip=0.0, arch_step=False,
                mixing=weight_step_mixing([remedy], 0.5))
    # By hand: eps at half the search, delta ~ U[-eps, eps] per (edge, operation), clamp, renormalise.
    eps = START + (0.3 - START) * 0.5
    torch.manual_seed(5)
    weights = {}
    for kind, a in by_hand.alphas.items():
        noisy = (torch.softmax(a.detach(), -1) + (2 * torch.rand(a.shape) - 1) * eps).clamp(0, 1)
        weights[kind] = noisy / noisy.sum(-1, keepdim=True)
    loss = F.cross_entropy(by_hand(X, weights), y)
    grads = torch.autograd.grad(loss, by_hand.weight_parameters(), allow_unused=True)
    for p, g in zip(model.weight_parameters(), grads):
        assert (p.grad is None and g is None) or torch.allclose(p.grad, g, atol=1e-6)
    plain = tiny_supernet()
    loss = F.cross_entropy(plain(X), y)
    plain_grads = torch.autograd.grad(loss, plain.weight_parameters(), allow_unused=True)
    assert any(g is not None and not torch.allclose(g, h, atol=1e-6) for g, h in zip(grads, plain_grads))


def test_the_alpha_step_is_dartss():
    config = tiny_config(sdarts_rs=0.3)
    (remedy,) = remedies_for(config)
    smoothed, plain = tiny_supernet(), tiny_supernet()
    X, y = torch.randn(8, 1, 8, 8), torch.randint(0, 3, (8,))
    for net, mixing in ((smoothed, weight_step_mixing([remedy], 0.2)), (plain, None)):
        w_opt, alpha_opt, _ = make_optimizers(net, config)
        search_step(net, w_opt, alpha_opt, (X, y), (X, y), mixing=mixing)
    for a, b in zip(smoothed.arch_parameters(), plain.arch_parameters()):  # the alpha step comes first
        assert torch.equal(a, b)


def test_a_single_path_search_cannot_be_smoothed():
    with pytest.raises(ConfigError, match="sdarts_rs"):
        tiny_config(sdarts_rs=0.3, sampling="gumbel", fast=False)
