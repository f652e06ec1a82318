"""Hand-made networks from torchvision, untrained, at any input size and number of channels.

`hand_made(name, in_channels, num_classes)` builds a torchvision model (no pretrained weights:
they are compared under the same training budget as the searched networks). Grey images are
repeated to the three channels torchvision's first layers expect; every model ends in adaptive
pooling, so small inputs work for MobileNetV3 and ResNet (a 16x16 image reaches ResNet-18's last
stage as 1x1). AlexNet and VGG keep fixed pooling stacks; given an `image_size` below what they
take, they are adapted the usual way for small images ("AlexNet-style", "VGG-style"): AlexNet's
first 11x11 convolution gets stride 1 and padding 5 instead of stride 4 (>= 16 px), and VGG drops
its last max-pools until the map stays at least 1x1. Where their last feature map is smaller than
the grid their classifier expects (AlexNet 6x6, VGG 7x7), torchvision's adaptive average pool only
repeats each value (a 1x1 map 36 or 49 times), so the first linear layer sees copies; the
adaptation keeps the map as it is and gives that layer one input per real feature (the same
function class with 36-49x fewer weights there: VGG-11 at 16 px has 28M parameters instead of 129M).
`vgg11_bn` is torchvision's VGG-11 with BatchNorm after every convolution: under the short training
budgets of the notebooks plain VGG-11 can stay at the majority class, the BatchNorm one trains.
"""
from __future__ import annotations

import torch
import torch.nn as nn

HAND_MADE = ("mobilenet_v3_small", "resnet18", "alexnet", "vgg11", "vgg11_bn")
# The smallest square input each one accepts as torchvision builds it (measured: AlexNet fails at
# 32, VGG-11 at 16), and after the small-image adaptation.
MIN_IMAGE_SIZE = {"mobilenet_v3_small": 1, "resnet18": 1, "alexnet": 63, "vgg11": 32, "vgg11_bn": 32}
# The ones whose classifier takes a fixed grid of features (AlexNet 6x6, VGG 7x7) through an adaptive pool.
FIXED_GRID = ("alexnet", "vgg11", "vgg11_bn")
MIN_ADAPTED_SIZE = {"mobilenet_v3_small": 1, "resnet18": 1, "alexnet": 16, "vgg11": 1, "vgg11_bn": 1}

# Trained channels-last on a CPU (`core.channels_last`): measured faster there, one training step at 32 px,
# batch 32, 2 cores: MobileNetV3 2.4x; ResNet-18 0.9x (slower: stays as it is); the others not measured.
FASTER_CHANNELS_LAST = {"mobilenet_v3_small"}


class RepeatChannels(nn.Module):
    """(N, 1, H, W) -> (N, 3, H, W) by repetition; a no-op on 3 channels."""

    def forward(self, x):
        return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


def hand_made(name: str, in_channels: int, num_classes: int, image_size: int | None = None) -> nn.Module:
    """An untrained torchvision `name` for `in_channels` (1 or 3) and `num_classes`.

    With `image_size`, a network that cannot take inputs that small is refused with its minimum.
    """
    if name not in HAND_MADE:
        raise ValueError(f"unknown hand-made network {name!r}; choose from {HAND_MADE}")
    if image_size is not None and image_size < MIN_ADAPTED_SIZE[name]:
        raise ValueError(f"{name} needs images of at least {MIN_ADAPTED_SIZE[name]}x{MIN_ADAPTED_SIZE[name]}, "
                         f"got {image_size}; use a larger image_size or another network")
    if in_channels not in (1, 3):
        raise ValueError(f"hand-made networks take 1 (repeated) or 3 input channels, got {in_channels}")
    import torchvision  # lazy: it loads torch._dynamo, over a second of every process's start-up
    model = getattr(torchvision.models, name)(weights=None, num_classes=num_classes)
    if image_size is not None and image_size < MIN_IMAGE_SIZE[name]:
        adapt_to_small_images(model, name, image_size)
    if image_size is not None and name in FIXED_GRID:
        drop_repeated_features(model, image_size)
    net = nn.Sequential(RepeatChannels(), model)
    net.faster_channels_last = name in FASTER_CHANNELS_LAST  # read by core.channels_last.use_channels_last
    return net


def adapt_to_small_images(model: nn.Module, name: str, image_size: int) -> None:
    """AlexNet: stride-1 first convolution; VGG: drop trailing max-pools until the map stays >= 1x1."""
    if name == "alexnet":
        model.features[0] = nn.Conv2d(3, 64, kernel_size=11, stride=1, padding=5)
    elif name.startswith("vgg"):
        pools = [i for i, m in enumerate(model.features) if isinstance(m, nn.MaxPool2d)]
        keep = max(0, image_size.bit_length() - 1)  # floor(log2(size)) halvings leave >= 1x1
        for i in pools[keep:]:
            model.features[i] = nn.Identity()


def drop_repeated_features(model: nn.Module, image_size: int) -> None:
    """Pool to the real size of the last feature map where torchvision's pool would only repeat it."""
    training = model.training
    with torch.no_grad():  # in eval mode: a probe must not touch BatchNorm statistics
        C, h, w = model.eval().features(torch.zeros(1, 3, image_size, image_size)).shape[1:]
    model.train(training)
    target = model.avgpool.output_size
    target = (target, target) if isinstance(target, int) else tuple(target)
    if h >= target[0] and w >= target[1]:
        return
    first = next(i for i, m in enumerate(model.classifier) if isinstance(m, nn.Linear))
    model.avgpool = nn.AdaptiveAvgPool2d((h, w))
    model.classifier[first] = nn.Linear(C * h * w, model.classifier[first].out_features)

