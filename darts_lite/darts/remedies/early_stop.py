"""DARTS+'s early stop (Liang et al., 2019, Sec. 3.2, criterion 1).

A collapsing search piles up skip connections in the normal cell; DARTS+ stops the search once
the cell derived from the alphas holds `early_stop_skips` of them (the paper: 2 of 8 edges).
"""
from __future__ import annotations

from .base import Remedy, register_remedy


class EarlyStop(Remedy):
    """End the search after the first epoch whose normal cell has `skips` skip connections."""

    def __init__(self, skips: int):
        self.skips = skips

    def stop(self, row: dict) -> bool:
        return row["skip_normal"] >= self.skips


register_remedy("early_stop_skips", "DARTS+ (Liang et al., 2019)", lambda config: EarlyStop(config.early_stop_skips))
