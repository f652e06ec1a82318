"""The scikit-learn handwritten digits as a DARTS data set that works offline.

1797 grey 8x8 images of the digits 0-9 ship inside scikit-learn, so this loader
needs neither internet nor disk space: the right choice for tests, notebooks
on a laptop and a first search that finishes in minutes on a CPU.
"""
from __future__ import annotations

import torch

from .base import DataSplits, Split, check_image_size, normalise, register_dataset, resize, three_way_split


@register_dataset("digits")
def load_digits(image_size: int = 16, root=None, seed: int = 0,
                fractions=(0.4, 0.4, 0.2), grayscale: bool = True) -> DataSplits:
    """Load sklearn's digits, resized and split into search_train, search_val and test."""
    del root  # the data ship with scikit-learn; accepted so that load_dataset can pass it
    check_image_size(image_size)
    from sklearn.datasets import load_digits as _sklearn_digits  # lazy: scikit-learn is heavy to import
    digits = _sklearn_digits()
    # Pixel values are integers 0..16; scale to [0, 1] like other image data sets.
    X = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if not grayscale:
        X = X.expand(-1, 3, -1, -1)
    X = resize(X, image_size)
    y = torch.tensor(digits.target, dtype=torch.int64)

    idx = three_way_split(digits.target, fractions, seed)
    (X_tr, X_va, X_te), mean, std = normalise(*(X[torch.from_numpy(i)] for i in idx))
    y_tr, y_va, y_te = (y[torch.from_numpy(i)] for i in idx)
    return DataSplits(
        name="digits",
        search_train=Split(X_tr, y_tr), search_val=Split(X_va, y_va), test=Split(X_te, y_te),
        num_classes=10, in_channels=X.shape[1], image_size=image_size,
        classes=[str(d) for d in range(10)], mean=mean, std=std,
    )
