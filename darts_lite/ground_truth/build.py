"""Building the ground-truth table: every cell of the small space trained standalone, on several seeds.

`build_table(BenchConfig(), out)` trains each isomorphism class of `space` once per seed under one
recipe (SGD, cosine schedule; trained on search_train and scored on search_val + test by default,
or the course's retraining convention, search_train + search_val against test: `scored_on`) and
writes one CSV row per cell: its key, its parameters and MACs, each seed's accuracy. Work is split
into tasks of `cells_per_step` cells (trained as one `BankNetwork`) run by `workers` processes of one
thread each; every finished task is appended to `<out>.partial.jsonl`, so a killed build continues
where it stopped. The provenance (space, data,
recipe, seeds, device, seconds, code version) goes to `<out>.json` beside the CSV.
"""
from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import torch
from tqdm.auto import tqdm

from ..core.config import Config, ConfigError, check_ranges, write_json
from ..core.cost import count_macs, count_parameters
from ..core.host import describe_host
from ..core.training import training_images
from ..darts import Network
from ..darts.ops import check_primitives
from ..data import Split, iterate_batches, load_dataset
from .bank import BankNetwork
from .space import SMALL_PRIMITIVES, canonical, cell_string, genotype_of, unique_cells


@dataclass
class BenchConfig(Config):
    """The space, the data and the one training recipe of a ground-truth table."""

    dataset: str = "digits"          # data set every cell is trained on (digits ships offline; hands11k needs its data)
    image_size: int = 16             # side of the square images in pixels
    data_root: str | None = None     # where the dataset lives; None: the loader's default
    nodes: int = 2                   # intermediate nodes of the normal cell (the course's cell has 4)
    primitives: tuple[str, ...] = SMALL_PRIMITIVES  # operations on every edge, comma-separated
    layers: int = 5                  # cells of each network: 3 normal cells between the 2 fixed reduction cells
    channels: int = 8                # channels of the first cell, doubled at each reduction (4: half the cost, twice the seed noise)
    epochs: int = 8                  # training epochs per cell and seed (GPU: 20 or more)
    batch_size: int = 32             # images per SGD step
    lr: float = 0.05                 # SGD learning rate, cosine-annealed to 0
    momentum: float = 0.9            # SGD momentum of the weights
    weight_decay: float = 3e-4       # L2 penalty on the weights
    grad_clip: float = 5.0           # largest gradient norm of each network; 0 disables clipping
    scored_on: str = "val+test"      # val+test (train on search_train: more images scored) or test (retraining's split)
    seeds: tuple[int, ...] = (0, 1)  # one standalone training per cell and seed (weights and batch order)
    cells_per_step: int = 4          # networks trained as one grouped BankNetwork (GPU: 64 or more)
    workers: int = 0                 # processes of one thread each; 0: one per CPU core (GPU: 1)
    limit: int = 0                   # train only the first `limit` cells of the space (tests); 0: all
    sample: int = 0                  # train a random subset of this many cells (pilots of a recipe); 0: all
    device: str = "cpu"              # cpu, cuda or cuda:N

    def __post_init__(self):
        try:
            self.primitives = check_primitives(tuple(self.primitives))
        except ValueError as e:
            raise ConfigError(f"BenchConfig.primitives: {e}") from e
        self.seeds = tuple(int(s) for s in self.seeds)
        if len(self.seeds) < 2 or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"BenchConfig.seeds must name at least 2 different seeds (the noise ceiling "
                              f"compares them), got {self.seeds}")
        check_ranges(self, {"image_size": (4, None), "nodes": (1, None), "layers": (3, None), "channels": (2, None),
                            "epochs": (1, None), "batch_size": (1, None), "lr": (0, None), "momentum": (0, 1),
                            "weight_decay": (0, None), "grad_clip": (0, None), "cells_per_step": (1, None),
                            "workers": (0, None), "limit": (0, None), "sample": (0, None)})
        if self.scored_on not in ("test", "val+test"):
            raise ConfigError(f"BenchConfig.scored_on must be 'test' or 'val+test', got {self.scored_on!r}")
        if self.channels % 2:
            raise ConfigError(f"BenchConfig.channels must be even (FactorizedReduce halves it), got {self.channels}")


def cell_seed(seed: int, index: int) -> int:
    """The seed of one cell's weights: independent of which other cells share its bank."""
    return 1_000_003 * seed + index


