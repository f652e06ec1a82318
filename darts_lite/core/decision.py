"""Did a search decide? The measures shared by every search, read from the distribution it chose from.

A search that ends with its architecture weights near uniform still derives an architecture (the
argmax of near-equal numbers), but that architecture is a random draw from the space, however
carefully it is drawn. Every search of the library reports, from the same softmax(alpha) that its
derivation reads:

- `kept_weight`: the kept option's share of its row's weight, averaged over the rows (1/options
  at uniform);
- `entropy_ratio`: the mean over rows of H(w) / log(options); 1 at uniform, 0 one-hot;
- `margin`: how far the kept options stand above the best dropped one;
- `decided`: `kept_weight >= DECIDED` (0.5): the kept option outweighs all its alternatives
  together, so discretising removes at most half of what the supernet computed there.

`choice_decision` computes them for one-of-k choices (kernel sizes per layer, one block of k);
`darts.decision.cell_decision` for DARTS cells, where each node keeps two edges.
"""
from __future__ import annotations

import math
import warnings

import torch

DECIDED = 0.5  # kept_weight at which a search counts as decided (see the module docstring)


class UndecidedSearchWarning(UserWarning):
    """A search ended with alphas too close to uniform for its genotype to mean more than a random draw."""


def entropy_ratio(w: torch.Tensor) -> float:
    """Mean over the rows of `w` (each a distribution) of H(row) / log(row length)."""
    return float((-(w * w.clamp_min(1e-300).log()).sum(1) / math.log(w.shape[1])).mean())


def choice_decision(weights: torch.Tensor) -> dict:
    """The same measures for searches that pick one option per row (kernel sizes per layer, one block of k).

    `weights` is (rows, options), each row a distribution: kept_weight is the mean of the row maxima,
    margin the mean gap between the largest and the second largest weight, entropy_ratio as above.
    """
    w = weights.detach().double().cpu()
    w = w.unsqueeze(0) if w.dim() == 1 else w
    if w.dim() != 2 or w.shape[1] < 2:
        raise ValueError(f"weights must be (rows, options) with at least 2 options, got shape {tuple(weights.shape)}")
    top = w.topk(2, dim=1).values
    kept_weight = float(top[:, 0].mean())
    return {"kept_weight": kept_weight, "entropy_ratio": entropy_ratio(w),
            "margin": float((top[:, 0] - top[:, 1]).mean()), "uniform_kept_weight": 1 / w.shape[1],
            "decided": kept_weight >= DECIDED}


MEASURES = ("kept_weight", "entropy_ratio", "margin")
NOT_KINDS = ("decided", "null")  # the entries of a decision that are not a cell kind


def kinds(d: dict) -> dict[str, dict]:
    """The per-kind entries of a decision (normal, reduce, kernels, blocks), without `decided` and `null`."""
    return {kind: c for kind, c in d.items() if kind not in NOT_KINDS}


def measures(d: dict) -> dict[str, float]:
    """The three measures of one `cell_decision` / `choice_decision`, for a history row."""
    return {m: d[m] for m in MEASURES}


def flat(d: dict) -> dict[str, float]:
    """`decision(...)` as flat history keys: kept_weight_normal, entropy_ratio_reduce, margin_normal, ..."""
    return {f"{m}_{kind}": v for kind, c in kinds(d).items() for m, v in measures(c).items()}


def describe(d: dict) -> str:
    """One line per cell kind, and a plain verdict."""
    lines = [f"{kind}: kept weight {c['kept_weight']:.2f} (uniform {c['uniform_kept_weight']:.2f}, decided above "
             f"{c.get('threshold', DECIDED):.2f}), entropy {c['entropy_ratio']:.3f} of its maximum, "
             f"margin {c['margin']:.3f}" for kind, c in kinds(d).items()]
    verdict = ("decided: the genotype is what the alphas chose" if d["decided"] else
               "UNDECIDED: the alphas sit near uniform or no higher than on shuffled labels, so the genotype "
               "is close to a random draw")
    return "\n".join(lines + [verdict] + ([null_line(d["null"])] if "null" in d else []))


def null_line(null: dict) -> str:
    """What a decision's null says, in one line."""
    if not null.get("measured"):
        return "null: none measured for this configuration, so `decided` is read against the fixed 0.5 only"
    reach = ", ".join(f"{kind} {c['max']:.2f}" for kind, c in null.items() if isinstance(c, dict))
    return f"null: on shuffled labels ({null['seeds']} seeds) this configuration reaches kept weight {reach}"


def warn_if_undecided(d: dict, where: str, remedy: str) -> None:
    """Warn, naming what to change (`remedy`), when a cell kind ended below the decision threshold."""
    if d["decided"]:
        return
    weak = ", ".join(f"{kind} {c['kept_weight']:.2f} (decided above {c.get('threshold', DECIDED):.2f})"
                     for kind, c in kinds(d).items() if not c["decided"])
    null = f" {null_line(d['null'])}." if "null" in d else ""
    warnings.warn(f"{where} ended undecided: kept weight {weak}, uniform {_uniform(d):.2f}; what it derives is "
                  f"close to a random draw from the space.{null} {remedy}", UndecidedSearchWarning, stacklevel=2)


def _uniform(d: dict) -> float:
    return next(c["uniform_kept_weight"] for c in kinds(d).values())
