"""Phrases shared by the notebooks' findings: a comparison against a baseline, and a decision read out."""
from __future__ import annotations

from typing import Sequence

from ..core.decision import DECIDED
from ..core.stats import compare_means


def versus(name: str, a: dict, other: str, b: dict, n: int, measure: str = "accuracy") -> str:
    """"NAME beats|ties|loses to OTHER. Measure: m ± s against m ± s (difference, 2 SE)".

    `a` and `b` are {"mean", "std"} dicts over `n` runs each."""
    c = compare_means(a["mean"], a["std"], n, b["mean"], b["std"], n)
    return (f"{name} **{c['word']}** {other}. {measure.capitalize()}: {a['mean']:.3f} ± {a['std']:.3f} against "
            f"{b['mean']:.3f} ± {b['std']:.3f} (difference {c['diff']:+.3f}, 2 SE {c['two_se']:.3f}, n = {n}).")


def decided(kept: Sequence[float], uniform: float, what: str = "The searches") -> str:
    """How many searches decided (kept weight >= DECIDED), with the kept weights against uniform."""
    k = sum(w >= DECIDED for w in kept)
    span = f"{min(kept):.2f}" if len(kept) == 1 else f"{min(kept):.2f} to {max(kept):.2f}"
    verdict = "all decided" if k == len(kept) else ("none decided" if k == 0 else f"{k} of {len(kept)} decided")
    return (f"{what}: {verdict}. Kept weight {span}, where uniform alphas give {uniform:.2f} "
            f"and a decided search reaches {DECIDED:.2f}.")