def build_networks(config: BenchConfig, indices: list[int], seed: int, data) -> list[Network]:
    """The standalone networks of some cells, each initialised from its own `cell_seed`."""
    cells = unique_cells(config.nodes, config.primitives)
    networks = []
    for i in indices:
        torch.manual_seed(cell_seed(seed, i))
        networks.append(Network(genotype_of(cells[i], config.nodes), C=config.channels,
                                num_classes=data.num_classes, layers=config.layers, in_channels=data.in_channels))
    return networks


def train_cells(config: BenchConfig, indices: list[int], seed: int, data, train=None, test=None) -> list[float]:
    """Train the cells `indices` with seed `seed` as one bank on `train`; their accuracies on `test`, in order.

    `train` and `test` default to the recipe's splits (`bench_splits`)."""
    device = torch.device(config.device)
    networks = build_networks(config, indices, seed, data)
    bank = BankNetwork.from_networks(networks, C=config.channels, num_classes=data.num_classes,
                                     layers=config.layers, in_channels=data.in_channels).to(device)
    default_train, default_test = bench_splits(config, data)
    train = (default_train if train is None else train).to(device)
    test = (default_test if test is None else test).to(device)
    optimizer = torch.optim.SGD(bank.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.epochs)
    order = torch.Generator().manual_seed(seed)
    bank.train()
    for _ in range(config.epochs):
        for X, y in iterate_batches(train, config.batch_size, generator=order, shuffle=True):
            optimizer.zero_grad(set_to_none=True)
            bank.loss(bank(X), y).backward()
            if config.grad_clip:
                bank.clip_per_network(config.grad_clip)
            optimizer.step()
        schedule.step()
    bank.eval()
    correct = torch.zeros(len(indices), device=device)
    with torch.inference_mode():
        for X, y in iterate_batches(test, 512, shuffle=False):
            correct += (bank(X).argmax(-1) == y[:, None]).sum(0)
    return (correct / len(test)).tolist()


def bench_splits(config: BenchConfig, data):
    """(train, scored) splits of the recipe: the retraining convention, or search_train against val + test."""
    if config.scored_on == "test":
        return training_images(data), data.test
    return data.search_train, Split(torch.cat([data.search_val.X, data.test.X]),
                                    torch.cat([data.search_val.y, data.test.y]))


_WORKER: dict = {}


def _init_worker(config_dict: dict) -> None:
    torch.set_num_threads(1)
    config = BenchConfig.from_dict(config_dict)
    _WORKER.update(config=config, data=load_bench_data(config))


def _run_task(task: tuple[int, list[int]]) -> tuple[int, list[int], list[float], float]:
    seed, indices = task
    start = time.perf_counter()
    accuracies = train_cells(_WORKER["config"], indices, seed, _WORKER["data"])
    return seed, indices, accuracies, time.perf_counter() - start


def load_bench_data(config: BenchConfig):
    """The data every cell is trained and tested on (the split of seed 0, fixed for all cells)."""
    return load_dataset(config.dataset, image_size=config.image_size, root=config.data_root, seed=0)


def tasks(config: BenchConfig, done: set[tuple[int, int]]) -> list[tuple[int, list[int]]]:
    """The (seed, cell indices) still to train, in fixed groups of `cells_per_step` cells.

    The groups never shift when some are done: a group trains as one bank, and in float32 a bank's
    width changes the rounding, which training amplifies to the size of seed noise; fixed groups make
    a resumed build equal to an uninterrupted one.
    """
    cells = list(range(len(unique_cells(config.nodes, config.primitives))))
    if config.limit:
        cells = cells[:config.limit]
    if config.sample:
        cells = sorted(random.Random(0).sample(cells, min(config.sample, len(cells))))
    groups = [cells[s:s + config.cells_per_step] for s in range(0, len(cells), config.cells_per_step)]
    return [(seed, group) for seed in config.seeds for group in groups
            if not all((seed, i) in done for i in group)]


def read_partial(path: Path) -> Iterator[dict]:
    """The finished (seed, cell, accuracy) records of an interrupted build; a torn or damaged line is skipped."""
    if not path.is_file():
        return
    # bytes that are not UTF-8 (a torn write) become U+FFFD, so their line fails as JSON and is skipped too
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue  # the line a kill cut short: its task runs again


