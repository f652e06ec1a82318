"""Remedies for the DARTS collapse: one module per paper, each a `Remedy` registered once.

A DARTS search tends to fill its normal cell with parameter-free operations, `skip_connect` above
all, because they train fastest (Zela et al., ICLR 2020; on NAS-Bench-201 DARTS ends on the
all-skip cell). The remedies here change the search at four places, the hooks of `Remedy` that
`search.search` calls for every remedy its configuration turns on:

- `before_step(model, progress)`: changes the supernet for the next step (DARTS-: the weight of
  an auxiliary skip connection, `aux_skip`);
- `alpha_penalty(model, progress)`: a term added to L_val in the alpha step (beta-DARTS: the
  Beta-Decay loss, `beta_decay`);
- `stop(row)`: ends the search after an epoch, reading its history row (DARTS+: `early_stop`);
- `derive(model, genotype)`: the final genotype (P-DARTS: at most M skips, `skip_cap`).

`progress` is the share of the search done, in [0, 1). A new remedy is one module with a
`Remedy` subclass and one `register_remedy` line naming the `SearchConfig` setting that turns it
on; `ground_truth.methods` scores it as it scores every other search.
"""
from . import aux_skip, beta_decay, early_stop, skip_cap  # noqa: F401  (each registers itself)
from .base import REMEDIES, Remedy, alpha_penalty, derive, register_remedy, remedies_for, remedy_settings

__all__ = ["REMEDIES", "Remedy", "alpha_penalty", "aux_skip", "beta_decay", "derive", "early_stop",
           "register_remedy", "remedies_for", "remedy_settings", "skip_cap"]
