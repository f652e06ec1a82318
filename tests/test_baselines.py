"""Tests for darts_lite.baselines: torchvision networks at small sizes and grey input."""
import pytest
import torch

from darts_lite.baselines import HAND_MADE, MIN_IMAGE_SIZE, hand_made


@pytest.mark.parametrize("name", HAND_MADE)
def test_hand_made_networks_take_grey_images_at_their_minimum_size(name):
    size = max(MIN_IMAGE_SIZE[name], 16)
    model = hand_made(name, 1, 7, image_size=size).eval()
    assert model(torch.zeros(2, 1, size, size)).shape == (2, 7)


@pytest.mark.parametrize("name, size", [("alexnet", 16), ("alexnet", 32), ("vgg11", 8), ("vgg11", 16)])
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
