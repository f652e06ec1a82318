"""Did the supernet stay healthy? The signs of a collapse that a search reports beside its decision.

A search can end "decided" on a broken supernet: when the mixture gives way to single paths, or as
skip connections take over, the supernet's validation accuracy can fall far below what it reached
earlier while the alphas concentrate all the same (Zela et al., ICLR 2020, read collapse the same
way). `supernet_health` reads a search's history for two signs, and `search.search` records them
in every epoch's row and warns at the end, as it does for an undecided search:

- accuracy lost: the last epoch's `val_acc` is more than `TOLERANCE` below the best epoch's;
- skips over the cap: the alphas chose more skip connections in the normal cell than the skip cap
  (`SearchConfig.skip_cap`, P-DARTS) lets the derived cell keep.
"""
from __future__ import annotations

import warnings

TOLERANCE = 0.05  # accuracy a healthy supernet may lose from its best epoch to its last


class CollapseWarning(UserWarning):
    """A search ended on a supernet that got worse, or with more skips than its cap keeps."""


def supernet_health(history: list[dict], skip_cap: int = 0, tolerance: float = TOLERANCE) -> dict:
    """The signs of collapse in `history` (rows with `val_acc` and `skip_normal`), as of its last row."""
    if not history:
        raise ValueError("the search has no epochs yet: nothing to judge")
    best = max(range(len(history)), key=lambda e: history[e]["val_acc"])
    final = history[-1]
    drop = history[best]["val_acc"] - final["val_acc"]
    over_cap = bool(skip_cap) and final["skip_normal"] > skip_cap
    return {"best_val_acc": history[best]["val_acc"], "best_epoch": best + 1, "final_val_acc": final["val_acc"],
            "val_acc_drop": drop, "accuracy_kept": drop <= tolerance, "skips": final["skip_normal"],
            "skip_cap": skip_cap, "skips_over_cap": over_cap, "healthy": drop <= tolerance and not over_cap}


def describe(health: dict) -> str:
    """One line: healthy, or which sign of collapse the search shows."""
    signs = []
    if not health["accuracy_kept"]:
        signs.append(f"its validation accuracy fell from {health['best_val_acc']:.3f} (epoch {health['best_epoch']}) "
                     f"to {health['final_val_acc']:.3f}")
    if health["skips_over_cap"]:
        signs.append(f"its alphas chose {health['skips']} skip connections in the normal cell, over the cap of "
                     f"{health['skip_cap']} (the derived cell was capped)")
    return "healthy" if not signs else "supernet collapsing: " + "; ".join(signs)


def warn_if_unhealthy(health: dict, what: str) -> None:
    """Warn when `health` shows a sign of collapse, naming it and what to try."""
    if not health["healthy"]:
        warnings.warn(f"{what}: {describe(health)}. Its genotype was derived from a supernet that got worse: "
                      "compare it with random search (notebook 08) before trusting it, or try a remedy "
                      "(SearchConfig.aux_skip, beta_decay, skip_cap).", CollapseWarning, stacklevel=3)
