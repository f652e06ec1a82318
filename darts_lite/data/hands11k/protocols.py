"""Subject-disjoint splits of 11K Hands: a random split and the dataset author's gender protocol.

One person contributes many images to 11K Hands (Afifi, 2019,
doi:10.1007/s11042-019-7424-8), so an image-level split would let a network
recognise the person instead of the target (see `leakage.py`). Every split
here keeps each subject in exactly one set, and `check_subject_disjoint`
verifies that at run time rather than trusting the code that built it.

The official protocol (Sec. 4 of the paper): per aspect (dorsal or palmar),
10 random splits with 1,000 training and 500 test images of each gender,
subject-disjoint. Records are anything with `.subject` and `.gender`
attributes (a `HandRecord`); splits are sorted index arrays into the records.
"""
from __future__ import annotations

import math
import warnings
from collections import defaultdict
from typing import Mapping, Sequence

import numpy as np

from ..base import check_fractions


def check_subject_disjoint(splits: Mapping[str, Sequence], records: Sequence | None = None) -> None:
    """Raise a ValueError naming the subjects that appear in more than one split."""
    seen: dict[str, str] = {}
    leaks: dict[str, set[str]] = defaultdict(set)
    for name, members in splits.items():
        # Splits may hold records or, when `records` is given, indices into it.
        members = [records[int(i)] for i in members] if records is not None else members
        for subject in {r.subject for r in members}:
            if subject in seen:
                leaks[subject].update((seen[subject], name))
            else:
                seen[subject] = name
    if leaks:
        detail = ", ".join(f"{s} in {sorted(names)}" for s, names in sorted(leaks.items()))
        raise ValueError(f"{len(leaks)} subject(s) appear in more than one split: {detail}. "
                         "Split by subject (subject_split or official_protocol), never by image.")


# Only attributes constant per subject can stratify a subject split (aspect varies per image).
SUBJECT_ATTRIBUTES = ("gender", "age_group", "skin_color")


def _subjects_by_class(records: Sequence, indices: Sequence[int], stratify: str | None):
    """{class: {subject: [indices]}} for the given indices; one class when stratify is None."""
    if stratify is not None and stratify not in SUBJECT_ATTRIBUTES:
        raise ValueError(f"cannot stratify a subject split by {stratify!r}; choose one of "
                         f"{SUBJECT_ATTRIBUTES} (constant per subject) or None")
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i in indices:
        r = records[i]
        groups[getattr(r, stratify) if stratify else ""][r.subject].append(int(i))
    return groups


def _split_groups(records: Sequence, indices: Sequence[int], fractions: Sequence[float],
                  rng: np.random.Generator, stratify: str | None) -> list[np.ndarray]:
    """Deal whole subjects to len(fractions) parts so each part's image share is near its fraction."""
    parts: list[list[int]] = [[] for _ in fractions]
    by_class = _subjects_by_class(records, indices, stratify)
    for label in sorted(by_class):
        subjects = by_class[label]
        names = sorted(subjects)
        order = rng.permutation(len(names))
        total = sum(len(v) for v in subjects.values())
        counts = [0] * len(fractions)
        for k in order:
            # Greedy: the part furthest below its target share takes the next subject, so
            # image counts (not subject counts) follow the fractions, per class.
            deficits = [f * total - c for f, c in zip(fractions, counts)]
            j = int(np.argmax(deficits))
            parts[j].extend(subjects[names[k]])
            counts[j] += len(subjects[names[k]])
    return [np.array(sorted(p), dtype=np.int64) for p in parts]


