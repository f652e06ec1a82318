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

Every model's row is appended to `runs/<name>/rows.jsonl` as soon as it is done; every model has
a run directory of its own, `runs/<name>/split<k>/<model>/`, in the layout of `core.runs` (the
DARTS model's is the layout of `darts.pipeline`: it is searched and retrained by the same
`search_and_retrain`), and its searches and trainings checkpoint every epoch. Run the same command
again after an interruption (a Colab disconnect): finished rows are kept, the interrupted training
resumes from its checkpoint, so the result equals an uninterrupted run. On a CPU the models run side by
side in one-thread processes, one per core (`workers`; `core.workers`). At the end `results.csv`
and `results.md` hold the table (`results`): model, parameters, MACs, measured latency (CPU, and
the accelerator where the run has one), accuracy and balanced accuracy mean +- std over splits,
and search cost in hours.

The config file (`config.load_config`): {"experiment": {...ExperimentConfig...}, "search": {...SearchConfig...},
"train": {...TrainConfig...}, "kernel_search": {...KernelSearchConfig...}}; a missing section takes
the defaults.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch
from tqdm.auto import tqdm

from ..core.cost import count_macs, count_parameters
from ..core.runs import append_jsonl, claim, read_jsonl
from ..core.runtime import get_device, set_seed
from ..core.training import TrainConfig, recalibrate_bn, train_model, training_images
from ..core.workers import default_workers, run_in_processes
from ..darts.config import SearchConfig
from ..darts.genotypes import Genotype, random_genotype
from ..darts.pipeline import search_and_retrain
from ..darts.random_search import random_search
from ..darts.retrain import build_network
from ..data import DataSplits, load_dataset
from ..meta_kernels.config import KernelSearchConfig
from ..meta_kernels.cost_table import CostTable, build_cost_table
from ..meta_kernels.search import build_kernel_net, build_supernet, search_kernels
from .baselines import hand_made
from .config import SECTIONS, ExperimentConfig, RunConfig
from .results import results_table, test_aspects, test_metrics


def load_split(exp: ExperimentConfig, seed: int) -> DataSplits:
    if exp.dataset != "hands11k":
        return load_dataset(exp.dataset, image_size=exp.image_size, root=exp.data_root, seed=seed)
    return load_dataset("hands11k", image_size=exp.image_size, root=exp.data_root, seed=seed,
                        aspect=None if exp.aspect == "both" else exp.aspect, protocol=exp.protocol, verbose=False)



def run_experiment(exp: ExperimentConfig, search_config: SearchConfig, train_config: TrainConfig,
                   kernel_config: KernelSearchConfig | None = None, run_dir: str | Path | None = None,
                   progress: bool = True, callback: Callable[[dict], None] | None = None,
                   workers: int = 0) -> dict:
    """Run (or continue) every split and model of the experiment; returns {"rows", "table"}.

    `callback` is passed to every search and training loop (per step; `info["stop"]()` interrupts
    as Ctrl-C does). `kernel_config` configures the "kernel" search (default: `KernelSearchConfig()`).
    `run_experiment(*load_config(path), run_dir=...)` runs a config file.

    The models are independent but for random search, whose budget is its split's DARTS search: on a
    CPU, `workers` processes of one thread each train that many models side by side (`core.workers`;
    0: one per core; 1: one after the other in this process, as a `callback` requires). In sequence
    each model shows its progress bar; in parallel one bar counts the finished models. The thread count
    moves the last bits of every convolution: resume a run with the `workers` it started with.
    """
    run_dir = Path(run_dir or Path("runs") / exp.name)
    run = RunConfig(exp, search_config, train_config, kernel_config or KernelSearchConfig())
    claim_run(run_dir, run)
    rows_path = run_dir / "rows.jsonl"
    done = {(r["split"], r["model"]) for r in read_jsonl(rows_path)}
    names = [name for name, _ in _jobs(run, None, 0, run_dir, False, None)]  # (no job runs: no data needed)
    todo = [(seed, name) for seed in range(exp.splits) for name in names if (seed, name) not in done]
    if callback is not None:
        workers = 1
    workers = workers or default_workers(get_device(train_config.device), len(todo))
    if workers == 1:
        for seed, name in todo:
            _run_model((run, seed, name, run_dir, progress, callback))
    else:  # the longest first: DARTS, then random search (its budget is DARTS's), then the rest as listed
        longest_first = ["darts", "random_search", *names]  # .index finds each name's first place
        todo.sort(key=lambda job: (longest_first.index(job[1]), job[0]))
        index = {job: i for i, job in enumerate(todo)}
        after = {i: index[(seed, "darts")] for i, (seed, name) in enumerate(todo)
                 if name == "random_search" and (seed, "darts") in index}
        jobs = [(run, seed, name, run_dir, False, None) for seed, name in todo]
        with tqdm(total=len(jobs), desc=f"models ({workers} processes)", unit="model", disable=not progress) as bar:
            for _ in run_in_processes(_run_model, jobs, workers, after):
                bar.update()
    order = {name: k for k, name in enumerate(names)}
    rows = sorted(read_jsonl(rows_path), key=lambda r: (r["split"], order.get(r["model"], len(order))))
    return {"rows": rows, "table": results_table(rows, run, load_split(exp, exp.splits - 1), run_dir)}