def code_version() -> str:
    """darts_lite's version and, in a git checkout, the commit (with '+dirty' for uncommitted changes)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        release = version("darts-lite")
    except PackageNotFoundError:
        release = "unknown"
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "-C", str(root), "describe", "--always", "--dirty=+dirty"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{release} ({commit})" if commit else release


def build_table(config: BenchConfig, out: str | Path, progress: bool = True) -> Path:
    """Train every cell of the space on every seed (resuming `<out>.partial.jsonl`); write the CSV and provenance."""
    out = Path(out)
    partial = out.with_suffix(".partial.jsonl")
    out.parent.mkdir(parents=True, exist_ok=True)
    records = list(read_partial(partial))
    done = {(r["seed"], r["cell"]) for r in records}
    todo = tasks(config, done)
    spent = sum(r.get("seconds", 0.0) for r in records)
    workers = config.workers or (1 if config.device != "cpu" else os.cpu_count() or 1)
    start = time.perf_counter()
    total = sum(len(t[1]) for t in tasks(config, set()))
    if done:
        print(f"resuming: {len(done)} of {total} trainings done ({partial})", file=sys.stderr)
    with tqdm(total=total, initial=len(done), desc="ground truth", unit="training", disable=not progress) as bar, \
            partial.open("a") as log:
        for seed, indices, accuracies, seconds in _map(_run_task, todo, config, workers):
            for i, acc in zip(indices, accuracies):
                log.write(json.dumps({"seed": seed, "cell": i, "accuracy": acc,
                                      "seconds": seconds / len(indices)}) + "\n")
            log.flush()
            bar.update(len(indices))
    seconds = spent + time.perf_counter() - start if todo else spent
    write_table(config, list(read_partial(partial)), out)
    write_json(out.with_suffix(".json"), provenance(config, seconds, workers))
    partial.unlink()
    return out


def _map(fn, todo, config: BenchConfig, workers: int):
    """fn over the tasks in this process (workers 1) or a pool of one-thread processes, as they finish."""
    if not todo:
        return
    if workers == 1:
        threads = torch.get_num_threads()
        _init_worker(config.to_dict())
        try:
            yield from map(fn, todo)
        finally:
            torch.set_num_threads(threads)  # the worker's one thread, not this process's for good
        return
    import multiprocessing
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(config.to_dict(),)) as pool:
        yield from pool.map(fn, todo)


def write_table(config: BenchConfig, records: list[dict], out: Path) -> None:
    """One row per cell: index, key, isomorphism class, skips, parameters, MACs, each seed's accuracy."""
    data = load_bench_data(config)
    cells = unique_cells(config.nodes, config.primitives)
    accuracy = {(r["seed"], r["cell"]): r["accuracy"] for r in records}
    rows = []
    for i, gene in enumerate(cells):
        if not all((s, i) in accuracy for s in config.seeds):
            continue
        net = Network(genotype_of(gene, config.nodes), C=config.channels, num_classes=data.num_classes,
                      layers=config.layers, in_channels=data.in_channels)
        shape = (1, data.in_channels, config.image_size, config.image_size)
        row = {"index": i, "cell": cell_string(gene), "canonical": canonical(gene),
               "skips": sum(op == "skip_connect" for op, _ in gene),
               "params": count_parameters(net), "macs": count_macs(net, shape)}
        row.update({f"acc_seed{s}": round(accuracy[(s, i)], 6) for s in config.seeds})
        rows.append(row)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def provenance(config: BenchConfig, seconds: float, workers: int) -> dict:
    """Where a table's numbers come from: what was trained, how, on what, for how long, by which code."""
    device = torch.cuda.get_device_name(torch.device(config.device)) if config.device.startswith("cuda") else \
        f"CPU ({describe_host()}; {workers} worker process(es) of 1 thread)"
    return {"space": {"nodes": config.nodes, "primitives": list(config.primitives), "reduce": "FIXED_REDUCE",
                      "cells": len(unique_cells(config.nodes, config.primitives)),
                      "isomorphism": "space.canonical: the sorted multiset of the nodes' expressions"},
            "data": {"dataset": config.dataset, "image_size": config.image_size, "split_seed": 0,
                     "train": "search_train + search_val" if config.scored_on == "test" else "search_train",
                     "scored": "test accuracy" if config.scored_on == "test" else "search_val + test accuracy"},
            "recipe": config.to_dict(), "seeds": list(config.seeds), "device": device,
            "seconds": round(seconds, 1), "code_version": code_version(),
            "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")}
