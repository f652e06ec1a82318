"""The application end to end: search, retrain and compare on one dataset, described by ONE config file.

`python -m darts_lite run CONFIG.json` (and notebook 07) runs, for every split seed:

1. the data (11K Hands by default: gender, subject-disjoint, dorsal / palmar / both);
2. a DARTS search and the retraining of its genotype from scratch; optionally (`searches` with
   "kernel") the meta-kernel search of notebooks 05-06 under a latency / MACs / parameter budget,
   its derived network retrained the same way;
3. the baselines under the same `TrainConfig` budget: hand-made torchvision networks,
   random genotypes of the same search space (`genotypes.random_genotype`), and ("random_search")
   random search at the DARTS search's cost on the same split (Li & Talwalkar, 2019; the "random
   search" row of Table 1 of the DARTS paper, `random_search`), its chosen genotype retrained as
   the DARTS genotype is;
4. their test metrics: accuracy, balanced accuracy, confusion matrix, accuracy per aspect.

Every model's row is appended to `runs/<name>/rows.jsonl` as soon as it is done; the searches
and trainings checkpoint every epoch. Run the same command again after an interruption (a
Colab disconnect): finished rows are kept, the interrupted training resumes from its checkpoint,
so the result equals an uninterrupted run. At the end `results.csv` and `results.md` hold the
table: model, parameters, MACs, measured latency (CPU, and GPU where present), accuracy and
balanced accuracy mean +- std over splits, and search cost in hours.

The config file: {"experiment": {...ExperimentConfig...}, "search": {...SearchConfig...},
"train": {...TrainConfig...}, "kernel_search": {...KernelSearchConfig...}}; a missing section takes
the defaults.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, confusion_matrix

from .baselines import HAND_MADE, hand_made
from .config import ConfigError, KernelSearchConfig, SearchConfig, TrainConfig, _check, _Config
from .data import DataSplits, Split, load_dataset
from .genotypes import Genotype, random_genotype
from .kernel_search import build_kernel_net, build_supernet, search_kernels
from .latency import CostTable, build_cost_table, count_macs, count_params, measure_latencies
from .random_search import random_search
from .search import search
from .stats import mean_std
from .train import build_network, recalibrate_bn, train_model
from .utils import get_device, set_seed


SEARCHES = ("darts", "kernel")
BASELINES = (*HAND_MADE, "random", "random_search")
SECTIONS = ("experiment", "search", "train", "kernel_search")


@dataclass
class ExperimentConfig(_Config):
    """What `run_experiment` compares, on which data; search and training have their own configs."""

    name: str = "hand_gender"        # run directory: runs/<name>/
    dataset: str = "hands11k"        # "hands11k" (the application), or any registered dataset (tests: digits)
    aspect: str = "both"             # hands11k: "dorsal", "palmar" or "both"
    protocol: str = "subject"        # hands11k: "subject" or "official" (per aspect)
    image_size: int = 32
    data_root: str | None = None
    splits: int = 2                  # split seeds: 0 .. splits-1 (mean +- std over them)
    searches: tuple[str, ...] = ("darts",)   # "darts" (cells) and/or "kernel" (meta-kernels + budget)
    baselines: tuple[str, ...] = ("mobilenet_v3_small", "resnet18", "random")
    random_genotypes: int = 2        # random genotypes per split in the "random" baseline
    random_search_epochs: int = 1    # "random_search": training epochs per candidate (on search_train)
    latency_batch: int = 1           # images per timed forward pass

    def __post_init__(self):
        self.baselines, self.searches = tuple(self.baselines), tuple(self.searches)
        _check(self, {"image_size": (4, None), "splits": (1, None), "random_genotypes": (1, None),
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
        if not self.name or "/" in self.name:
            raise ConfigError(f"ExperimentConfig.name must be a plain directory name, got {self.name!r}")


class RunConfig(NamedTuple):
    """Everything one run file describes (`load_config`); unpacks as (experiment, search, train, kernel)."""

    experiment: ExperimentConfig
    search: SearchConfig
    train: TrainConfig
    kernel_search: KernelSearchConfig


def load_config(path: str | Path) -> RunConfig:
    """The configs of a run file (sections "experiment", "search", "train", "kernel_search")."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        d = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path} is not valid JSON: {e}") from e
    unknown = sorted(set(d) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown}; use {', '.join(SECTIONS)}")
    return RunConfig(ExperimentConfig.from_dict(d.get("experiment", {})), SearchConfig.from_dict(d.get("search", {})),
                     TrainConfig.from_dict(d.get("train", {})),
                     KernelSearchConfig.from_dict(d.get("kernel_search", {})))


