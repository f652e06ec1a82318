"""Tests for darts_lite.hands.baselines: torchvision networks at small sizes and grey input."""
import pytest
import torch

from darts_lite.hands.baselines import HAND_MADE, MIN_IMAGE_SIZE, hand_made


@pytest.mark.parametrize("name", HAND_MADE)
def test_hand_made_networks_take_grey_images_at_their_minimum_size(name):
    size = max(MIN_IMAGE_SIZE[name], 16)
    model = hand_made(name, 1, 7, image_size=size).eval()
    assert model(torch.zeros(2, 1, size, size)).shape == (2, 7)


@pytest.mark.parametrize("name, size", [("alexnet", 16), ("alexnet", 32), ("vgg11", 8), ("vgg11", 16),
                                        ("vgg11_bn", 16)])
def test_alexnet_and_vgg_are_adapted_to_small_images(name, size):
    assert size < MIN_IMAGE_SIZE[name]
    model = hand_made(name, 3, 2, image_size=size).eval()
    assert model(torch.zeros(1, 3, size, size)).shape == (1, 2)


def test_too_small_images_and_unknown_names_are_refused():
    with pytest.raises(ValueError, match="at least 16x16"):
        hand_made("alexnet", 1, 2, image_size=8)
    with pytest.raises(ValueError, match="choose from"):
        hand_made("lenet", 1, 2)
    with pytest.raises(ValueError, match="input channels"):
        hand_made("resnet18", 2, 2)


@pytest.mark.parametrize("name, size, grid", [("alexnet", 16, 6), ("vgg11", 16, 7), ("vgg11", 32, 7),
                                                   ("vgg11_bn", 16, 7)])
def test_classifier_takes_the_real_features_not_their_repeated_copies(name, size, grid):
    """The adapted network computes what torchvision's does when its first linear layer gets summed weights."""
    torch.manual_seed(0)
    adapted = hand_made(name, 3, 2, image_size=size).eval()
    import torchvision

    from darts_lite.hands.baselines import adapt_to_small_images
    original = getattr(torchvision.models, name)(weights=None, num_classes=2).eval()
    if size < MIN_IMAGE_SIZE[name]:
        adapt_to_small_images(original, name, size)
    original.load_state_dict({k: v for k, v in adapted[1].state_dict().items() if "classifier" not in k},
                             strict=False)
    first = next(i for i, m in enumerate(original.classifier) if isinstance(m, torch.nn.Linear))
    for i, m in enumerate(adapted[1].classifier):
        if isinstance(m, torch.nn.Linear) and i != first:
            original.classifier[i].load_state_dict(m.state_dict())
    small = adapted[1].classifier[first]
    assert small.in_features * grid * grid == original.classifier[first].in_features  # the map was 1x1
    with torch.no_grad():  # every copy of a feature gets 1/grid^2 of the adapted layer's weight
        original.classifier[first].weight.copy_(small.weight.repeat_interleave(grid * grid, dim=1) / grid ** 2)
        original.classifier[first].bias.copy_(small.bias)
    x = torch.randn(2, 3, size, size)
    torch.testing.assert_close(adapted(x), original(x), rtol=1e-4, atol=1e-5)


def test_building_leaves_batchnorm_statistics_untouched():
    model = hand_made("vgg11_bn", 1, 2, image_size=16)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert model.training and bns and all(int(m.num_batches_tracked) == 0 for m in bns)
    assert all(torch.equal(m.running_mean, torch.zeros_like(m.running_mean)) for m in bns)
