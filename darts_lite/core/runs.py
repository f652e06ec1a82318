"""A run and its directory: one setup for every search and training, one layout on disk.

Every search (DARTS, the kernel search, the DAG search, random search) and every training
writes into a run directory laid out alike:

    <kind>_config.json     the configuration it ran with (kind: search, train, kernel, dag)
    <kind>_checkpoint.pt   its checkpoint, written every epoch and on Ctrl-C; `resume=True` reads it
    settings.json          what a run of several parts was started with (`claim`)
    metrics.json           histories, test metrics and summaries, one section each (`update_metrics`)
    *.jsonl                records appended one line at a time as they finish (`append_jsonl`)
    figures/               the figures drawn from these files

`start_run` does what each of them does first: pick the directory (runs/<name> by default) and
the device, seed the global random number generators with the configuration's seed (so that a
run repeats), and load the data the configuration names. `resume_or_start` then either restores
the checkpoint into the run's modules or starts afresh, and saves the configuration.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data import DataSplits, as_grayscale, load_dataset
from ..readers import read_json, read_json_lines
from .config import ConfigError, write_json
from .loop import restore
from .runtime import get_device, set_seed


@dataclass
class Run:
    """Where a run writes (`dir`), what kind of run it is, its device and its data."""

    dir: Path
    kind: str
    device: torch.device
    data: DataSplits | None

    @property
    def checkpoint(self) -> Path:
        return self.dir / f"{self.kind}_checkpoint.pt"

    @property
    def config_path(self) -> Path:
        return self.dir / f"{self.kind}_config.json"


def load_data(config) -> DataSplits:
    """The dataset a configuration names (`dataset`, `image_size`, `data_root`), split by its `seed`;
    its colour channels averaged into one where the configuration has `grayscale` set (the DAG search)."""
    data = load_dataset(config.dataset, image_size=config.image_size, root=config.data_root, seed=config.seed)
    return as_grayscale(data) if getattr(config, "grayscale", False) else data


def start_run(config, kind: str, data: DataSplits | None = None, run_dir: str | Path | None = None,
              device: torch.device | None = None) -> Run:
    """The run of `config`: its directory (runs/<config.name> by default), device, seeded RNGs and data.

    `device` overrides `config.device` (a data-parallel search picks its own); when `data` is not
    given it is `load_data(config)`, after the seeding.
    """
    run_dir = Path(run_dir) if run_dir is not None else Path("runs") / config.name
    device = device if device is not None else get_device(config.device)
    set_seed(config.seed)
    return Run(run_dir, kind, device, load_data(config) if data is None else data)


def resume_or_start(run: Run, config, modules: dict, fresh: dict, resume: bool, write: bool = True,
                    verbose: bool = False) -> dict:
    """The loop state to start from: the checkpoint's (loaded into `modules`) with `resume`, else `fresh`.

    A checkpoint of another configuration is refused by `loop.restore`. With `write` the run
    directory is made and the configuration saved beside the checkpoint; `verbose` says which start it was.
    """
    state = fresh
    if resume and run.checkpoint.exists():
        state = restore(run.checkpoint, run.device, config, modules, type(config).from_dict)
        if verbose:
            print(f"resuming {run.dir} at epoch {state['epoch'] + 1}, step {state['step']}")
    elif resume and verbose:
        print(f"no checkpoint in {run.dir}: starting afresh")
    if write:
        run.dir.mkdir(parents=True, exist_ok=True)
        config.save(run.config_path)
    return state


def claim(run_dir: str | Path, settings: dict, what: str = "run", defaults: dict | None = None) -> None:
    """Write run_dir/settings.json; refuse a directory that holds a `what` of other settings.

    A run made of several parts (the experiment's splits and models, random search's candidates)
    continues where it stopped only if its settings are the same, so that its records never mix.
    `defaults` (the settings' shape, sections of config dicts) fills what a directory written
    before a field existed lacks, so that a new field at its default does not refuse an old run.
    """
    path = Path(run_dir) / "settings.json"
    ours = json.loads(json.dumps(settings))  # tuples -> lists, as they come back from the file
    theirs = read_json(path, f"{what} settings", ConfigError) if path.exists() else ours
    if defaults is not None:
        defaults = json.loads(json.dumps(defaults))
        theirs = {k: {**defaults[k], **v} if isinstance(v, dict) and isinstance(defaults.get(k), dict) else v
                  for k, v in theirs.items()}
    if theirs != ours:
        changed = sorted(_changes(ours, theirs))
        raise ConfigError(f"{run_dir} holds a {what} with other settings (changed: {', '.join(changed)}); "
                          "its records would be mixed with this one's. Use another directory, or delete it")
    write_json(path, ours)


def _changes(ours: dict, theirs: dict, prefix: str = "") -> list[str]:
    """The keys (section.key for nested dicts) whose values differ."""
    out = []
    for k in set(ours) | set(theirs):
        a, b = ours.get(k), theirs.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _changes(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append(f"{prefix}{k}")
    return out


def read_jsonl(path: str | Path) -> list[dict]:
    """The records of a .jsonl file (none if it does not exist)."""
    return read_json_lines(path, "records")


def append_jsonl(path: str | Path, record: dict) -> None:
    """Append one record as one line, at once: what is written survives an interruption."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def update_metrics(run_dir: str | Path, **sections) -> Path:
    """Merge `sections` into run_dir/metrics.json (created if absent)."""
    path = Path(run_dir) / "metrics.json"
    metrics = read_json(path, "run metrics") if path.exists() else {}
    metrics.update(sections)
    return write_json(path, metrics)
