"""What the application compares, on which data: `ExperimentConfig`, and the run file that holds every config."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ..core.config import Config, ConfigError, check_name, check_ranges
from ..core.training import TrainConfig
from ..darts.config import SearchConfig
from ..readers import read_json
from ..meta_kernels.config import KernelSearchConfig
from .baselines import HAND_MADE

SEARCHES = ("darts", "kernel")
BASELINES = (*HAND_MADE, "random", "random_search")
SECTIONS = ("experiment", "search", "train", "kernel_search")


@dataclass
class ExperimentConfig(Config):
    """What `run_experiment` compares, on which data; search and training have their own configs."""

    name: str = "hand_gender"        # run directory: runs/<name>/
    dataset: str = "hands11k"        # hands11k (the application) or any registered dataset (tests: digits)
    aspect: str = "both"             # hands11k: dorsal, palmar or both
    protocol: str = "subject"        # hands11k: subject (subject-disjoint splits) or official (the paper's, per aspect)
    image_size: int = 32             # side of the square images in pixels
    data_root: str | None = None     # where the dataset lives; None: the loader's default
    splits: int = 2                  # split seeds 0 .. splits-1; results are mean +- std over them
    searches: tuple[str, ...] = ("darts",)  # darts (cells) and/or kernel (meta-kernels under a budget)
    baselines: tuple[str, ...] = ("mobilenet_v3_small", "resnet18", "random")  # HAND_MADE nets, random, random_search
    random_genotypes: int = 2        # random genotypes per split in the random baseline
    random_search_epochs: int = 1    # random_search: training epochs per candidate (on search_train)
    latency_batch: int = 1           # images per timed forward pass

    def __post_init__(self):
        self.baselines, self.searches = tuple(self.baselines), tuple(self.searches)
        check_ranges(self, {"image_size": (4, None), "splits": (1, None), "random_genotypes": (1, None),
                            "random_search_epochs": (1, None), "latency_batch": (1, None)})
        if self.aspect not in ("dorsal", "palmar", "both"):
            raise ConfigError(f"ExperimentConfig.aspect must be 'dorsal', 'palmar' or 'both', got {self.aspect!r}")
        if not self.searches or any(s not in SEARCHES for s in self.searches):
            raise ConfigError(f"ExperimentConfig.searches must be a non-empty subset of {SEARCHES}, "
                              f"got {list(self.searches)}")
        unknown = [b for b in self.baselines if b not in BASELINES]
        if unknown:
            raise ConfigError(f"unknown baselines {unknown}; choose from {BASELINES}")
        if "random_search" in self.baselines and "darts" not in self.searches:
            raise ConfigError("the 'random_search' baseline needs the 'darts' search: its budget is the DARTS "
                              "search's seconds on the same split; add 'darts' to ExperimentConfig.searches "
                              "or remove 'random_search' from ExperimentConfig.baselines")
        check_name(self)


class RunConfig(NamedTuple):
    """Everything one run file describes (`load_config`); unpacks as (experiment, search, train, kernel)."""

    experiment: ExperimentConfig
    search: SearchConfig
    train: TrainConfig
    kernel_search: KernelSearchConfig


def load_config(path: str | Path) -> RunConfig:
    """The configs of a run file (sections "experiment", "search", "train", "kernel_search")."""
    d = read_json(path, "run config", ConfigError)
    unknown = sorted(set(d) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown}; use {', '.join(SECTIONS)}")
    return RunConfig(ExperimentConfig.from_dict(d.get("experiment", {})), SearchConfig.from_dict(d.get("search", {})),
                     TrainConfig.from_dict(d.get("train", {})),
                     KernelSearchConfig.from_dict(d.get("kernel_search", {})))
