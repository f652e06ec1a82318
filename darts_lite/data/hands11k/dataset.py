"""11K Hands (Afifi, 2019, doi:10.1007/s11042-019-7424-8): metadata, filters, targets and the loader.

11,076 photographs of the dorsal and palmar sides of the hands of 189 people,
described row by row in `HandInfo.csv`. `metadata.read_metadata` reads that file
(as published, or as an editor saved it again); this module finds the images that
are actually on disk, filters them, and builds subject-disjoint splits
(`protocols.py`) of decoded images (`images.py`). A root folder holds
`HandInfo.csv` and `Hands/`.

Targets: "gender" (female/male, the paper's task), "age" binned as <20, 20-29
and 30+ (very unbalanced: about 96% of the images are 20-29), "skin_color"
(the classes present in the data) and "aspect" (dorsal/palmar).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..base import (
    DataSplits,
    Split,
    check_fractions,
    check_image_size,
    left_out_report,
    normalise,
    register_dataset,
)
from .images import load_images
from .metadata import AGE_GROUPS, HOW_TO_GET, HandRecord, read_metadata
from .protocols import carve_validation, check_subject_disjoint, official_protocol, subject_split

TARGETS = ("gender", "age", "skin_color", "aspect")


#: The checkout this package sits in (darts_lite/data/hands11k/dataset.py, three folders down).
REPOSITORY = Path(__file__).resolve().parents[3]


def find_root(root=None) -> Path:
    """The data folder: `root`, else $HANDS11K_ROOT, else data/11k-hands/ in the cwd or the repository."""
    if root is not None:
        candidates = [Path(root)]
    elif os.environ.get("HANDS11K_ROOT"):
        candidates = [Path(os.environ["HANDS11K_ROOT"])]
    else:
        candidates = [Path.cwd() / "data" / "11k-hands", REPOSITORY / "data" / "11k-hands"]
    for candidate in candidates:
        if (candidate / "HandInfo.csv").is_file():
            return candidate
    looked = ", ".join(str(c / "HandInfo.csv") for c in dict.fromkeys(candidates))
    raise FileNotFoundError(f"11K Hands not found: looked for {looked}. {HOW_TO_GET}")


def scan(root, records: Sequence[HandRecord], verbose: bool = True) -> tuple[list[HandRecord], int]:
    """(records whose image is on disk, number missing); absent images just were not downloaded."""
    hands = Path(root) / "Hands"
    # One directory listing instead of 11,076 stat calls.
    on_disk = set(os.listdir(hands)) if hands.is_dir() else set()
    present = [r for r in records if r.image_name in on_disk]
    if not present:
        raise FileNotFoundError(f"none of the {len(records)} images listed in HandInfo.csv is in {hands}. "
                                f"{HOW_TO_GET}")
    if verbose:
        print(f"found {len(present)} of {len(records)} images listed in HandInfo.csv (in {hands})")
    return present, len(records) - len(present)


def _check_choice(name: str, value, allowed: Sequence) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; choose one of {list(allowed)}")


def filter_records(records: Sequence[HandRecord], aspect: str | None = None, side: str | None = None,
                   no_accessories: bool = False, no_nail_polish: bool = False,
                   no_irregularities: bool = False) -> list[HandRecord]:
    """The records matching an aspect, a side, and without accessories/nail polish/irregularities."""
    _check_choice("aspect", aspect, (None, "dorsal", "palmar"))
    _check_choice("side", side, (None, "left", "right"))
    return [r for r in records
            if (aspect is None or r.aspect == aspect) and (side is None or r.side == side)
            and not (no_accessories and r.accessories) and not (no_nail_polish and r.nail_polish)
            and not (no_irregularities and r.irregularities)]


def _target_value(record: HandRecord, target: str) -> str:
    return {"gender": record.gender, "age": record.age_group, "skin_color": record.skin_color,
            "aspect": record.aspect}[target]


def target_classes(records: Sequence[HandRecord], target: str = "gender") -> list[str]:
    """Class names of a target; for skin_color the sorted values found in `records`."""
    _check_choice("target", target, TARGETS)
    fixed = {"gender": ["female", "male"], "age": list(AGE_GROUPS), "aspect": ["dorsal", "palmar"]}
    return fixed.get(target) or sorted({r.skin_color for r in records})


def labels(records: Sequence[HandRecord], target: str, classes: Sequence[str]) -> np.ndarray:
    """Integer labels (index into `classes`) of the records for `target`."""
    _check_choice("target", target, TARGETS)
    index = {c: i for i, c in enumerate(classes)}
    values = [_target_value(r, target) for r in records]
    unknown = sorted(set(values) - set(index))
    if unknown:
        raise ValueError(f"{target} values {unknown} are not in the classes {list(classes)}")
    return np.array([index[v] for v in values], dtype=np.int64)


# Subject splits are stratified by the target where it is constant per person.
_STRATIFY = {"gender": "gender", "age": "age_group", "skin_color": "skin_color", "aspect": "gender"}


def hands11k_selection(root=None, seed: int = 0, aspect: str | None = None, side: str | None = None,
                       target: str = "gender", protocol: str = "subject", split_index: int = 0,
                       fractions: Sequence[float] = (0.6, 0.2, 0.2), exclude_accessories: bool = False,
                       exclude_nail_polish: bool = False, exclude_irregularities: bool = False,
                       verbose: bool = True, report: bool = True
                       ) -> tuple[dict[str, list[HandRecord]], dict[str, list[str]]]:
    """The records of search_train, search_val and test, subject-disjoint, in HandInfo.csv order,
    and what was left out: {why: [image names]} (not on disk, by the filters, by the protocol),
    printed as one report with `verbose` (and `report`).

    protocol="subject": a random split by person with `fractions` of the images.
    protocol="official": Afifi's balanced gender protocol for one `aspect`
    (numbered by `split_index`), with search_val carved out of its training
    people: fractions[1] / (fractions[0] + fractions[1]) of its images.
    """
    _check_choice("target", target, TARGETS)
    _check_choice("protocol", protocol, ("subject", "official"))
    fractions = check_fractions(fractions, 3)
    root = find_root(root)
    listed = read_metadata(root / "HandInfo.csv")
    present, _ = scan(root, listed, verbose)
    records = filter_records(present, aspect, side, exclude_accessories, exclude_nail_polish,
                             exclude_irregularities)
    on_disk, kept = {r.image_name for r in present}, {r.image_name for r in records}
    left_out = {"not on disk (not downloaded)": [r.image_name for r in listed if r.image_name not in on_disk],
                "left out by the filters " + _filters(aspect, side, exclude_accessories, exclude_nail_polish,
                                                      exclude_irregularities):
                [r.image_name for r in present if r.image_name not in kept]}
    found = sorted({_target_value(r, target) for r in records})
    if len(found) < 2:
        raise ValueError(f"target {target!r} needs at least 2 classes, but the {len(records)} images left by "
                         f"the filters (aspect={aspect}, side={side}) hold {found}; relax the filters")
    if protocol == "subject":
        parts = subject_split(records, fractions, seed, stratify=_STRATIFY[target])
    else:
        if target != "gender" or aspect is None:
            raise ValueError(f"the official protocol is a per-aspect gender protocol; use target='gender' and "
                             f"aspect='dorsal' or 'palmar' (got target={target!r}, aspect={aspect!r}), "
                             "or protocol='subject'")
        official = official_protocol(records, aspect, split_index, seed)
        val_fraction = fractions[1] / (fractions[0] + fractions[1])
        parts = (*carve_validation(records, official["train"], val_fraction, seed), official["test"])
    splits = {name: [records[i] for i in idx] for name, idx in zip(("search_train", "search_val", "test"), parts)}
    check_subject_disjoint(splits)
    used = {r.image_name for part in splits.values() for r in part}
    left_out[f"left out by the {protocol} protocol (balancing)"] = [r.image_name for r in records
                                                                   if r.image_name not in used]
    if verbose and report and any(left_out.values()):
        print(left_out_report(left_out))
    return splits, left_out


def _filters(aspect, side, no_accessories, no_nail_polish, no_irregularities) -> str:
    """The filters in force, in words: (aspect=dorsal, no accessories) or (none)."""
    on = [f"aspect={aspect}" if aspect else "", f"side={side}" if side else "",
          "no accessories" if no_accessories else "", "no nail polish" if no_nail_polish else "",
          "no irregularities" if no_irregularities else ""]
    return "(" + (", ".join(w for w in on if w) or "none") + ")"


@register_dataset("hands11k")
def load_hands11k(image_size: int = 64, root=None, seed: int = 0, aspect: str | None = None,
                  side: str | None = None, target: str = "gender", protocol: str = "subject",
                  split_index: int = 0, grayscale: bool = False, aspect_ratio: str = "square",
                  fractions: Sequence[float] = (0.6, 0.2, 0.2), exclude_accessories: bool = False,
                  exclude_nail_polish: bool = False, exclude_irregularities: bool = False,
                  strict: bool = False, cache_dir=None, verbose: bool = True) -> DataSplits:
    """Load 11K Hands as subject-disjoint search_train, search_val and test tensors.

    `image_size` is the height: aspect_ratio="square" gives image_size x
    image_size (the 4:3 photo squeezed), "4:3" keeps the shape with width
    round(4/3 * image_size), e.g. 48 -> 48x64. The per-image records of each
    split come from `hands11k_selection` with the same arguments (minus images
    that could not be read, which are skipped with a warning).
    """
    check_image_size(image_size)
    _check_choice("aspect_ratio", aspect_ratio, ("square", "4:3"))
    hw = (image_size, image_size if aspect_ratio == "square" else round(image_size * 4 / 3))
    root = find_root(root)
    splits, left_out = hands11k_selection(root, seed, aspect, side, target, protocol, split_index, fractions,
                                          exclude_accessories, exclude_nail_polish, exclude_irregularities,
                                          verbose, report=False)
    records = [r for part in splits.values() for r in part]
    classes = target_classes(records, target)
    # One call for all splits: one cache file, shared by every seed and protocol.
    images, bad = load_images([root / "Hands" / r.image_name for r in records], hw, grayscale, cache_dir, strict)
    bad_names = {Path(b).name for b in bad}
    for reason in sorted(set(bad.values())):
        left_out[f"unreadable image files: {reason}"] = sorted(Path(b).name for b, r in bad.items() if r == reason)
    if verbose and any(left_out.values()):
        print(left_out_report(left_out))
    kept = {name: [r for r in part if r.image_name not in bad_names] for name, part in splits.items()}
    sizes = [len(part) for part in kept.values()]
    if min(sizes) == 0:
        raise ValueError(f"a split has no readable images left (sizes {sizes}); re-download the data")
    X_parts = torch.split(images.float() / 255.0, sizes)
    (X_tr, X_va, X_te), mean, std = normalise(*X_parts)
    y_tr, y_va, y_te = (torch.from_numpy(labels(part, target, classes)) for part in kept.values())
    return DataSplits(
        name="hands11k",
        search_train=Split(X_tr, y_tr), search_val=Split(X_va, y_va), test=Split(X_te, y_te),
        num_classes=len(classes), in_channels=images.shape[1], image_size=image_size,
        classes=classes, mean=mean, std=std, records=kept, left_out=left_out,
    )
