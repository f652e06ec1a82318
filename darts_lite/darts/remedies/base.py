"""The hooks a remedy implements (`Remedy`) and the registry of remedies (`REMEDIES`, `register_remedy`)."""
from __future__ import annotations

from typing import Callable

import torch

from ..config import SearchConfig
from ..genotypes import Genotype


class Remedy:
    """The hooks of the search loop; each default leaves the search as DARTS has it."""

    def before_step(self, model: torch.nn.Module, progress: float) -> None:
        """Change the supernet before the step at `progress` (share of the search done)."""

    def alpha_penalty(self, model: torch.nn.Module, progress: float) -> torch.Tensor | None:
        """A differentiable function of the alphas added to L_val for the alpha step (None: nothing)."""
        return None

    def stop(self, row: dict) -> bool:
        """True to end the search after the epoch whose history row is `row`."""
        return False

    def derive(self, model: torch.nn.Module, genotype: Genotype) -> Genotype:
        """The genotype the search returns, given the one its alphas derive (Sec. 2.4)."""
        return genotype


#: setting of SearchConfig -> (paper, builder of the remedy from a config where the setting is on)
REMEDIES: dict[str, tuple[str, Callable[[SearchConfig], Remedy]]] = {}


def register_remedy(setting: str, paper: str, build: Callable[[SearchConfig], Remedy]) -> None:
    """Register a remedy, on when `getattr(config, setting)` is non-zero."""
    if setting not in SearchConfig.__dataclass_fields__:
        raise ValueError(f"{setting!r} is not a SearchConfig setting; add the field first")
    REMEDIES[setting] = (paper, build)


def remedies_for(config: SearchConfig) -> list[Remedy]:
    """The remedies `config` turns on, in registration order."""
    return [REMEDIES[setting][1](config) for setting in remedy_settings(config)]


def remedy_settings(config: SearchConfig) -> dict[str, float]:
    """{setting: value} of the remedies `config` turns on (for a run's summary)."""
    return {s: getattr(config, s) for s in REMEDIES if getattr(config, s)}


def derive(model: torch.nn.Module, remedies: list[Remedy]) -> Genotype:
    """The genotype of the model's alphas (Sec. 2.4), as the remedies' `derive` hooks change it (P-DARTS)."""
    genotype = model.genotype()
    for remedy in remedies:
        genotype = remedy.derive(model, genotype)
    return genotype


def alpha_penalty(model: torch.nn.Module, remedies: list[Remedy], progress: float) -> torch.Tensor | None:
    """The sum of the remedies' alpha penalties at `progress`, or None if none adds one."""
    terms = [t for t in (r.alpha_penalty(model, progress) for r in remedies) if t is not None]
    return sum(terms) if terms else None
