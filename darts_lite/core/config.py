"""The base of every run configuration: `Config`, its checks and `ConfigError`.

A configuration is passed in, never read from globals; each field is checked
when the object is made, so a bad value fails at once with its name and range.
Every field says what it is in the comment that ends its line (`field_help`).
Each search keeps its own configuration beside it (`darts.config.SearchConfig`,
`dag_blocks.config.DAGSearchConfig`, `meta_kernels.config.KernelSearchConfig`), each a
`BaseSearchConfig` (run name and data); they share the JSON round trip and the checks below.
"""
from __future__ import annotations

import dataclasses
import inspect
import io
import json
import tokenize
from pathlib import Path
from typing import Any, Iterable

from ..readers import read_json
from .tables import text_table


class ConfigError(ValueError):
    """A configuration value out of its range."""


def check_ranges(cfg, rules: dict[str, tuple[float, float | None]]) -> None:
    """Raise ConfigError unless every field `name` of `cfg` is a number in [low, high] (high None: no bound)."""
    for name, (low, high) in rules.items():
        value = getattr(cfg, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < low or (
                high is not None and value > high):
            upper = "" if high is None else f" and <= {high}"
            raise ConfigError(f"{type(cfg).__name__}.{name} must be a number >= {low}{upper}, got {value!r}")


def check_choices(cfg, choices: dict[str, Iterable[Any]]) -> None:
    """Raise ConfigError unless every field `name` of `cfg` is one of its allowed values."""
    for name, allowed in choices.items():
        allowed = tuple(allowed)
        if getattr(cfg, name) not in allowed:
            raise ConfigError(f"{type(cfg).__name__}.{name} must be one of {allowed}, got {getattr(cfg, name)!r}")


def check_name(cfg) -> None:
    """The run name is a plain directory name: runs/<name>/."""
    if not cfg.name or "/" in cfg.name:
        raise ConfigError(f"{type(cfg).__name__}.name must be a plain directory name, got {cfg.name!r}")


def write_json(path: str | Path, obj) -> Path:
    """Write `obj` as indented JSON, creating the folder: every config, genotype and metrics file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")
    return path


def field_help(cls) -> dict[str, str]:
    """Each field's one-line description: the comment that ends its line in the class body.

    The comment is the one source of a field's help: the command line (`--help`) and the
    library guide (docs/library.md) read it from here, and a test fails on a field without one.
    A class made by `dataclasses.make_dataclass` has no source: it gives its help as `field_docs`.
    """
    names, out = {f.name for f in dataclasses.fields(cls)}, {}
    for klass in cls.__mro__:  # a field a subclass redeclares without a comment keeps its base's
        if not dataclasses.is_dataclass(klass):
            continue
        # a generated dataclass (the remedies' settings) carries its help as `field_docs`
        out.update({k: v for k, v in vars(klass).get("field_docs", {}).items() if k in names and k not in out})
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):  # no source (a frozen build): no help, never an error
            continue
        lines = source.splitlines()
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                code = lines[token.start[0] - 1][:token.start[1]].strip()
                name = code.split(":")[0].strip()
                if name in names and name not in out:
                    out[name] = token.string.lstrip("#").strip()
    return out


class Config:
    """JSON round trip, strict loading and validated copies for the configuration dataclasses."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        """Build from a dict, rejecting unknown keys by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown {cls.__name__} key(s) {unknown}; known keys: {sorted(known)}")
        return cls(**d)

    def save(self, path: str | Path) -> Path:
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path):
        return cls.from_dict(read_json(path, "config", ConfigError))

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def explain(self, all_fields: bool = False) -> str:
        """The settings that differ from the defaults (or all of them), each with what it is (`field_help`)."""
        default, described = type(self)(), field_help(type(self))
        rows = [{"field": f.name, "value": _shown(getattr(self, f.name)), "what it is": described.get(f.name, "")}
                for f in dataclasses.fields(self) if all_fields or getattr(self, f.name) != getattr(default, f.name)]
        if not rows:
            return f"{type(self).__name__}: the defaults"
        return f"{type(self).__name__}:\n" + text_table(rows, [("field", "field"), ("value", "value"),
                                                              ("what it is", lambda r: r["what it is"])], left=3)


@dataclasses.dataclass
class BaseSearchConfig(Config):
    """What every search's configuration opens with: the run's name and the data it searches on."""

    name: str = "search"             # run directory: runs/<name>/
    dataset: str = "digits"          # digits (offline), cifar10, hands11k, or any registered dataset
    image_size: int | None = None    # side of the square images in pixels; None: the dataset's default
    data_root: str | None = None     # where the dataset lives; None: the loader's default

    def __post_init__(self):
        check_name(self)


def _shown(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
