"""Tests for darts_lite.data: splits, normalisation, batching, registry and offline errors."""
import urllib.error

import numpy as np
import pytest
import torch

from darts_lite.data import (
    DATASETS,
    DataSplits,
    Split,
    iterate_batches,
    load_cifar10,
    load_dataset,
    num_batches,
    register_dataset,
    resize,
    three_way_split,
)

try:  # imported once here so that its import time is not charged to a single test
    import torchvision.datasets as tv_datasets
except ImportError:
    tv_datasets = None
needs_torchvision = pytest.mark.skipif(tv_datasets is None, reason="torchvision is not installed")


@pytest.fixture(scope="module")
def digits() -> DataSplits:
    return load_dataset("digits", seed=0)


def all_splits(data: DataSplits):
    return [data.search_train, data.search_val, data.test]


def test_digits_shapes_and_metadata(digits):
    assert (digits.num_classes, digits.in_channels, digits.image_size) == (10, 1, 16)
    assert digits.classes == [str(d) for d in range(10)]
    assert sum(len(s) for s in all_splits(digits)) == 1797
    for split in all_splits(digits):
        assert split.X.dtype == torch.float32 and split.y.dtype == torch.int64
        assert split.X.shape[1:] == (1, 16, 16)
        assert set(split.y.tolist()) == set(range(10))
    assert len(digits.summary().splitlines()) == 4


def test_digits_rgb_has_three_channels():
    data = load_dataset("digits", grayscale=False)
    assert data.in_channels == 3 and data.test.X.shape[1] == 3 and len(data.mean) == 3


@pytest.mark.parametrize("size", [8, 16, 28])
def test_image_size_is_respected(size):
    data = load_dataset("digits", image_size=size)
    assert data.image_size == size
    assert all(s.X.shape[-2:] == (size, size) for s in all_splits(data))


def test_normalised_with_search_train_statistics(digits):
    X = digits.search_train.X
    assert abs(X.mean().item()) < 1e-4 and abs(X.std().item() - 1) < 1e-3
    assert len(digits.mean) == len(digits.std) == 1 and 0 < digits.mean[0] < 1
    # The other splits use the same statistics, so they are close to, not exactly, standardised.
    assert abs(digits.test.X.mean().item()) < 0.2


def test_three_way_split_is_disjoint_covering_and_stratified():
    y = np.repeat(np.arange(5), [100, 200, 50, 150, 300])
    parts = three_way_split(y, (0.5, 0.3, 0.2), seed=1)
    joined = np.concatenate(parts)
    assert len(joined) == len(y) and len(np.unique(joined)) == len(y)
    assert [len(p) for p in parts] == [400, 240, 160]
    overall = np.bincount(y) / len(y)
    for p in parts:
        assert np.abs(np.bincount(y[p], minlength=5) / len(p) - overall).max() < 0.01


def test_split_depends_on_seed_only():
    y = np.arange(300) % 3
    a, b = three_way_split(y, seed=0), three_way_split(y, seed=0)
    c = three_way_split(y, seed=1)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_digits_seed_changes_split():
    a, b = load_dataset("digits", seed=0), load_dataset("digits", seed=0)
    c = load_dataset("digits", seed=1)
    assert torch.equal(a.test.X, b.test.X) and torch.equal(a.test.y, b.test.y)
    assert not torch.equal(a.test.y, c.test.y)


def make_split(n=23):
    return Split(torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1), torch.arange(n))


@pytest.mark.parametrize("drop_last", [False, True])
def test_iterate_batches_covers_every_sample_once(drop_last):
    split = make_split(23)
    batches = list(iterate_batches(split, 5, torch.Generator().manual_seed(0), drop_last=drop_last))
    assert len(batches) == num_batches(23, 5, drop_last) == (4 if drop_last else 5)
    seen = torch.cat([y for _, y in batches])
    assert len(seen) == (20 if drop_last else 23) and len(seen.unique()) == len(seen)
    assert all(torch.equal(X.view(-1).long(), y) for X, y in batches)
    assert all(len(y) == 5 for _, y in batches[:4])