def _run_model(job: tuple) -> None:
    """One model of one split: trained (or resumed), tested, its row appended to rows.jsonl."""
    run, seed, model_name, run_dir, progress, callback = job
    data = load_split(run.experiment, seed)
    train = dict(_jobs(run, data, seed, run_dir, progress, callback))[model_name]
    row = {"split": seed, "model": model_name, **train()}
    model = row.pop("_model")
    # BatchNorm statistics recomputed on the training images for every model alike: torchvision's
    # MobileNetV3 uses momentum 0.01, too slow for short budgets (it tests at chance otherwise)
    recalibrate_bn(model, training_images(data))
    row.update(test_metrics(model, data, test_aspects(data)))
    row["params"] = count_parameters(model)
    row["macs"] = count_macs(model, (1, data.in_channels, data.image_size, data.image_size))
    torch.save(model.state_dict(), model_dir(run_dir, seed, model_name) / "model.pt")
    append_jsonl(run_dir / "rows.jsonl", row)


def claim_run(run_dir: str | Path, run: RunConfig) -> None:
    """Write the run's settings.json (every config, by section); refuse a directory of another run's.

    A field added to a config since a run was started counts at its default (`core.runs.claim`).
    """
    claim(run_dir, {k: v.to_dict() for k, v in zip(SECTIONS, run)}, "run of another config",
          defaults={k: type(v)().to_dict() for k, v in zip(SECTIONS, run)})


def model_dir(run_dir: Path, split: int, model: str) -> Path:
    """The run directory of one model of one split: runs/<name>/split<k>/<model>/."""
    return Path(run_dir) / f"split{split}" / model


def _jobs(run: RunConfig, data: DataSplits, seed: int, run_dir: Path, progress: bool, callback):
    """(model name, function returning its row with the trained model under "_model") for one split."""
    exp, search_config = run.experiment, run.search
    tcfg = run.train.replace(seed=seed)

    def train(model_name: str, build: Callable[[], torch.nn.Module]):
        """Every model alike: built right after seeding (its initial weights follow the split seed), resumable."""
        set_seed(tcfg.seed)
        return train_model(build(), tcfg, data, model_dir(run_dir, seed, model_name), resume=True,
                           progress=progress, callback=callback)

    def darts():
        scfg = search_config.replace(seed=seed, name=f"{exp.name}_split{seed}")
        found, trained = search_and_retrain(scfg, tcfg, data, model_dir(run_dir, seed, "darts"), resume=True,
                                            progress=progress, callback=callback)
        return {"_model": trained.model, "genotype": str(found.genotype), "search_seconds": _seconds(found.history),
                "train_seconds": _seconds(trained.history), "decided": found.decision["decided"],
                **{f"kept_weight_{kind}": found.decision[kind]["kept_weight"] for kind in ("normal", "reduce")}}

    def kernel():
        kcfg = run.kernel_search.replace(seed=seed, name=f"{exp.name}_kernel_split{seed}")
        table = _cost_table(kcfg, data, exp.latency_batch, run_dir, progress)
        found = search_kernels(kcfg, data, table, run_dir=model_dir(run_dir, seed, "kernel"), resume=True,
                               progress=progress, callback=callback)
        trained = train("kernel", lambda: build_kernel_net(kcfg, data, found.kernels))
        return {"_model": trained.model, "kernels": list(found.kernels), "search_seconds": _seconds(found.history),
                "train_seconds": _seconds(trained.history)}

    def genotype_job(name: str, find: Callable[[], tuple[Genotype, dict]]):
        """A model of the DARTS space: its genotype found (`find`), saved beside it, then trained."""
        def job():
            genotype, row = find()
            genotype.save(model_dir(run_dir, seed, name) / "genotype.json")
            trained = train(name, lambda: build_network(genotype, tcfg, data))
            return {"_model": trained.model, "genotype": str(genotype), "train_seconds": _seconds(trained.history),
                    **row}
        return job

    def random_search_found():
        darts_row = next(r for r in read_jsonl(run_dir / "rows.jsonl") if r["split"] == seed and r["model"] == "darts")
        found = random_search(search_config.replace(seed=seed, name=f"{exp.name}_random_search_split{seed}"), tcfg,
                              data, darts_row["search_seconds"], model_dir(run_dir, seed, "random_search"),
                              exp.random_search_epochs, progress, callback)
        return found.genotype, {"search_seconds": found.seconds, "candidates": len(found.candidates)}

    def hand_job(name: str):
        def job():
            trained = train(name, lambda: hand_made(name, data.in_channels, data.num_classes, data.image_size))
            return {"_model": trained.model, "search_seconds": 0.0, "train_seconds": _seconds(trained.history)}
        return job

    jobs = [(name, {"darts": darts, "kernel": kernel}[name]) for name in exp.searches]
    for name in exp.baselines:
        if name == "random":
            jobs += [(f"random{k}", genotype_job(f"random{k}", lambda k=k: (_random_genotype(search_config, seed, k),
                                                                           {"search_seconds": 0.0})))
                     for k in range(exp.random_genotypes)]
        elif name == "random_search":  # after "darts", whose search cost is its budget
            jobs.append((name, genotype_job(name, random_search_found)))
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
    shape = (batch, data.in_channels, data.image_size, data.image_size)
    if path.exists():
        return CostTable.load(path, device, shape)
    table = build_cost_table(build_supernet(config, data), shape, device, progress=progress)
    table.save(path)
    return table


def _seconds(history: list[dict]) -> float:
    """Wall time of a search or training, summed over its epochs."""
    return sum(h["seconds"] for h in history)
