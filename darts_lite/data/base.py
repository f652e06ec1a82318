"""In-memory dataset splits for architecture search: types, registry and batching.

DARTS needs three disjoint splits: `search_train` trains the network weights w,
`search_val` trains the architecture parameters alpha, and `test` is held out
for the final evaluation. Every loader returns a `DataSplits` whose tensors are
already resized and normalised with statistics of `search_train` only, so no
information leaks from the other two splits. The data sets are small enough to
keep in memory, which makes batching a matter of indexing (`iterate_batches`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class Split:
    """One split held in memory: images `X` (N, C, H, W) float32 and labels `y` (N,) int64."""

    X: torch.Tensor
    y: torch.Tensor

    def __post_init__(self):
        if self.X.ndim != 4 or self.y.ndim != 1 or len(self.X) != len(self.y):
            raise ValueError(f"a Split needs X of shape (N, C, H, W) and y of shape (N,), "
                             f"got X {tuple(self.X.shape)} and y {tuple(self.y.shape)}")

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device) -> "Split":
        """Return a copy of this split on `device`."""
        return Split(self.X.to(device), self.y.to(device))


@dataclass
class DataSplits:
    """What every loader returns: the three splits plus the metadata a model needs."""

    name: str
    search_train: Split
    search_val: Split
    test: Split
    num_classes: int
    in_channels: int
    image_size: int
    classes: list[str]
    mean: list[float]  # per channel, computed on search_train only
    std: list[float]
    records: dict[str, list[Any]] | None = None  # per split name, one metadata record per image, in order
    left_out: dict[str, list[str]] | None = None  # why -> the images the loader left out for that reason

    def splits(self) -> dict[str, Split]:
        """The three splits by name, in search_train, search_val, test order."""
        return {"search_train": self.search_train, "search_val": self.search_val, "test": self.test}

    def summary(self) -> str:
        """One header line, then one line per split with its size and class counts."""
        lines = [f"{self.name}: {self.num_classes} classes, "
                 f"{self.in_channels}x{self.image_size}x{self.image_size} images"]
        for name, split in self.splits().items():
            counts = torch.bincount(split.y.cpu(), minlength=self.num_classes).tolist()
            lines.append(f"  {name:<12} {len(split):>6} samples, per class {counts}")
        if self.left_out:
            lines.append(left_out_report(self.left_out))
        return "\n".join(lines)


def left_out_report(left_out: dict[str, list[str]], show: int = 3) -> str:
    """One report of everything a loader left out: a line per reason, its count and the first names."""
    total = sum(len(v) for v in left_out.values())
    lines = [f"  left out: {total} image(s)"]
    for why, names in left_out.items():
        if names:
            more = f", ... ({len(names) - show} more)" if len(names) > show else ""
            lines.append(f"    {len(names):>6}  {why}: {', '.join(names[:show])}{more}")
    return "\n".join(lines)


# name -> loader(image_size=..., root=..., seed=..., **kwargs) -> DataSplits
DATASETS: dict[str, Callable[..., DataSplits]] = {}


def register_dataset(name: str):
    """Decorator that adds a loader to `DATASETS` under `name` (duplicates are refused)."""
    if not name or not isinstance(name, str):
        raise ValueError(f"a dataset name must be a non-empty string, got {name!r}")

    def decorator(loader: Callable[..., DataSplits]) -> Callable[..., DataSplits]:
        if name in DATASETS:
            raise ValueError(f"dataset {name!r} is already registered (by {DATASETS[name].__name__}); "
                             "pick another name or delete DATASETS[name] first")
        DATASETS[name] = loader
        return loader

    return decorator


def load_dataset(name: str, image_size: int | None = None, root=None, seed: int = 0,
                 **kwargs) -> DataSplits:
    """Load the registered dataset `name`; None for image_size or root means the loader's default."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; registered datasets: {', '.join(sorted(DATASETS))}. "
                         "Add one with @darts_lite.data.register_dataset(name).")
    # Only forward what was given so that each loader keeps its own defaults.
    if image_size is not None:
        kwargs["image_size"] = image_size
    if root is not None:
        kwargs["root"] = root
    return DATASETS[name](seed=seed, **kwargs)


def as_grayscale(data: DataSplits) -> DataSplits:
    """The same splits with colour channels averaged into one (already normalised) channel."""
    if data.in_channels == 1:
        return data

    def gray(s: Split) -> Split:
        return Split(s.X.mean(1, keepdim=True), s.y)

    return DataSplits(name=data.name, search_train=gray(data.search_train), search_val=gray(data.search_val),
                      test=gray(data.test), num_classes=data.num_classes, in_channels=1,
                      image_size=data.image_size, classes=data.classes, mean=[0.0], std=[1.0],
                      records=data.records)


