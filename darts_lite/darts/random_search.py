"""Random search at equal budget: the baseline of Li & Talwalkar (2019), "Random search and
reproducibility for neural architecture search", and the "random search" row of Table 1 of the
DARTS paper (Liu et al., 2019).

Genotypes of the DARTS search space are drawn at random (`genotypes.random_genotype`); each is
trained briefly on search_train only (`candidate_epochs` epochs of the retraining recipe, scaled
down) and scored by its accuracy on search_val; the search stops once the candidates' summed
wall-clock cost reaches the budget (the DARTS search's cost on the same split), after at least
`MIN_CANDIDATES`, and returns the candidate best on search_val. Candidate k's genotype is a pure
function of (split seed, k) (`candidate_genotype`), so any candidate can be rebuilt.

Every finished candidate is appended to `run_dir/candidates.jsonl` (k, genotype, search-val
accuracy, seconds) at once, and an interrupted candidate resumes from its training checkpoint:
running again after an interruption continues and ends as an uninterrupted run would. The last
line records the final number of candidates N.
"""
from __future__ import annotations

import dataclasses
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..core.config import ConfigError
from ..core.runs import append_jsonl, claim, read_jsonl
from ..core.runtime import set_seed
from ..core.training import TrainConfig, evaluate, recalibrate_bn, train_model
from ..data import DataSplits, Split
from .config import SearchConfig
from .genotypes import Genotype, random_genotype
from .retrain import build_network

MIN_CANDIDATES = 2  # a search needs at least two candidates to choose between


@dataclass
class RandomSearchResult:
    """The chosen genotype, every candidate's record (k, genotype, val_acc, seconds) and the budget."""

    genotype: Genotype
    best: int                # k of the chosen candidate
    candidates: list[dict]   # in order of k
    budget_seconds: float | None
    run_dir: Path

    @property
    def seconds(self) -> float:
        """The search's own cost: the candidates' seconds, summed."""
        return sum(c["seconds"] for c in self.candidates)


def candidate_genotype(search_config: SearchConfig, k: int) -> Genotype:
    """The k-th candidate of the split `search_config.seed`: a pure function of (seed, k).

    Seeds from 1_000_000, apart from those of the "random" baseline (`hands.experiment`).
    """
    g = torch.Generator().manual_seed(1_000_000 * (search_config.seed + 1) + k)
    return random_genotype(g, search_config.primitives, search_config.nodes, search_config.multiplier)


def train_only_data(data: DataSplits) -> DataSplits:
    """`data` with search_train alone: `train_model` (which trains on search_train + search_val) sees no other image."""
    empty = Split(data.search_train.X[:0], data.search_train.y[:0])
    return dataclasses.replace(data, search_val=empty, test=empty, records=None)


def random_search(search_config: SearchConfig, train_config: TrainConfig, data: DataSplits,
                  budget_seconds: float | None, run_dir: str | Path, candidate_epochs: int = 1,
                  progress: bool = True, callback: Callable[[dict], None] | None = None,
                  candidates: int | None = None) -> RandomSearchResult:
    """Random search of the DARTS space until `budget_seconds` are spent (or exactly `candidates`, for tests)."""
    if candidates is None and budget_seconds is None:
        raise ConfigError("random_search needs budget_seconds (the DARTS search's seconds) or candidates")
    if candidates is not None and candidates < MIN_CANDIDATES:
        raise ConfigError(f"random_search: candidates must be >= {MIN_CANDIDATES}, got {candidates}")
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ccfg = train_config.replace(epochs=candidate_epochs)
    claim(run_dir, {"search": search_config.to_dict(), "train": ccfg.to_dict(), "budget_seconds": budget_seconds,
                     "candidates": candidates}, "random search")
    path = run_dir / "candidates.jsonl"
    records = [r for r in read_jsonl(path) if "k" in r]
    while not _enough(records, budget_seconds, candidates):
        k = len(records)
        record = _candidate(search_config, ccfg, data, k, run_dir / f"candidate{k}", progress, callback)
        append_jsonl(path, record)
        shutil.rmtree(run_dir / f"candidate{k}", ignore_errors=True)  # its checkpoint is no longer needed
        records.append(record)
    n = _enough(records, budget_seconds, candidates)
    records = records[:n]
    if not any("final" in r for r in read_jsonl(path)):
        append_jsonl(path, {"final": True, "candidates": n, "seconds": sum(r["seconds"] for r in records)})
    best = max(records, key=lambda r: (r["val_acc"], -r["k"]))  # ties: the first drawn
    return RandomSearchResult(Genotype.from_dict(best["genotype"]), best["k"], records, budget_seconds, run_dir)


def _enough(records: list[dict], budget_seconds: float | None, candidates: int | None) -> int:
    """N: the fewest leading candidates (>= MIN_CANDIDATES) whose seconds reach the budget; 0 if none yet."""
    if candidates is not None:
        return candidates if len(records) >= candidates else 0
    spent = 0.0
    for n, r in enumerate(records, start=1):
        spent += r["seconds"]
        if n >= MIN_CANDIDATES and spent >= budget_seconds:
            return n
    return 0


def _candidate(search_config: SearchConfig, ccfg: TrainConfig, data: DataSplits, k: int, run_dir: Path,
               progress: bool, callback) -> dict:
    """Train candidate k on search_train (resumable), score it on search_val; its record.

    Its seconds are counted as the DARTS search's are (the training steps), plus the scoring.
    """
    genotype = candidate_genotype(search_config, k)
    set_seed(ccfg.seed)  # its initial weights follow the seed, as every model of an experiment
    trained = train_model(build_network(genotype, ccfg, data), ccfg, train_only_data(data), run_dir,
                          resume=True, progress=progress, callback=callback)
    t0 = time.perf_counter()
    recalibrate_bn(trained.model, data.search_train)  # as the experiment does for every final model
    val = evaluate(trained.model, data.search_val, ccfg.batch_size)
    seconds = sum(h["seconds"] for h in trained.history) + time.perf_counter() - t0
    return {"k": k, "genotype": genotype.to_dict(), "val_acc": val["acc"], "seconds": seconds}
