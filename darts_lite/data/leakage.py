"""Why splits must be subject-disjoint: the same classifier scored on two kinds of split.

With an image-level random split, images of one person land in both training
and test sets, and a model can recognise the *person* instead of learning the
target (gender): the test score is inflated. A subject-disjoint split (every
person in one set only, as in Afifi's 11K Hands protocol) measures
generalisation to new people. `leakage_gap` measures the difference.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def _classifier(name: str):
    from sklearn.linear_model import LogisticRegression  # lazy: scikit-learn is heavy to import
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    models = {"knn": lambda: KNeighborsClassifier(n_neighbors=1),
              "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=0.1))}
    if name not in models:
        raise ValueError(f"unknown classifier {name!r}; choose one of {sorted(models)}")
    return models[name]()


def split_indices(groups: Sequence, test_fraction: float, seed: int, by_subject: bool):
    """(train, test) indices: a random image-level split, or a subject-disjoint one over `groups`."""
    from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    groups = np.asarray(groups)
    if by_subject:
        splitter = GroupShuffleSplit(1, test_size=test_fraction, random_state=seed)
        train, test = next(splitter.split(np.zeros(len(groups)), groups=groups))
    else:
        train, test = next(ShuffleSplit(1, test_size=test_fraction, random_state=seed).split(groups))
    shared = set(groups[train]) & set(groups[test]) if by_subject else set()
    if shared:  # verified, not trusted
        raise RuntimeError(f"subject-disjoint split shares subjects {sorted(shared)[:5]}")
    return train, test


def leakage_gap(X: np.ndarray, y: Sequence, groups: Sequence, classifier: str = "knn",
                seeds: Sequence[int] = (0, 1, 2), test_fraction: float = 0.25) -> dict:
    """Balanced accuracy with image-level vs subject-disjoint splits, per seed, and the mean gap.

    X: (N, D) features (e.g. flattened small images); y: targets; groups: subject ids.
    """
    from sklearn.metrics import balanced_accuracy_score
    X, y, groups = np.asarray(X, dtype=np.float32).reshape(len(X), -1), np.asarray(y), np.asarray(groups)
    if not len(X) == len(y) == len(groups):
        raise ValueError(f"X, y and groups must have the same length, got {len(X)}, {len(y)}, {len(groups)}")
    scores = {"image_level": [], "subject_disjoint": []}
    for seed in seeds:
        for key, by_subject in (("image_level", False), ("subject_disjoint", True)):
            train, test = split_indices(groups, test_fraction, seed, by_subject)
            model = _classifier(classifier).fit(X[train], y[train])
            scores[key].append(float(balanced_accuracy_score(y[test], model.predict(X[test]))))
    mean = {k: float(np.mean(v)) for k, v in scores.items()}
    return {"classifier": classifier, "seeds": list(seeds), **{f"{k}_scores": v for k, v in scores.items()},
            **{f"{k}_mean": m for k, m in mean.items()}, "gap": mean["image_level"] - mean["subject_disjoint"]}
