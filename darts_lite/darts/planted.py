"""A planted cell: a teacher built from a known genotype, and a search that must find it again.

It is the cell-level sibling of `toy` (one edge, one hidden operation), and the one place where
the right answer of a DARTS search is known. The teacher is the supernet itself with one-hot
mixing weights at the planted genotype: each kept edge carries its operation with weight 1,
every other edge 0. Two settings:

(a) identifiable (`recover_alphas`; `recovery_study` for several seeds): the student IS the
    teacher's supernet, its candidate weights frozen, and learns only the alphas, by mean squared
    error to the teacher's logits on random inputs. If the relaxation (eq. 2), the architecture
    gradient and the top-2 rule (Sec. 2.4) work, the derived genotype is the planted one.
(b) the real bilevel problem (`planted_data`, then `search.search`): labels are the teacher's
    classes on random inputs, and a fresh student trains its weights on one split and its alphas
    on another (Algorithm 1). Many cells can fit the teacher's function, so recovery is
    measured, not promised. `planted_study` runs it for several seeds and schedules, side by side
    on a CPU's cores.

`recovery` is the share of planted (input, operation) pairs the found genotype contains; a random
genotype recovers `decision.chance_agreement(...)["exact"]` of them on average.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..core.channels_last import use_channels_last
from ..core.decision import UndecidedSearchWarning
from ..core.runtime import get_device
from ..core.workers import default_workers, map_in_processes
from ..data import DataSplits, Split
from .config import SearchConfig
from .decision import decision, gene_agreement
from .genotypes import Genotype, edge_index, random_genotype
from .search import SearchResult, search
from .supernet import SearchNetwork


def planted_weights(genotype: Genotype, primitives: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """One-hot mixing weights (edges x operations) per cell kind at `genotype`; dropped edges all zero."""
    index = {edge: row for row, edge in enumerate(edge_index(genotype.nodes))}
    out = {}
    for kind in ("normal", "reduce"):
        w = torch.zeros(len(index), len(primitives))
        for pos, (op, j) in enumerate(getattr(genotype, kind)):
            w[index[(j, 2 + pos // 2)], primitives.index(op)] = 1.0
        out[kind] = w
    return out


def recovery(found: Genotype, planted: Genotype) -> float:
    """Share of the planted (input, operation) pairs that `found` contains, over both cell kinds."""
    pairs = [gene_agreement(getattr(found, kind), getattr(planted, kind)) for kind in ("normal", "reduce")]
    return sum(p["exact"] for p in pairs) / sum(p["choices"] for p in pairs)


def make_teacher(seed: int, C: int = 8, layers: int = 3, nodes: int = 4, in_channels: int = 3,
                 num_classes: int = 10) -> tuple[SearchNetwork, Genotype]:
    """A supernet with random weights and a random planted genotype, both drawn from `seed`."""
    with torch.random.fork_rng(devices=[]):  # the teacher's weights from `seed`; the global RNG untouched
        torch.manual_seed(seed)
        net = SearchNetwork(C=C, num_classes=num_classes, layers=layers, nodes=nodes, multiplier=nodes,
                            in_channels=in_channels, fast=True)
    planted = random_genotype(torch.Generator().manual_seed(seed), net.primitives, nodes)
    return net, planted


@dataclass
class PlantedResult:
    """Setting (a): the derived genotype, its recovery, and per-step recovery and kept weight."""

    genotype: Genotype
    planted: Genotype
    recovery: float
    decision: dict
    history: list[dict]


def recover_alphas(net: SearchNetwork, planted: Genotype, steps: int = 200, lr: float = 0.05, batch_size: int = 32,
                   image_size: int = 16, seed: int = 0, record_every: int = 10,
                   progress: bool = True) -> PlantedResult:
    """Setting (a): learn only the alphas of `net` (weights frozen) to match its planted teacher (MSE on logits)."""
    use_channels_last(net, next(net.parameters()).device)  # as `search` runs its supernet
    target = {k: w.to(next(net.parameters())) for k, w in planted_weights(planted, net.primitives).items()}
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for a in net.arch_parameters():
            a.copy_(1e-3 * torch.randn(a.shape, generator=g))
    for p in net.weight_parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(net.arch_parameters(), lr=lr, betas=(0.5, 0.999))
    net.train()
    history = []
    try:
        for step in tqdm(range(1, steps + 1), desc="planted (a)", disable=not progress, unit="step"):
            X = torch.randn(batch_size, net.stem[0].in_channels, image_size, image_size,
                            generator=g).to(target["normal"])
            with torch.no_grad():
                y = net(X, weights=target)
            loss = F.mse_loss(net(X), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % record_every == 0 or step == steps:
                d = decision(net.arch_weights(), net.primitives)
                history.append({"step": step, "loss": loss.item(), "recovery": recovery(net.genotype(), planted),
                                "kept_weight_normal": d["normal"]["kept_weight"],
                                "kept_weight_reduce": d["reduce"]["kept_weight"]})
    finally:
        for p in net.weight_parameters():
            p.requires_grad_(True)
    found = net.genotype()
    return PlantedResult(genotype=found, planted=planted, recovery=recovery(found, planted),
                         decision=decision(net.arch_weights(), net.primitives), history=history)


def recovery_study(seeds: Sequence[int], channels: int = 8, steps: int = 200, device: torch.device | str = "cpu",
                   workers: int = 0) -> list[PlantedResult]:
    """Setting (a) for each seed: its teacher (`make_teacher(seed, C=channels)`) and `recover_alphas`.

    On a CPU the seeds run side by side in one-thread processes, one per core (`core.workers`;
    `workers` 1: one after the other in this process).
    """
    jobs = [(seed, channels, steps, str(device)) for seed in seeds]
    return map_in_processes(_recover_seed, jobs, workers or default_workers(device, len(jobs)))


def _recover_seed(job: tuple) -> PlantedResult:
    seed, channels, steps, device = job
    teacher, plant = make_teacher(seed, C=channels)
    return recover_alphas(teacher.to(device), plant, steps=steps, seed=seed, progress=False)


def smooth_noise(n: int, channels: int, image_size: int, generator: torch.Generator) -> torch.Tensor:
    """Random images with structure: normal noise at a quarter of the resolution, upsampled bilinearly."""
    low = torch.randn(n, channels, max(image_size // 4, 2), max(image_size // 4, 2), generator=generator)
    X = F.interpolate(low, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return (X - X.mean()) / X.std()


@torch.no_grad()
def planted_data(net: SearchNetwork, planted: Genotype, sizes: tuple[int, int, int] = (1024, 1024, 512),
                 image_size: int = 16, seed: int = 0) -> DataSplits:
    """Setting (b): smooth random images labelled by the teacher's class (argmax of its logits at the planted cell).

    White noise would make the teacher's function too rough to learn from a few hundred images;
    noise drawn at a quarter of the resolution and upsampled gives images with structure at the
    scale of the cell's 3x3 and 5x5 operations.
    """
    g = torch.Generator().manual_seed(seed)
    target = planted_weights(planted, net.primitives)
    splits = []
    for n in sizes:
        # One batch per split in training mode: BatchNorm normalises with the statistics of many i.i.d.
        # images (a fresh network's running statistics are the identity and would not normalise at all).
        X = smooth_noise(n, net.stem[0].in_channels, image_size, g)
        splits.append(Split(X, net.train()(X, weights=target).argmax(1)))
    c = net.stem[0].in_channels
    return DataSplits(name="planted", search_train=splits[0], search_val=splits[1], test=splits[2],
                      num_classes=net.classifier.out_features, in_channels=c, image_size=image_size,
                      classes=[str(i) for i in range(net.classifier.out_features)], mean=[0.0] * c, std=[1.0] * c)


def search_planted(config: SearchConfig, seed: int, sizes: tuple[int, int, int] = (512, 512, 256),
                   teacher_channels: int = 8, num_classes: int = 10, run_dir: str | Path | None = None,
                   progress: bool = False) -> tuple[SearchResult, Genotype, float]:
    """Setting (b): a DARTS search (`config`, fresh weights) on the planted teacher of `seed`.

    Returns the search result, the planted genotype and the share of it recovered.
    """
    teacher, plant = make_teacher(seed, C=teacher_channels, layers=3, nodes=config.nodes, num_classes=num_classes)
    data = planted_data(teacher, plant, sizes, config.image_size or 16, seed)
    result = search(config.replace(seed=seed), data, run_dir=run_dir, progress=progress)
    return result, plant, recovery(result.genotype, plant)


def planted_study(base: SearchConfig, schedules: Sequence[str], seeds: Sequence[int],
                  sizes: tuple[int, int, int] = (512, 512, 256), run_dir: str | Path | None = None,
                  workers: int = 0) -> list[dict]:
    """Setting (b) for every (seed, schedule): one row each with its recovery, kept weights and search seconds.

    The searches are independent: on a CPU they run side by side in one-thread processes, one per core
    (`core.workers`; `workers` 1: one after the other in this process). A search's warnings (undecided
    searches are expected here) are kept out of the way: `decided` and the kept weights say it.
    """
    jobs = [(schedule, base.with_schedule(schedule), seed, sizes,
             None if run_dir is None else str(Path(run_dir) / f"planted_{schedule}_seed{seed}"))
            for seed in seeds for schedule in schedules]
    return map_in_processes(_planted_row, jobs, workers or default_workers(get_device(base.device), len(jobs)))


def _planted_row(job: tuple) -> dict:
    schedule, config, seed, sizes, run_dir = job
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndecidedSearchWarning)
        result, _, rec = search_planted(config, seed, sizes, run_dir=run_dir)
    return {"schedule": schedule, "seed": seed, "recovery": rec,
            "kept_weight": result.decision["normal"]["kept_weight"],
            "kept_weight_reduce": result.decision["reduce"]["kept_weight"], "decided": result.decision["decided"],
            "val_acc": result.history[-1]["val_acc"], "seconds": sum(h["seconds"] for h in result.history)}
