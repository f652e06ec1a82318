"""The leakage demonstration: image-level splits inflate scores when subjects carry identity."""
import numpy as np
import pytest

from darts_lite.data.leakage import leakage_gap, split_indices


def identity_dominated(n_subjects=40, per_subject=10, dim=20, seed=0):
    """Each subject has a strong personal signature and a label that is random per subject."""
    rng = np.random.default_rng(seed)
    signature = rng.normal(0, 3, (n_subjects, dim))
    label = rng.integers(0, 2, n_subjects)
    groups = np.repeat(np.arange(n_subjects), per_subject)
    X = signature[groups] + rng.normal(0, 0.5, (len(groups), dim))
    return X, label[groups], groups


def test_image_level_split_leaks_and_subject_split_does_not():
    X, y, groups = identity_dominated()
    result = leakage_gap(X, y, groups, "knn", seeds=(0, 1, 2))
    # The label is unrelated to anything but identity: only a leaky split can beat chance.
    assert result["image_level_mean"] > 0.9
    assert result["subject_disjoint_mean"] < 0.75
    assert result["gap"] == pytest.approx(result["image_level_mean"] - result["subject_disjoint_mean"])


def test_subject_split_is_disjoint_and_image_split_is_not():
    _, _, groups = identity_dominated()
    train, test = split_indices(groups, 0.25, seed=0, by_subject=True)
    assert not set(groups[train]) & set(groups[test])
    train, test = split_indices(groups, 0.25, seed=0, by_subject=False)
    assert set(groups[train]) & set(groups[test])


def test_bad_arguments_are_named():
    X, y, groups = identity_dominated(n_subjects=6)
    with pytest.raises(ValueError, match="unknown classifier 'svm'"):
        leakage_gap(X, y, groups, "svm")
    with pytest.raises(ValueError, match="same length"):
        leakage_gap(X, y[:-1], groups)
    with pytest.raises(ValueError, match="test_fraction"):
        split_indices(groups, 1.5, 0, True)