def subject_split(records: Sequence, fractions: Sequence[float] = (0.6, 0.2, 0.2), seed: int = 0,
                  stratify: str | None = "gender") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random subject-disjoint (search_train, search_val, test) index arrays, stratified by subject."""
    fractions = check_fractions(fractions, 3)
    if len({r.subject for r in records}) < 3:
        raise ValueError(f"a three-way subject split needs at least 3 subjects, got "
                         f"{len({r.subject for r in records})}; relax the filters or add data")
    rng = np.random.default_rng(seed)
    parts = _split_groups(records, range(len(records)), fractions, rng, stratify)
    for name, part in zip(("search_train", "search_val", "test"), parts):
        if len(part) == 0:
            raise ValueError(f"split {name!r} is empty with fractions {fractions} on {len(records)} "
                             "images; use larger fractions or more data")
    check_subject_disjoint(dict(zip(("search_train", "search_val", "test"), parts)), records)
    return parts[0], parts[1], parts[2]


def _protocol_partition(by_gender, rng_order, train_n: int, test_n: int):
    """Per gender, test subjects first (a prefix of the shuffled order), then train; None if short."""
    chosen = {"train": [], "test": []}
    for gender, subjects in sorted(by_gender.items()):
        names = sorted(subjects)
        names = [names[k] for k in rng_order[gender]]
        test_pool, train_pool = [], []
        for name in names:
            (test_pool if len(test_pool) < test_n else train_pool).extend(subjects[name])
        if len(train_pool) < train_n:
            return None
        chosen["test"].append((gender, test_pool))
        chosen["train"].append((gender, train_pool))
    return chosen


def official_protocol(records: Sequence, aspect: str, split_index: int = 0, seed: int = 0,
                      train_per_gender: int = 1000, test_per_gender: int = 500) -> dict:
    """Afifi's balanced subject-disjoint gender split for one aspect: {"train", "test", counts}."""
    if aspect not in ("dorsal", "palmar"):
        raise ValueError(f"the official protocol is defined per aspect; aspect must be 'dorsal' or "
                         f"'palmar', got {aspect!r}")
    if isinstance(split_index, bool) or not isinstance(split_index, int) or split_index < 0:
        raise ValueError(f"split_index must be an integer >= 0 (the paper uses 0..9), got {split_index!r}")
    if min(train_per_gender, test_per_gender) < 1:
        raise ValueError(f"train_per_gender and test_per_gender must be >= 1, "
                         f"got {train_per_gender} and {test_per_gender}")
    by_gender: dict[str, dict[str, list[int]]] = {
        g: s for g, s in _subjects_by_class(
            records, [i for i, r in enumerate(records) if r.aspect == aspect], "gender").items()}
    if sorted(by_gender) != ["female", "male"]:
        raise ValueError(f"the {aspect} images hold genders {sorted(by_gender)}; the protocol needs "
                         "both female and male images")
    # One generator per (seed, split_index): split k is the same whatever splits were drawn before.
    rng = np.random.default_rng([seed, split_index])
    order = {g: rng.permutation(len(by_gender[g])) for g in sorted(by_gender)}

    available = {g: sum(len(v) for v in s.values()) for g, s in by_gender.items()}
    scale = min(1.0, min(available.values()) / (train_per_gender + test_per_gender))
    test_n = max(1, math.floor(test_per_gender * scale))
    while True:
        train_n = max(1, math.floor(test_n * train_per_gender / test_per_gender))
        chosen = _protocol_partition(by_gender, order, train_n, test_n)
        if chosen is not None:
            break
        if test_n == 1:
            raise ValueError(f"too few {aspect} images for a subject-disjoint split "
                             f"({available}); use protocol='subject' or more data")
        # Whole subjects overshoot the test count, so shrink until the train pool suffices.
        test_n -= 1
    if (train_n, test_n) != (train_per_gender, test_per_gender):
        warnings.warn(f"official protocol scaled down: {available} {aspect} images present "
                      f"(needs {train_per_gender + test_per_gender} per gender); using {train_n} train "
                      f"and {test_n} test images per gender instead of {train_per_gender} and "
                      f"{test_per_gender}", stacklevel=2)
    out = {}
    for name, n in (("train", train_n), ("test", test_n)):
        picked = [rng.choice(pool, size=n, replace=False) for _, pool in chosen[name]]
        out[name] = np.sort(np.concatenate(picked)).astype(np.int64)
    check_subject_disjoint({"train": out["train"], "test": out["test"]}, records)
    return {**out, "train_per_gender": train_n, "test_per_gender": test_n}


def carve_validation(records: Sequence, train: Sequence[int], val_fraction: float, seed: int = 0,
                     stratify: str | None = "gender") -> tuple[np.ndarray, np.ndarray]:
    """Split train indices into subject-disjoint (search_train, search_val) with ~val_fraction in val."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}; e.g. 0.25")
    rng = np.random.default_rng([seed, 1])
    search_train, search_val = _split_groups(records, train, (1 - val_fraction, val_fraction), rng, stratify)
    if len(search_train) == 0 or len(search_val) == 0:
        raise ValueError(f"cannot carve a validation set of fraction {val_fraction} out of "
                         f"{len(train)} training images; use more data or another fraction")
    return search_train, search_val
