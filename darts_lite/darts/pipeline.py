"""The end-to-end DARTS run: search, derive, retrain, evaluate, and the files of `runs/<name>/`.

The CLI, `make demo`, the notebooks and the application all go through these functions, so a
run started in one can be inspected in another. A run directory has the layout of `core.runs`:

    search_config.json  train_config.json   the configurations
    search_checkpoint.pt train_checkpoint.pt resumable checkpoints (every epoch)
    genotype.json        alphas.pt          the derived cell and the final alphas + trajectory
    metrics.json         figures/*.png      histories, test metrics, decision, summary; the figures
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import torch
from matplotlib.figure import Figure

from ..core.cost import count_parameters
from ..core.decision import DECIDED, kinds, null_line
from ..core.figures import savefig
from ..core.runs import load_data, update_metrics
from ..core.training import TrainConfig, TrainResult
from ..data import DataSplits
from ..readers import read_json, torch_load
from . import viz
from .config import SearchConfig
from .genotypes import Genotype
from .health import describe
from .remedies import remedy_settings
from .retrain import train_network
from .search import SearchResult, search


def save_search(result: SearchResult) -> dict[str, Path]:
    """Write genotype.json, alphas.pt (final alphas and trajectory) and the search part of metrics.json."""
    run_dir = result.run_dir
    paths = {"genotype": result.genotype.save(run_dir / "genotype.json"),
             "alphas": run_dir / "alphas.pt"}
    torch.save({"alphas": result.alphas, "trajectory": result.trajectory,
                "primitives": list(result.config.primitives)}, paths["alphas"])
    paths["metrics"] = update_metrics(run_dir, search={"history": result.history,
                                                       "seconds": sum(h["seconds"] for h in result.history)},
                                      decision=decision_summary(result.decision), health=result.health)
    return paths


def decision_summary(d: dict) -> dict:
    """The `"decision"` section of metrics.json: per cell kind kept_weight, entropy_ratio, margin, decided."""
    return {**{kind: {k: v for k, v in c.items() if k != "uniform_kept_weight"} for kind, c in kinds(d).items()},
            "decided": d["decided"], "threshold": DECIDED,
            "uniform_kept_weight": next(c["uniform_kept_weight"] for c in kinds(d).values()),
            **({"null": d["null"]} if "null" in d else {})}


def plot_run(run_dir: str | Path) -> list[Path]:
    """(Re)draw every figure of a run from its files into run_dir/figures/."""
    run_dir = Path(run_dir)
    if not (run_dir / "genotype.json").exists():
        raise FileNotFoundError(f"{run_dir} has no genotype.json; run a search into it first "
                                "(python -m darts_lite search --name NAME)")
    out = run_dir / "figures"
    paths = viz.save_genotype(Genotype.load(run_dir / "genotype.json"), out / "cell")
    saved = torch_load(run_dir / "alphas.pt", "search alphas")
    primitives = saved["primitives"]
    figures: dict[str, Figure] = {}
    for kind in ("normal", "reduce"):
        weights = torch.softmax(saved["alphas"][kind], dim=-1)
        figures[f"alphas_{kind}"] = viz.plot_alpha_heatmap(weights, primitives, title=f"softmax(alpha), {kind} cell")
        figures[f"trajectory_{kind}"] = viz.plot_alpha_trajectories(
            saved["trajectory"][kind], primitives, steps=saved["trajectory"]["epoch"],
            title=f"alpha trajectories, {kind} cell")
    metrics = read_json(run_dir / "metrics.json", "run metrics")
    for part in ("search", "train"):
        if metrics.get(part, {}).get("history"):
            figures[f"curves_{part}"] = viz.plot_curves(metrics[part]["history"])
    paths += [savefig(fig, name, out) for name, fig in figures.items()]
    return paths


def retrain(genotype: Genotype, config: TrainConfig, data: DataSplits, run_dir: str | Path,
            resume: bool = False, progress: bool = True, callback: Callable[[dict], None] | None = None
            ) -> TrainResult:
    """Train the derived network from scratch and record its history and test metrics."""
    result = train_network(genotype, config, data, run_dir=run_dir, resume=resume, progress=progress,
                           callback=callback)
    update_metrics(run_dir, train={"history": result.history, "test": result.test,
                                   "params": count_parameters(result.model),
                                   "seconds": sum(h["seconds"] for h in result.history)})
    return result


def search_and_retrain(search_config: SearchConfig, train_config: TrainConfig, data: DataSplits,
                       run_dir: str | Path, resume: bool = False, progress: bool = True,
                       callback: Callable[[dict], None] | None = None) -> tuple[SearchResult, TrainResult]:
    """Search, derive and retrain in one run directory: the one path from a search space to a trained network.

    `run` (the CLI and `make demo`) and the application (`hands.experiment`) both go through here.
    """
    found = search(search_config, data, run_dir=run_dir, resume=resume, progress=progress, callback=callback)
    save_search(found)
    trained = retrain(found.genotype, train_config, data, run_dir, resume=resume, progress=progress,
                      callback=callback)
    return found, trained


def run(search_config: SearchConfig, train_config: TrainConfig, run_dir: str | Path | None = None,
        resume: bool = False, progress: bool = True) -> dict:
    """Search, derive, retrain, evaluate, plot; returns the summary (also in metrics.json)."""
    run_dir = Path(run_dir) if run_dir is not None else Path("runs") / search_config.name
    t0 = time.perf_counter()
    data = load_data(search_config)
    found, trained = search_and_retrain(search_config, train_config, data, run_dir, resume, progress)
    last = found.history[-1]
    summary = {
        "dataset": data.name, "image_size": data.image_size,
        "images (search train/val/test)": f"{len(data.search_train)}/{len(data.search_val)}/{len(data.test)}",
        "search epochs": search_config.epochs, "order": search_config.order,
        "schedule": f"{search_config.sampling}, alpha lr {last['arch_lr']:.3g}, "
                    f"warm-up {search_config.warmup_epochs} epoch(s)",
        "decided": found.decision["decided"],
        "kept weight normal / reduce": f"{found.decision['normal']['kept_weight']:.2f} / "
                                       f"{found.decision['reduce']['kept_weight']:.2f} "
                                       f"(uniform {found.decision['normal']['uniform_kept_weight']:.2f}, "
                                       f"decided above {found.decision['normal'].get('threshold', DECIDED):.2f} / "
                                       f"{found.decision['reduce'].get('threshold', DECIDED):.2f})",
        "null": null_line(found.decision["null"]) if "null" in found.decision else "not judged",
        "remedies": remedy_settings(search_config) or "none",
        "supernet val acc (last / best epoch)": f"{last['val_acc']:.3f} / {found.health['best_val_acc']:.3f}, "
                                                f"derived cell {last['val_acc_derived']:.3f}",
        "supernet health": describe(found.health),
        "skip connections in normal cell": last["skip_normal"],
        "retrained params": count_parameters(trained.model),
        "retrain epochs": train_config.epochs,
        "test acc": round(trained.test["acc"], 4),
        "seconds": round(time.perf_counter() - t0, 1),
        "genotype": str(found.genotype),
    }
    update_metrics(run_dir, summary=summary)
    plot_run(run_dir)
    return summary
