"""Reference tables committed in the repository's `data/` folder (ground truth, NAS-Bench-201, nulls).

They are found under `$DARTS_LITE_DATA` when that is set and holds them, else in the `data/` folder of
the checkout this package was imported from (an editable install, a clone on Colab).
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_DATA = Path(__file__).resolve().parents[2] / "data"


def reference_file(relative: str | Path, must_exist: bool = True) -> Path:
    """The path of `data/<relative>`; with `must_exist`, a FileNotFoundError that says where it looked."""
    candidates = []
    if os.environ.get("DARTS_LITE_DATA"):
        candidates.append(Path(os.environ["DARTS_LITE_DATA"]) / relative)
    candidates.append(REPO_DATA / relative)
    for path in candidates:
        if path.is_file():
            return path
    if must_exist:
        raise FileNotFoundError(
            f"reference table {relative} not found; looked at {', '.join(map(str, candidates))}. It ships in the "
            "repository's data/ folder: clone the repository (`pip install -e .` in it) rather than installing "
            f"the package alone, or set DARTS_LITE_DATA to a folder holding {relative}.")
    return candidates[-1]
