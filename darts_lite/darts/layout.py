"""The macro-architecture shared by the supernet and the derived network: the stem, where the reduction
cells go, and the size checks both apply (Liu et al., 2019, Sec. 3.1: reductions at 1/3 and 2/3 of the depth)."""
from __future__ import annotations

import torch.nn as nn


def stem(in_channels: int, channels: int) -> nn.Sequential:
    """The first layer of both networks: a 3x3 convolution to `channels` (stem_multiplier * C), BatchNorm."""
    return nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))


def reduction_layers(layers: int) -> tuple[int, int]:
    """Indices of the two reduction cells: at 1/3 and 2/3 of the depth."""
    return layers // 3, 2 * layers // 3


def check_shape(**sizes: int) -> None:
    """Raise ValueError unless every size is a positive integer (layers >= 3) and multiplier <= nodes."""
    minimum = {"layers": 3, "multiplier": 1, "nodes": 1}
    for name, value in sizes.items():
        low = minimum.get(name, 1)
        if not isinstance(value, int) or value < low:
            why = " (the network needs a normal cell and two reduction cells)" if name == "layers" else ""
            raise ValueError(f"{name} must be an integer >= {low}{why}, got {value!r}")
    if sizes["multiplier"] > sizes["nodes"]:
        raise ValueError(f"multiplier ({sizes['multiplier']}) cannot exceed nodes ({sizes['nodes']}): "
                         "the cell output concatenates the last `multiplier` intermediate nodes")