def load_split(exp: ExperimentConfig, seed: int) -> DataSplits:
    if exp.dataset != "hands11k":
        return load_dataset(exp.dataset, image_size=exp.image_size, root=exp.data_root, seed=seed)
    return load_dataset("hands11k", image_size=exp.image_size, root=exp.data_root, seed=seed,
                        aspect=None if exp.aspect == "both" else exp.aspect, protocol=exp.protocol, verbose=False)


def test_aspects(data: DataSplits) -> list[str] | None:
    """The aspect (dorsal / palmar) of every test image, in test order (None: no per-image records)."""
    records = (data.records or {}).get("test")
    return [r.aspect for r in records] if records and hasattr(records[0], "aspect") else None


@torch.no_grad()
def predict(model: torch.nn.Module, X: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    model.eval()
    device = next(model.parameters()).device
    out = [model(X[i:i + batch_size].to(device)) for i in range(0, len(X), batch_size)]
    logits = torch.cat([o[0] if isinstance(o, tuple) else o for o in out])
    return logits.argmax(1).cpu().numpy()


def test_metrics(model: torch.nn.Module, data: DataSplits, aspects: list[str] | None) -> dict:
    """Accuracy, balanced accuracy, confusion matrix and per-aspect accuracy on the test split."""
    y, pred = data.test.y.numpy(), predict(model, data.test.X)
    out = {"acc": float((pred == y).mean()), "balanced_acc": float(balanced_accuracy_score(y, pred)),
           "confusion": confusion_matrix(y, pred, labels=list(range(data.num_classes))).tolist()}
    if aspects is not None:
        a = np.array(aspects)
        out["acc_per_aspect"] = {asp: float((pred[a == asp] == y[a == asp]).mean()) for asp in sorted(set(aspects))}
    return out


def _training_images(data: DataSplits) -> Split:
    return Split(torch.cat([data.search_train.X, data.search_val.X]),
                 torch.cat([data.search_train.y, data.search_val.y]))


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _append(path: Path, row: dict) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")


def run_experiment(exp: ExperimentConfig, search_config: SearchConfig, train_config: TrainConfig,
                   kernel_config: KernelSearchConfig | None = None, run_dir: str | Path | None = None,
                   progress: bool = True, callback: Callable[[dict], None] | None = None) -> dict:
    """Run (or continue) every split and model of the experiment; returns {"rows", "table"}.

    `callback` is passed to every search and training loop (per step; `info["stop"]()` interrupts
    as Ctrl-C does). `kernel_config` configures the "kernel" search (default: `KernelSearchConfig()`).
    `run_experiment(*load_config(path), run_dir=...)` runs a config file.
    """
    run_dir = Path(run_dir or Path("runs") / exp.name)
    run_dir.mkdir(parents=True, exist_ok=True)
    run = RunConfig(exp, search_config, train_config, kernel_config or KernelSearchConfig())
    _claim(run_dir, run)
    rows_path = run_dir / "rows.jsonl"
    done = {(r["split"], r["model"]) for r in _rows(rows_path)}
    for seed in range(exp.splits):
        data = load_split(exp, seed)
        aspects = test_aspects(data)
        jobs = _jobs(run, data, seed, run_dir, progress, callback)
        for model_name, job in jobs:
            if (seed, model_name) in done:
                continue
            row = {"split": seed, "model": model_name, **job()}
            model = row.pop("_model")
            # BatchNorm statistics recomputed on the training images for every model alike: torchvision's
            # MobileNetV3 uses momentum 0.01, too slow for short budgets (it tests at chance otherwise)
            recalibrate_bn(model, _training_images(data))
            row.update(test_metrics(model, data, aspects))
            row["params"] = count_params(model)
            row["macs"] = count_macs(model, (1, data.in_channels, data.image_size, data.image_size))
            torch.save(model.state_dict(), run_dir / f"split{seed}" / f"{model_name}.pt")
            _append(rows_path, row)
    rows = _rows(rows_path)
    table = results_table(rows, run, data, run_dir)
    return {"rows": rows, "table": table}


def _claim(run_dir: Path, run: RunConfig) -> None:
    """Write the run's config.json; refuse a directory that holds a run of another config."""
    ours = json.loads(json.dumps({k: v.to_dict() for k, v in zip(SECTIONS, run)}))  # tuples -> lists
    path = run_dir / "config.json"
    defaults = json.loads(json.dumps({k: type(v)().to_dict() for k, v in zip(SECTIONS, run)}))
    saved = json.loads(path.read_text()) if path.exists() else ours
    theirs = {s: {**defaults[s], **saved.get(s, {})} for s in SECTIONS}  # a field added since: its default
    if theirs != ours:
        changed = [f"{section}.{key}" for section in SECTIONS for key in ours[section]
                   if theirs[section].get(key) != ours[section][key]]
        raise ConfigError(f"{run_dir} holds a run with another config (changed: {', '.join(changed)}); its rows "
                          "would be mixed with this one's. Use another name / --out, or delete the directory")
    path.write_text(json.dumps(ours, indent=2) + "\n")


def _jobs(run: RunConfig, data: DataSplits, seed: int, run_dir: Path, progress: bool, callback):
    """(model name, function returning its row with the trained model under "_model") for one split."""
    exp, search_config = run.experiment, run.search
    tcfg, split_dir = run.train.replace(seed=seed), run_dir / f"split{seed}"

    def train(model_name: str, build: Callable[[], torch.nn.Module]):
        """Every model alike: built right after seeding (its initial weights follow the split seed), resumable."""
        set_seed(tcfg.seed)
        return train_model(build(), tcfg, data, split_dir / f"{model_name}_train", resume=True, progress=progress,
                           callback=callback)

    def darts():
        scfg = search_config.replace(seed=seed, name=f"{exp.name}_split{seed}")
        found = search(scfg, data, run_dir=split_dir / "darts_search", resume=True, progress=progress,
                       callback=callback)
        found.genotype.save(split_dir / "darts_genotype.json")
        trained = train("darts", lambda: build_network(found.genotype, tcfg, data))
        return {"_model": trained.model, "genotype": str(found.genotype), "search_seconds": _seconds(found.history),
                "train_seconds": _seconds(trained.history), "decided": found.decision["decided"],
                **{f"kept_weight_{kind}": found.decision[kind]["kept_weight"] for kind in ("normal", "reduce")}}

    def kernel():
        kcfg = run.kernel_search.replace(seed=seed, name=f"{exp.name}_kernel_split{seed}")
        table = _cost_table(kcfg, data, exp.latency_batch, run_dir, progress)
        found = search_kernels(kcfg, data, table, run_dir=split_dir / "kernel_search", resume=True,
                               progress=progress, callback=callback)
        trained = train("kernel", lambda: build_kernel_net(kcfg, data, found.kernels))
        return {"_model": trained.model, "kernels": list(found.kernels), "search_seconds": _seconds(found.history),
                "train_seconds": _seconds(trained.history)}

    def random_job(k: int):
        def job():
            genotype = _random_genotype(search_config, seed, k)
            trained = train(f"random{k}", lambda: build_network(genotype, tcfg, data))
            return {"_model": trained.model, "genotype": str(genotype), "search_seconds": 0.0,
                    "train_seconds": _seconds(trained.history)}
        return job

    def random_search_job():
        darts_row = next(r for r in _rows(run_dir / "rows.jsonl") if r["split"] == seed and r["model"] == "darts")
        found = random_search(search_config.replace(seed=seed, name=f"{exp.name}_random_search_split{seed}"), tcfg,
                              data, darts_row["search_seconds"], split_dir / "random_search",
                              exp.random_search_epochs, progress, callback)
        found.genotype.save(split_dir / "random_search_genotype.json")
        trained = train("random_search", lambda: build_network(found.genotype, tcfg, data))
        return {"_model": trained.model, "genotype": str(found.genotype), "search_seconds": found.seconds,
                "train_seconds": _seconds(trained.history), "candidates": len(found.candidates)}

    def hand_job(name: str):
        def job():
            trained = train(name, lambda: hand_made(name, data.in_channels, data.num_classes, data.image_size))
            return {"_model": trained.model, "search_seconds": 0.0, "train_seconds": _seconds(trained.history)}
        return job

    jobs = [(name, {"darts": darts, "kernel": kernel}[name]) for name in exp.searches]
    for name in exp.baselines:
        if name == "random":
            jobs += [(f"random{k}", random_job(k)) for k in range(exp.random_genotypes)]
        elif name == "random_search":  # after "darts", whose search cost is its budget
            jobs.append((name, random_search_job))
        else:
            jobs.append((name, hand_job(name)))
    return jobs


def _random_genotype(search_config: SearchConfig, split: int, k: int) -> Genotype:
    """The k-th random genotype of a split: a pure function of (split, k), so it can be rebuilt."""
    g = torch.Generator().manual_seed(1_000 * split + k)
    return random_genotype(g, search_config.primitives, search_config.nodes, search_config.multiplier)


def _cost_table(config: KernelSearchConfig, data: DataSplits, batch: int, run_dir: Path, progress: bool
                ) -> CostTable | None:
    """The kernel search's cost table, measured once per run (at `batch` images) and reused on resume."""
    if not (config.latency_weight > 0 or config.budgets()):
        return None
    path, device = run_dir / "cost_table.json", get_device(config.device)
    if path.exists():
        return CostTable.load(path, device)
    shape = (batch, data.in_channels, data.image_size, data.image_size)
    table = build_cost_table(build_supernet(config, data), shape, device, progress=progress)
    table.save(path)
    return table


def _seconds(history: list[dict]) -> float:
    """Wall time of a search or training, summed over its epochs."""
    return sum(h["seconds"] for h in history)


def results_table(rows: list[dict], run: RunConfig, data: DataSplits, run_dir: Path) -> list[dict]:
    """One line per model (random genotypes pooled, random search apart): write results.csv and .md; the lines."""
    exp = run.experiment
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(table_name(r["model"]), []).append(r)
    shape = (exp.latency_batch, data.in_channels, data.image_size, data.image_size)
    nets = {}
    for name, rs in groups.items():  # one trained instance per model for the latency measurement
        r = rs[0]
        nets[name] = rebuild(r, run, data, run_dir)
    lat_cpu = measure_latencies({k: v.cpu() for k, v in nets.items()}, shape, "cpu", warmup=3, repeats=20)
    lat_gpu = measure_latencies({k: v.cuda() for k, v in nets.items()}, shape, "cuda", warmup=3, repeats=20) \
        if torch.cuda.is_available() else {}
    lines = []
    for name, rs in groups.items():
        acc, bal = mean_std([r["acc"] for r in rs]), mean_std([r["balanced_acc"] for r in rs])
        lines.append({"model": name, "runs": len(rs), "params": int(np.mean([r["params"] for r in rs])),
                      "macs": int(np.mean([r["macs"] for r in rs])), "latency_cpu_ms": lat_cpu[name] / 1e3,
                      "latency_gpu_ms": lat_gpu[name] / 1e3 if name in lat_gpu else None,
                      "acc_mean": acc[0], "acc_std": acc[1], "balanced_acc_mean": bal[0], "balanced_acc_std": bal[1],
                      "search_hours": sum(r["search_seconds"] for r in rs) / 3600 / max(exp.splits, 1),
                      "train_hours": np.mean([r["train_seconds"] for r in rs]) / 3600})
    with open(run_dir / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)
    (run_dir / "results.md").write_text(markdown_table(lines, exp, data) + "\n")
    return lines


def table_name(model: str) -> str:
    """The table line of a model: the random genotypes random0, random1, ... pool into one."""
    if re.fullmatch(r"random\d+", model):
        return "random genotype"
    return "random search" if model == "random_search" else model


def rebuild(row: dict, run: RunConfig, data: DataSplits, run_dir: Path) -> torch.nn.Module:
    """The trained network of a row, from its saved weights."""
    split_dir = run_dir / f"split{row['split']}"
    search_config, train_config = run.search, run.train
    if "kernels" in row:
        model = build_kernel_net(run.kernel_search, data, row["kernels"])
    elif "genotype" in row:
        name = row["model"]
        gpath = split_dir / f"{name}_genotype.json" if name in ("darts", "random_search") else None
        genotype = Genotype.load(gpath) if gpath else _random_genotype(search_config, row["split"],
                                                                        int(name[len("random"):]))
        model = build_network(genotype, train_config, data)
    else:
        model = hand_made(row["model"], data.in_channels, data.num_classes, data.image_size)
    model.load_state_dict(torch.load(split_dir / f"{row['model']}.pt", map_location="cpu"))
    return model.eval()


def markdown_table(lines: list[dict], exp: ExperimentConfig, data: DataSplits) -> str:
    """The result table in Markdown, with the data it came from in its caption."""
    gpu = any(line["latency_gpu_ms"] is not None for line in lines)
    head = ["model", "params", "MACs", "CPU ms", *(["GPU ms"] if gpu else []), "accuracy", "balanced acc.",
            "search h"]
    out = [f"{data.name}, {exp.aspect if exp.dataset == 'hands11k' else ''} {data.image_size}x{data.image_size}, "
           f"{len(data.search_train) + len(data.search_val)} training / {len(data.test)} test images per split, "
           f"{exp.splits} split(s); latency for a batch of {exp.latency_batch}", "",
           "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for line in lines:
        cells = [line["model"], f"{line['params']:,}", f"{line['macs']:,}", f"{line['latency_cpu_ms']:.2f}",
                 *([f"{line['latency_gpu_ms']:.2f}" if line["latency_gpu_ms"] is not None else "n/a"] if gpu else []),
                 f"{line['acc_mean']:.3f} ± {line['acc_std']:.3f}",
                 f"{line['balanced_acc_mean']:.3f} ± {line['balanced_acc_std']:.3f}", f"{line['search_hours']:.4f}"]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)