def test_iterate_batches_without_shuffle_keeps_order():
    ys = [y.tolist() for _, y in iterate_batches(make_split(7), 3, shuffle=False)]
    assert ys == [[0, 1, 2], [3, 4, 5], [6]]


def test_start_skips_exactly_the_first_batches():
    split = make_split(23)
    full = list(iterate_batches(split, 4, torch.Generator().manual_seed(7)))
    resumed = list(iterate_batches(split, 4, torch.Generator().manual_seed(7), start=2))
    assert len(resumed) == len(full) - 2
    assert all(torch.equal(a[1], b[1]) for a, b in zip(full[2:], resumed))
    assert list(iterate_batches(split, 4, start=len(full))) == []


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=0), "batch_size must be an integer >= 1, got 0"),
    (dict(batch_size=4, start=99), r"start must be an integer in \[0, 6\]"),
    (dict(batch_size=4, start=-1), "got -1"),
])
def test_iterate_batches_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        next(iterate_batches(make_split(23), **kwargs))


@pytest.mark.parametrize("kwargs, match", [
    (dict(image_size=3), r"image_size must be an integer >= 4 .*got 3; try 16"),
    (dict(fractions=(0.5, 0.5, 0.5)), r"summing to 1, got \(0.5, 0.5, 0.5\)"),
    (dict(fractions=(0.6, 0.4)), "must be 3 positive numbers"),
    (dict(fractions=(1.2, -0.4, 0.2)), "positive"),
])
def test_digits_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_dataset("digits", **kwargs)


def test_resize_rejects_small_size_and_keeps_matching_size():
    X = torch.rand(2, 3, 10, 10)
    assert resize(X, 10) is X and resize(X, 5).shape == (2, 3, 5, 5)
    with pytest.raises(ValueError, match="try 16 or 32"):
        resize(X, 2)


def test_unknown_dataset_lists_registered_names():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'.*cifar10, digits"):
        load_dataset("mnist")


def test_register_dataset_adds_and_refuses_duplicates(digits):
    @register_dataset("tiny_test_set")
    def load_tiny(seed=0):
        return digits

    try:
        assert DATASETS["tiny_test_set"] is load_tiny
        assert load_dataset("tiny_test_set") is digits
        with pytest.raises(ValueError, match="'tiny_test_set' is already registered"):
            register_dataset("tiny_test_set")(load_tiny)
    finally:
        DATASETS.pop("tiny_test_set", None)


@needs_torchvision
@pytest.mark.parametrize("error", [urllib.error.URLError("no network"), RuntimeError("Dataset not found")])
def test_cifar10_offline_raises_clear_error(tmp_path, monkeypatch, error):
    def offline(*args, **kwargs):
        raise error

    monkeypatch.setattr(tv_datasets, "CIFAR10", offline)
    with pytest.raises(RuntimeError, match="needs internet") as info:
        load_cifar10(root=tmp_path)
    assert str(tmp_path) in str(info.value) and 'dataset="digits"' in str(info.value)


def test_cifar10_rejects_bad_search_fraction(tmp_path):
    with pytest.raises(ValueError, match="search_fraction must lie strictly between 0 and 1, got 1.0"):
        load_cifar10(root=tmp_path, search_fraction=1.0)


@needs_torchvision
def test_cifar10_converts_torchvision_arrays(monkeypatch):

    class FakeCIFAR10:  # the attributes load_cifar10 reads, with tiny random contents
        def __init__(self, root, train, download):
            n = 200 if train else 50
            rng = np.random.default_rng(int(train))
            self.data = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
            self.targets = list(np.arange(n) % 10)
            self.classes = [f"class{i}" for i in range(10)]

    monkeypatch.setattr(tv_datasets, "CIFAR10", FakeCIFAR10)
    data = load_dataset("cifar10", image_size=16, limit=40)
    assert [len(s) for s in all_splits(data)] == [40, 40, 40]
    assert data.search_train.X.shape == (40, 3, 16, 16) and data.in_channels == 3
    assert np.allclose(data.search_train.X.mean(dim=(0, 2, 3)), 0, atol=1e-5)
    full = load_cifar10(limit=None)
    assert [len(s) for s in all_splits(full)] == [100, 100, 50]
