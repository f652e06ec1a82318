"""Data sets for architecture search, each split into search_train, search_val and test.

`load_dataset(name, ...)` looks a loader up in the registry `DATASETS`; importing
this package registers the built-in ones ("digits", offline; "cifar10", which
downloads once; "hands11k", 11K Hands from $HANDS11K_ROOT or data/11k-hands/).
Add your own with `@register_dataset("name")`. `leakage_gap` measures how much a split that
is not subject-disjoint flatters a classifier. It reads files through `darts_lite.readers` (bounded
in size, checked for their kind), the one layer below it, and imports nothing else of darts_lite.
"""
from .base import (
    DATASETS,
    DataSplits,
    Split,
    as_grayscale,
    iterate_batches,
    load_dataset,
    normalise,
    num_batches,
    register_dataset,
    resize,
    three_way_split,
)
from .cifar10 import load_cifar10
from .digits import load_digits
from .hands11k import download_hands11k, load_hands11k
from .leakage import leakage_gap

__all__ = [
    "DATASETS", "DataSplits", "Split", "as_grayscale", "download_hands11k", "iterate_batches", "leakage_gap",
    "load_cifar10", "load_dataset", "load_digits", "load_hands11k", "normalise", "num_batches", "register_dataset",
    "resize", "three_way_split",
]
