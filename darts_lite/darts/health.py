"""Did the supernet stay healthy? The signs of a collapse that a search reports beside its decision.

A search can end "decided" on a broken supernet: when the mixture gives way to single paths, or as
skip connections take over, the supernet's validation accuracy can fall far below what it reached
earlier while the alphas concentrate all the same (Zela et al., ICLR 2020, read collapse the same
way). `supernet_health` reads a search's history for two signs, and `search.search` records them
in every epoch's row and warns at the end, as it does for an undecided search:

- accuracy lost: the last epoch's `val_acc` is more than `TOLERANCE` below the best epoch's;
- each active remedy's own sign (`Remedy.health`), e.g. P-DARTS's: more skip connections chosen by
  the alphas than its cap lets the derived cell keep.
"""
from __future__ import annotations

import warnings

from .remedies import REMEDIES, Remedy
from .remedies import health as remedy_health

TOLERANCE = 0.05  # accuracy a healthy supernet may lose from its best epoch to its last


class CollapseWarning(UserWarning):
    """A search ended on a supernet that got worse, or with more skips than its cap keeps."""


def supernet_health(history: list[dict], remedies: list[Remedy] = (), tolerance: float = TOLERANCE) -> dict:
    """The signs of collapse in `history` (rows with `val_acc` and `skip_normal`) and of the active `remedies`."""
    if not history:
        raise ValueError("the search has no epochs yet: nothing to judge")
    best = max(range(len(history)), key=lambda e: history[e]["val_acc"])
    final = history[-1]
    drop = history[best]["val_acc"] - final["val_acc"]
    entries, signs = remedy_health(history, list(remedies))
    return {"best_val_acc": history[best]["val_acc"], "best_epoch": best + 1, "final_val_acc": final["val_acc"],
            "val_acc_drop": drop, "accuracy_kept": drop <= tolerance, "skips": final["skip_normal"], **entries,
            "remedy_signs": signs, "healthy": drop <= tolerance and not signs}


def describe(health: dict) -> str:
    """One line: healthy, or which sign of collapse the search shows."""
    signs = []
    if not health["accuracy_kept"]:
        signs.append(f"its validation accuracy fell from {health['best_val_acc']:.3f} (epoch {health['best_epoch']}) "
                     f"to {health['final_val_acc']:.3f}")
    signs += health.get("remedy_signs", [])
    return "healthy" if not signs else "supernet collapsing: " + "; ".join(signs)


def warn_if_unhealthy(health: dict, what: str) -> None:
    """Warn when `health` shows a sign of collapse, naming it and what to try."""
    if not health["healthy"]:
        warnings.warn(f"{what}: {describe(health)}. Its genotype was derived from a supernet that got worse: "
                      "compare it with random search (notebook 08) before trusting it, or try a remedy "
                      f"(SearchConfig.{', '.join(REMEDIES)}).", CollapseWarning, stacklevel=3)
