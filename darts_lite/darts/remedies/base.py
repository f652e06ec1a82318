"""What a remedy is (`Remedy`, its `Setting`) and the registry of remedies (`REMEDIES`, `register_remedy`).

A remedy declares everything about itself in its own module, and the rest of the library reads it
from here: `SearchConfig` gains one field per registered `Setting` (`settings_dataclass`), the
null's key takes the setting as the remedy says (`null_key_when_off`), the supernet's health
adds the remedy's own sign of collapse (`Remedy.health`), the search warns with the remedy's
advice (`undecided_advice`), and the ground truth scores the remedy by its `Study`. No module
outside a remedy's own names it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import torch

from ...core.config import ConfigError, check_ranges
from ..genotypes import Genotype


@dataclass(frozen=True)
class Setting:
    """The `SearchConfig` field that turns a remedy on: off at `default`, checked against [low, high]."""

    name: str
    default: float | int
    doc: str                                   # the field's one-line help (`--help`, docs/library.md)
    low: float = 0
    high: Callable[[object], float] | float | None = None  # a number, None (no bound) or config -> bound
    in_null_key_when_off: bool = False         # True only for settings older than the null table's first rows


@dataclass(frozen=True)
class Study:
    """How the ground truth scores a remedy: method `name`, the setting at `value` on `darts_travel`."""

    name: str
    value: float | int
    description: str


class Remedy:
    """A remedy: its declarations (class attributes) and the hooks of the search loop.

    Each hook's default leaves the search as DARTS has it. `progress` is the share of the search
    done, in [0, 1).
    """

    setting: Setting            # the SearchConfig field that turns it on, with its value
    paper: str                  # the citation, e.g. "P-DARTS (Chen et al., 2019)"
    study: Study | None = None  # how the ground truth scores it; None: not scored there
    undecided_advice: str | None = None  # how to read an undecided search with this remedy on

    def __init__(self, value):
        self.value = value

    @classmethod
    def check(cls, config) -> None:
        """Raise ConfigError if `config` cannot run this remedy (its setting is on)."""

    def before_step(self, model: torch.nn.Module, progress: float) -> None:
        """Change the supernet before the step at `progress`."""

    def alpha_penalty(self, model: torch.nn.Module, progress: float) -> torch.Tensor | None:
        """A differentiable function of the alphas added to L_val for the alpha step (None: nothing)."""
        return None

    def weight_step_mixing(self, weights: dict[str, torch.Tensor], progress: float) -> dict[str, torch.Tensor]:
        """The mixing weights the w step trains under, given softmax(alpha) per cell kind."""
        return weights

    def stop(self, row: dict) -> bool:
        """True to end the search after the epoch whose history row is `row`."""
        return False

    def derive(self, model: torch.nn.Module, genotype: Genotype) -> Genotype:
        """The genotype the search returns, given the one its alphas derive (Sec. 2.4)."""
        return genotype

    def health(self, history: list[dict]) -> tuple[dict, str | None]:
        """What the remedy adds to the supernet's health report, and its sign of collapse in words (or None)."""
        return {}, None


#: setting name -> the Remedy subclass it turns on, in registration order
REMEDIES: dict[str, type[Remedy]] = {}
_SETTINGS_BUILT: list[str] = []  # the settings SearchConfig was built with (`settings_dataclass`), once built


def register_remedy(remedy: type[Remedy]) -> type[Remedy]:
    """Register a Remedy subclass; its `setting` becomes a SearchConfig field (register before config imports)."""
    if not (isinstance(remedy, type) and issubclass(remedy, Remedy) and isinstance(remedy.setting, Setting)):
        raise TypeError(f"register_remedy takes a Remedy subclass with a `setting`, got {remedy!r}")
    taken = REMEDIES.get(remedy.setting.name)
    if taken is not None and taken.__qualname__ != remedy.__qualname__:
        raise ValueError(f"the setting {remedy.setting.name!r} already turns on {taken.__name__}; choose another name")
    if _SETTINGS_BUILT and remedy.setting.name not in _SETTINGS_BUILT:
        raise ValueError(f"{remedy.__name__} comes after SearchConfig was built, so {remedy.setting.name!r} would not "
                         "be one of its settings: register it in a module that darts_lite.darts.remedies imports")
    REMEDIES[remedy.setting.name] = remedy
    return remedy


def settings_dataclass() -> type:
    """A dataclass with one field per registered remedy's setting, off by default: SearchConfig inherits it."""
    fields = [(s.name, type(s.default), dataclasses.field(default=s.default))
              for s in (r.setting for r in REMEDIES.values())]
    cls = dataclasses.make_dataclass("RemedySettings", fields)
    cls.__doc__ = "One setting per remedy (darts.remedies), each off at its default."
    cls.field_docs = {r.setting.name: r.setting.doc for r in REMEDIES.values()}
    _SETTINGS_BUILT[:] = list(REMEDIES)
    return cls


def check_settings(config) -> None:
    """Each remedy setting of `config` in its range, and each remedy it turns on runnable (`Remedy.check`)."""
    for name, remedy in REMEDIES.items():
        high = remedy.setting.high(config) if callable(remedy.setting.high) else remedy.setting.high
        check_ranges(config, {name: (remedy.setting.low, high)})
        if getattr(config, name):
            remedy.check(config)


def remedies_for(config) -> list[Remedy]:
    """The remedies `config` turns on, in registration order."""
    return [REMEDIES[name](value) for name, value in remedy_settings(config).items()]


def remedy_settings(config) -> dict[str, float]:
    """{setting: value} of the remedies `config` turns on (for a run's summary)."""
    return {s: getattr(config, s) for s in REMEDIES if getattr(config, s)}


def null_key_when_off() -> tuple[str, ...]:
    """The settings that enter the null's key even when off (they predate the null table's first rows)."""
    return tuple(name for name, r in REMEDIES.items() if r.setting.in_null_key_when_off)


def undecided_advice(remedies: list[Remedy]) -> str | None:
    """The first advice an active remedy gives for an undecided search, or None."""
    return next((r.undecided_advice for r in remedies if r.undecided_advice), None)


def derive(model: torch.nn.Module, remedies: list[Remedy]) -> Genotype:
    """The genotype of the model's alphas (Sec. 2.4), as the remedies' `derive` hooks change it."""
    genotype = model.genotype()
    for remedy in remedies:
        genotype = remedy.derive(model, genotype)
    return genotype


def alpha_penalty(model: torch.nn.Module, remedies: list[Remedy], progress: float) -> torch.Tensor | None:
    """The sum of the remedies' alpha penalties at `progress`, or None if none adds one."""
    terms = [t for t in (r.alpha_penalty(model, progress) for r in remedies) if t is not None]
    return sum(terms) if terms else None


def weight_step_mixing(remedies: list[Remedy], progress: float) -> Callable[[dict], dict] | None:
    """The remedies' change of the w step's mixing weights, composed; None when no remedy changes them."""
    active = [r for r in remedies if type(r).weight_step_mixing is not Remedy.weight_step_mixing]
    if not active:
        return None

    def mix(weights: dict) -> dict:
        for remedy in active:
            weights = remedy.weight_step_mixing(weights, progress)
        return weights
    return mix


def health(history: list[dict], remedies: list[Remedy]) -> tuple[dict, list[str]]:
    """The remedies' entries of the health report, merged, and their signs of collapse."""
    entries, signs = {}, []
    for remedy in remedies:
        more, sign = remedy.health(history)
        entries.update(more)
        if sign:
            signs.append(sign)
    return entries, signs
