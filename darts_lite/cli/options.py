"""The command line's options: every field of a config class as `--field-name`, with its help and type."""
from __future__ import annotations

import argparse
import dataclasses
import re

from ..core.config import ConfigError, field_help
from ..core.training import TrainConfig
from ..dag_blocks.config import DAGSearchConfig
from ..darts.config import SearchConfig
from ..readers import read_json
from ..ground_truth.build import BenchConfig

# `make demo`'s search and retraining (also the configuration whose null `python -m darts_lite null --demo` measures).
DEMO_SEARCH = dict(name="demo", dataset="digits", image_size=16, layers=5, channels=8, epochs=10,
                   batch_size=64, order=1)
DEMO_SCHEDULE = "beta_darts"  # the best DARTS search measured on the ground truth (notebook 08)
DEMO_TRAIN = dict(layers=6, channels=12, epochs=12, batch_size=64)


def parse_order(text: str):
    return "exact" if text == "exact" else int(text)


def csv_list(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def boolean(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


# Fields whose default does not tell the type.
def int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in csv_list(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from e


TYPES = {"image_size": int, "data_root": str, "order": parse_order, "primitives": csv_list, "grayscale": boolean,
          "fast": boolean, "seeds": int_list}


def add_config_args(parser: argparse.ArgumentParser, cls, title: str) -> None:
    group = parser.add_argument_group(title)
    descriptions = field_help(cls)
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else None
        kind = TYPES.get(f.name, type(default))
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        group.add_argument(f"--{f.name.replace('_', '-')}", dest=f"{cls.__name__}.{f.name}", type=kind,
                           metavar=f.name.upper(), default=None,
                           help=f"{descriptions.get(f.name, '')} (default: {shown})".replace("%", "%%"))


SECTIONS = {SearchConfig: "search", TrainConfig: "train", DAGSearchConfig: "dag_search", BenchConfig: "bench"}


def config_from(cls, args, base: dict | None = None):
    values = dict(base or {})
    path = getattr(args, "config", None)
    if path:
        loaded = read_json(path, "config", ConfigError)
        section = SECTIONS[cls]
        values.update(loaded[section] if section in loaded else loaded)
    prefix = cls.__name__ + "."
    given = {k[len(prefix):]: v for k, v in vars(args).items() if k.startswith(prefix) and v is not None}
    config = cls.from_dict({**values, **given})
    schedule = getattr(args, "schedule", None)
    if schedule:  # the schedule's settings, then every option given on the command line over them
        config = config.with_schedule(schedule).replace(**given)
    return config


def as_options(message: str) -> str:
    """A config error in the command line's words: `SearchConfig.arch_lr` becomes `--arch-lr`."""
    return re.sub(r"\b(?:SearchConfig|TrainConfig|DAGSearchConfig|BenchConfig)\.(\w+)",
                  lambda m: "--" + m.group(1).replace("_", "-"), message)
