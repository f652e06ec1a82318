"""CIFAR-10 split as in the DARTS paper: half of the training set each for w and alpha.

The 50k official training images are split (stratified, per seed) into
`search_train` and `search_val`; the official 10k test images are the `test`
split. torchvision downloads the data once into `root` (about 170 MB), so the
first call needs internet; use `dataset="digits"` to work offline.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .base import DataSplits, Split, check_image_size, normalise, register_dataset, resize, stratified_subset


def _open_cifar10(root, train: bool, download: bool):
    """Open one half of CIFAR-10 with torchvision, turning offline failures into a clear error."""
    from torchvision import datasets  # imported here so that offline data sets need no torchvision

    try:
        return datasets.CIFAR10(root=str(root), train=train, download=download)
    except (RuntimeError, OSError) as err:  # URLError is an OSError
        hint = ("downloading it needs internet access" if download
                else "pass download=True (needs internet access) to fetch it")
        raise RuntimeError(
            f"CIFAR-10 is not available under {Path(root).resolve()} and {hint} ({err}). "
            "Place the extracted 'cifar-10-batches-py' folder there, or use dataset=\"digits\", "
            "which ships with scikit-learn and works offline."
        ) from err


def _to_tensor(images: np.ndarray, image_size: int) -> torch.Tensor:
    """uint8 (N, H, W, C) images -> float32 (N, C, image_size, image_size) in [0, 1]."""
    X = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0)
    return resize(X, image_size)


@register_dataset("cifar10")
def load_cifar10(image_size: int = 32, root="data", seed: int = 0, download: bool = True,
                 search_fraction: float = 0.5, limit: int | None = None) -> DataSplits:
    """Load CIFAR-10: search_train/search_val from the training set, the official test set as test."""
    check_image_size(image_size)
    if not 0.0 < search_fraction < 1.0:
        raise ValueError(f"search_fraction must lie strictly between 0 and 1, got {search_fraction!r}; "
                         "the DARTS paper uses 0.5")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 10):
        raise ValueError(f"limit must be None or an integer >= 10 (one sample per class), got {limit!r}")
    train = _open_cifar10(root, train=True, download=download)
    test = _open_cifar10(root, train=False, download=download)

    y_train, y_test = np.asarray(train.targets), np.asarray(test.targets)
    from sklearn.model_selection import train_test_split  # lazy: scikit-learn is heavy to import
    search_tr, search_va = train_test_split(np.arange(len(y_train)), train_size=search_fraction,
                                            stratify=y_train, random_state=seed)
    search_tr, search_va, test_idx = np.sort(search_tr), np.sort(search_va), np.arange(len(y_test))
    if limit is not None:
        # Subsample indices before converting, so a quick run never builds the full float tensors.
        search_tr = search_tr[stratified_subset(y_train[search_tr], limit, seed)]
        search_va = search_va[stratified_subset(y_train[search_va], limit, seed)]
        test_idx = stratified_subset(y_test, limit, seed)

    (X_tr, X_va, X_te), mean, std = normalise(_to_tensor(train.data[search_tr], image_size),
                                              _to_tensor(train.data[search_va], image_size),
                                              _to_tensor(test.data[test_idx], image_size))
    return DataSplits(
        name="cifar10",
        search_train=Split(X_tr, torch.as_tensor(y_train[search_tr], dtype=torch.int64)),
        search_val=Split(X_va, torch.as_tensor(y_train[search_va], dtype=torch.int64)),
        test=Split(X_te, torch.as_tensor(y_test[test_idx], dtype=torch.int64)),
        num_classes=len(train.classes), in_channels=3, image_size=image_size,
        classes=list(train.classes), mean=mean, std=std,
    )