def num_batches(n: int, batch_size: int, drop_last: bool) -> int:
    """Number of batches one epoch over `n` samples yields."""
    check_batch_size(batch_size)
    return n // batch_size if drop_last else math.ceil(n / batch_size)


def check_batch_size(batch_size: int) -> None:
    """Raise a ValueError unless batch_size is an integer >= 1."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}; try 32 or 64")


def iterate_batches(split: Split, batch_size: int, generator: torch.Generator | None = None,
                    shuffle: bool = True, drop_last: bool = False,
                    start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield (X, y) batches of one epoch, skipping the first `start` batches of its order."""
    n = len(split)
    total = num_batches(n, batch_size, drop_last)
    if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start <= total:
        raise ValueError(f"start must be an integer in [0, {total}] (the batches in this epoch), "
                         f"got {start!r}")
    # To resume mid-epoch the caller passes a generator seeded as before, so
    # randperm reproduces the same order and skipping `start` batches is exact.
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    order = order.to(split.X.device)
    for b in range(start, total):
        idx = order[b * batch_size:(b + 1) * batch_size]
        yield split.X[idx], split.y[idx]


def three_way_split(y, fractions: Sequence[float] = (0.4, 0.4, 0.2),
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified (search_train, search_val, test) index arrays, deterministic per seed."""
    y = np.asarray(y)
    fractions = check_fractions(fractions, 3)
    n = len(y)
    n_val, n_test = round(n * fractions[1]), round(n * fractions[2])
    if min(n - n_val - n_test, n_val, n_test) < 1:
        raise ValueError(f"fractions {fractions} leave an empty split of {n} samples; "
                         "use larger fractions or more data")
    indices = np.arange(n)
    from sklearn.model_selection import train_test_split  # lazy: scikit-learn is heavy to import
    rest, test = train_test_split(indices, test_size=n_test, stratify=y, random_state=seed)
    train, val = train_test_split(rest, test_size=n_val, stratify=y[rest], random_state=seed)
    # Sorted so that each split keeps the source order; batching shuffles anyway.
    return np.sort(train), np.sort(val), np.sort(test)


def check_fractions(fractions: Sequence[float], count: int) -> tuple[float, ...]:
    """Validate `count` positive fractions summing to 1; returns them as a tuple of floats."""
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != count or min(fractions) <= 0 or not math.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be {count} positive numbers summing to 1, got {fractions}; "
                         "e.g. (0.4, 0.4, 0.2) for search_train, search_val, test")
    return fractions


def stratified_subset(y, size: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of a class-stratified random subset of `size` samples (all if size >= len)."""
    y = np.asarray(y)
    if size >= len(y):
        return np.arange(len(y))
    from sklearn.model_selection import train_test_split  # lazy: scikit-learn is heavy to import
    keep, _ = train_test_split(np.arange(len(y)), train_size=size, stratify=y, random_state=seed)
    return np.sort(keep)


def normalise(X_train: torch.Tensor, *X_others: torch.Tensor
              ) -> tuple[list[torch.Tensor], list[float], list[float]]:
    """Standardise every tensor with per-channel mean/std of X_train; returns (tensors, mean, std)."""
    mean = X_train.mean(dim=(0, 2, 3))
    std = X_train.std(dim=(0, 2, 3))
    if (std == 0).any():
        raise ValueError(f"a channel of the training images is constant (std {std.tolist()}); "
                         "it cannot be normalised, check the images are not blank")
    shape = (1, -1, 1, 1)
    out = [(X - mean.view(shape)) / std.view(shape) for X in (X_train, *X_others)]
    return out, mean.tolist(), std.tolist()


def check_image_size(image_size: int) -> None:
    """Raise a ValueError unless image_size is an integer >= 4."""
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 4:
        raise ValueError(f"image_size must be an integer >= 4 (the network downsamples twice), "
                         f"got {image_size!r}; try 16 or 32")


def resize(X: torch.Tensor, image_size: int) -> torch.Tensor:
    """Bilinearly resize (N, C, H, W) images to image_size x image_size."""
    check_image_size(image_size)
    if X.shape[-2:] == (image_size, image_size):
        return X
    # Antialiasing only matters when shrinking; it avoids aliasing artefacts.
    shrinking = image_size < max(X.shape[-2:])
    return F.interpolate(X, size=(image_size, image_size), mode="bilinear",
                         align_corners=False, antialias=shrinking)
