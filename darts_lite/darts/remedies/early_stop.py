"""DARTS+'s early stop (Liang et al., 2019, Sec. 3.2, criterion 1).

A collapsing search piles up skip connections in the normal cell; DARTS+ stops the search once
the cell derived from the alphas holds `early_stop_skips` of them (the paper: 2 of 8 edges).
"""
from __future__ import annotations

from .base import Remedy, Setting, register_remedy


@register_remedy
class EarlyStop(Remedy):
    """End the search after the first epoch whose normal cell has `value` skip connections."""

    # in the null's key even when off: it is older than the null table's first rows, whose keys hold it
    setting = Setting("early_stop_skips", 0, "DARTS+: stop once the normal cell has this many skips; 0: off (remedies/)",
                      high=lambda config: 2 * config.nodes, in_null_key_when_off=True)
    paper = "DARTS+ (Liang et al., 2019)"

    def stop(self, row: dict) -> bool:
        return row["skip_normal"] >= self.value
