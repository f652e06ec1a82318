"""Tests for darts_lite.hands.gradcam: Grad-CAM against CAM, finite differences, darts_lite's networks, errors, plot."""
import io

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from darts_lite.core.training import TrainConfig
from darts_lite.darts.genotypes import DARTS_V2
from darts_lite.darts.retrain import build_network
from darts_lite.data import load_dataset
from darts_lite.hands.baselines import hand_made
from darts_lite.hands.gradcam import default_target_layer, grad_cam, plot_grad_cam


class CAMNet(nn.Module):
    """conv -> ReLU -> conv (the feature maps A) -> global average pooling -> Linear: the CAM architecture."""

    def __init__(self, in_channels=2, K=5, num_classes=4, stride=1):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 6, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(6, K, 3, padding=1, stride=stride))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(K, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.features(x)).flatten(1))


class NonLinearHead(nn.Module):
    """conv (A) -> flatten -> linear -> tanh -> linear: dy/dA varies over positions and with A."""

    def __init__(self, size=5, K=3, num_classes=4):
        super().__init__()
        self.conv = nn.Conv2d(2, K, 3, padding=1)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(K * size * size, 8), nn.Tanh(), nn.Linear(8, num_classes))

    def forward(self, x):
        return self.head(self.conv(x))


class TupleOut(nn.Module):
    """Returns (logits, auxiliary logits) like a training `Network` with an auxiliary head."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        logits = self.net(x)
        return logits, -logits


def normalised(cam):
    return cam / cam.amax(dim=(-2, -1), keepdim=True)


def no_hooks(model):
    return all(not m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("stride", [1, 2])
def test_grad_cam_equals_cam_for_global_average_pooling_then_linear(stride):
    torch.manual_seed(0)
    model = CAMNet(stride=stride).double()
    X = torch.randn(3, 2, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        A = model.features(X)  # a separate forward of the submodule, not through grad_cam
        logits = model(X)
    H, W = A.shape[-2:]
    checked = 0
    for c in range(4):
        cam = F.relu(torch.einsum("k,nkhw->nhw", model.fc.weight[c].detach(), A)) / (H * W)  # Zhou et al.'s CAM
        cam = F.interpolate(cam[:, None], size=(8, 8), mode="bilinear", align_corners=False)[:, 0]
        maps, alpha = grad_cam(model, X, "features.2", class_idx=c, return_weights=True)
        torch.testing.assert_close(alpha, model.fc.weight[c].detach().expand(3, -1) / (H * W), rtol=0, atol=1e-12)
        nonzero = cam.amax(dim=(1, 2)) > 0
        torch.testing.assert_close(maps[nonzero], normalised(cam[nonzero]), rtol=0, atol=1e-10)
        assert (maps[~nonzero] == 0).all()
        checked += int(nonzero.sum())
    assert checked >= 6  # most (image, class) maps are not trivially zero
    # The default layer (the `features` block, whose output is A) and class (argmax) give the same map.
    torch.testing.assert_close(grad_cam(model, X), grad_cam(model, X, model.features[2], logits.argmax(1)))
    assert default_target_layer(model, X) == "features"


def test_channel_weights_are_the_mean_finite_difference_gradient():
    torch.manual_seed(1)
    model = NonLinearHead().double().eval()
    X = torch.randn(2, 2, 5, 5, dtype=torch.float64)
    c = torch.tensor([1, 3])
    maps, alpha = grad_cam(model, X, "conv", class_idx=c, return_weights=True)

    eps = 1e-5
    delta = torch.zeros(1, 3, 5, 5, dtype=torch.float64)
    handle = model.conv.register_forward_hook(lambda module, inputs, output: output + delta)
    grad = torch.zeros(2, 3, 5, 5, dtype=torch.float64)
    try:
        with torch.no_grad():
            for k in range(3):
                for i in range(5):
                    for j in range(5):
                        delta[0, k, i, j] = eps
                        up = model(X)[torch.arange(2), c]
                        delta[0, k, i, j] = -eps
                        down = model(X)[torch.arange(2), c]
                        delta[0, k, i, j] = 0
                        grad[:, k, i, j] = (up - down) / (2 * eps)
            A = model.conv(X)
    finally:
        handle.remove()
    alpha_fd = grad.mean(dim=(2, 3))  # Eq. 1 with a central-difference gradient
    assert alpha_fd.abs().max() > 1e-3
    torch.testing.assert_close(alpha, alpha_fd, rtol=0, atol=1e-6)
    cam = F.relu((alpha_fd[:, :, None, None] * A).sum(1))  # Eq. 2; 5x5 input, so no upsampling
    torch.testing.assert_close(maps, normalised(cam), rtol=0, atol=1e-6)


def test_class_idx_default_int_and_tensor_forms():
    torch.manual_seed(2)
    model = CAMNet(num_classes=3).double()
    X = torch.randn(3, 2, 8, 8, dtype=torch.float64)
    predicted = model(X).argmax(1)
    torch.testing.assert_close(grad_cam(model, X), grad_cam(model, X, class_idx=predicted), rtol=0, atol=0)
    per_class = [grad_cam(model, X, class_idx=c) for c in range(3)]
    for a in range(3):
        for b in range(a + 1, 3):
            assert not torch.allclose(per_class[a], per_class[b])
    for c in range(3):
        torch.testing.assert_close(per_class[c], grad_cam(model, X, class_idx=torch.full((3,), c)), rtol=0, atol=0)
        torch.testing.assert_close(per_class[c], grad_cam(model, X, class_idx=[c] * 3), rtol=0, atol=0)
    mixed = grad_cam(model, X, class_idx=torch.tensor([2, 0, 1]))
    for n, c in enumerate([2, 0, 1]):
        torch.testing.assert_close(mixed[n], per_class[c][n], rtol=0, atol=0)


def test_tuple_output_uses_the_logits_and_all_zero_maps_stay_zero():
    torch.manual_seed(3)
    model = CAMNet().double()
    X = torch.randn(2, 2, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(grad_cam(TupleOut(model), X, "net.features.2", 1),
                               grad_cam(model, X, "features.2", 1), rtol=0, atol=0)
    with torch.no_grad():
        model.fc.weight.zero_()  # dy/dA = 0: alpha = 0, L = 0
    maps = grad_cam(model, X)
    assert torch.isfinite(maps).all() and (maps == 0).all()


def test_in_place_operations_after_the_target_layer_do_not_change_the_map():
    def net(inplace):
        torch.manual_seed(5)
        return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(inplace=inplace),
                             nn.Conv2d(4, 3, 3, padding=1), nn.Flatten(), nn.Linear(3 * 6 * 6, 3)).double()

    X = torch.randn(2, 2, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    # The target BatchNorm's output is overwritten by ReLU(inplace=True); A must be the value before it.
    torch.testing.assert_close(grad_cam(net(True), X, "1", 0), grad_cam(net(False), X, "1", 0), rtol=0, atol=0)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", image_size=16)


def darts_network(data):
    torch.manual_seed(0)
    config = TrainConfig(layers=3, channels=4, device="cpu", auxiliary_weight=0.4)  # with an auxiliary head
    return build_network(DARTS_V2, config, data)


@pytest.mark.parametrize("which,expected_layer", [("darts", "cells.2"), ("resnet18", "1.layer2")])
def test_darts_lite_networks(digits, which, expected_layer):
    model = darts_network(digits) if which == "darts" else hand_made("resnet18", 1, 2, 16)
    model.train()
    frozen = next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    frozen.eval()  # mixed modes must come back exactly as they were
    for p in model.parameters():
        p.requires_grad_(False)  # grad_cam must not need the caller to enable gradients
    X = digits.test.X[:5]
    with torch.no_grad():
        maps = grad_cam(model, X)
    assert default_target_layer(model, X) == expected_layer
    assert maps.shape == (5, 16, 16) and torch.isfinite(maps).all()
    assert maps.min() >= 0 and maps.max() <= 1
    peaks = maps.amax(dim=(1, 2))
    assert ((peaks == 1) | (peaks == 0)).all() and (peaks == 1).any()
    assert no_hooks(model)
    assert all(m.training for m in model.modules() if m is not frozen) and not frozen.training
    assert all(p.grad is None for p in model.parameters())


def test_errors_name_the_problem_and_leave_the_model_clean():
    model = CAMNet()
    model.train()
    X = torch.randn(2, 2, 8, 8)
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\), got \(2, 8, 8\)"):
        grad_cam(model, X[0])
    with pytest.raises(ValueError, match=r"out of range: the model has 4 classes \(0 to 3\)"):
        grad_cam(model, X, class_idx=4)
    with pytest.raises(ValueError, match="out of range: the model has 4 classes"):
        grad_cam(model, X, class_idx=torch.tensor([0, -1]))
    with pytest.raises(ValueError, match=r"one class per image, shape \(2,\)"):
        grad_cam(model, X, class_idx=[0, 1, 2])
    with pytest.raises(ValueError, match="integer class indices"):
        grad_cam(model, X, class_idx=1.0)
    with pytest.raises(ValueError, match=r"no submodule 'featurs\.2'; names look like \[.*'features\.2'"):
        grad_cam(model, X, "featurs.2")
    with pytest.raises(ValueError, match=r"'fc' \(Linear\) outputs \(2, 4\).*4-D feature map"):
        grad_cam(model, X, "fc")
    with pytest.raises(ValueError, match="not a submodule of the model"):
        grad_cam(model, X, nn.Conv2d(2, 2, 3))
    with pytest.raises(ValueError, match="larger than 1x1"):
        grad_cam(model, torch.randn(2, 2, 1, 1))
    assert no_hooks(model) and all(m.training for m in model.modules())


def test_plot_grad_cam_one_axes_per_image(digits):
    torch.manual_seed(0)
    X = digits.test.X[:5]
    maps = grad_cam(darts_network(digits), X)
    fig = plot_grad_cam(X, maps, titles=[f"#{i}" for i in range(5)], mean=digits.mean, std=digits.std, ncols=3)
    assert isinstance(fig, Figure) and len(fig.axes) == 5
    assert [ax.get_title() for ax in fig.axes] == [f"#{i}" for i in range(5)]
    assert all(len(ax.get_images()) == 2 for ax in fig.axes)  # the image and its heat map
    fig.savefig(io.BytesIO(), format="png")  # it renders
    rgb = plot_grad_cam(torch.randn(2, 3, 8, 8), torch.rand(2, 8, 8))  # no statistics: stretched per image
    assert len(rgb.axes) == 2 and rgb.axes[0].get_images()[0].get_array().shape == (8, 8, 3)
    with pytest.raises(ValueError, match=r"maps \(N, H, W\) with the same N, H and W"):
        plot_grad_cam(X, maps[:, :8, :8])
    with pytest.raises(ValueError, match="both mean and std"):
        plot_grad_cam(X, maps, mean=digits.mean)
