"""Remedies for the DARTS collapse: one module per paper, each a `Remedy` registered once.

A DARTS search tends to fill its normal cell with parameter-free operations, `skip_connect` above
all, because they train fastest (Zela et al., ICLR 2020; on NAS-Bench-201 DARTS ends on the
all-skip cell). The remedies here change the search through the hooks of `Remedy` that
`search.search` calls for every remedy its configuration turns on:

- `before_step(model, progress)`: changes the supernet for the next step (DARTS-: the weight of
  an auxiliary skip connection);
- `alpha_penalty(model, progress)`: a term added to L_val in the alpha step (beta-DARTS: the
  Beta-Decay loss);
- `weight_step_mixing(weights, progress)`: the mixing weights the w step trains under;
- `stop(row)`: ends the search after an epoch, reading its history row (DARTS+);
- `derive(model, genotype)`: the final genotype (P-DARTS: at most M skips);
- `health(history)`: the remedy's own sign of collapse (P-DARTS: more skips chosen than kept).

A remedy also declares, as class attributes, its `Setting` (the `SearchConfig` field that turns
it on: name, default, range, one-line help), its paper, its advice for an undecided search and how
the ground truth scores it (`Study`). A new remedy is one module with a `Remedy` subclass under
`@register_remedy`, and one import line below; nothing else in the library names it.
"""
from . import aux_skip, beta_decay, early_stop, skip_cap  # noqa: F401  (each registers itself)
from . import sdarts_rs  # noqa: F401
from .base import (
    REMEDIES, Remedy, Setting, Study, alpha_penalty, check_settings, derive, health, null_key_when_off,
    register_remedy, remedies_for, remedy_settings, settings_dataclass, undecided_advice, weight_step_mixing,
)

__all__ = ["REMEDIES", "Remedy", "Setting", "Study", "alpha_penalty", "aux_skip", "beta_decay", "check_settings",
           "derive", "early_stop", "health", "null_key_when_off", "register_remedy", "remedies_for",
           "remedy_settings", "settings_dataclass", "skip_cap", "undecided_advice", "weight_step_mixing"]
