"""The application's results: test metrics of each trained model, and the table that compares them.

`test_metrics` gives accuracy, balanced accuracy (the classes of 11K Hands are unbalanced), the
confusion matrix and the accuracy per aspect (dorsal / palmar). `results_table` pools each
model's rows over the splits (mean +- std), measures every model's inference latency on the CPU
and, where the run has one, on its accelerator, and writes `results.csv` and `results.md`.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import balanced_accuracy_score, confusion_matrix

from ..core.runtime import get_device
from ..core.stats import mean_std
from ..core.tables import markdown_table, write_csv
from ..core.timing import measure_latencies
from ..darts.genotypes import Genotype
from ..darts.retrain import build_network
from ..data import DataSplits
from ..readers import torch_load
from ..meta_kernels.search import build_kernel_net
from .baselines import hand_made
from .config import RunConfig


def test_aspects(data: DataSplits) -> list[str] | None:
    """The aspect (dorsal / palmar) of every test image, in test order (None: no per-image records)."""
    records = (data.records or {}).get("test")
    return [r.aspect for r in records] if records and hasattr(records[0], "aspect") else None


@torch.no_grad()
def predict(model: torch.nn.Module, X: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """The predicted class of every image of `X` (model in eval mode)."""
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


def table_name(model: str) -> str:
    """The table line of a model: the random genotypes random0, random1, ... pool into one."""
    if re.fullmatch(r"random\d+", model):
        return "random genotype"
    return "random search" if model == "random_search" else model


def rebuild(row: dict, run: RunConfig, data: DataSplits, run_dir: Path) -> torch.nn.Module:
    """The trained network of a row, from the files of its run directory (eval mode, on the CPU)."""
    model_dir = Path(run_dir) / f"split{row['split']}" / row["model"]
    if "kernels" in row:
        model = build_kernel_net(run.kernel_search, data, row["kernels"])
    elif "genotype" in row:
        model = build_network(Genotype.load(model_dir / "genotype.json"), run.train, data)
    else:
        model = hand_made(row["model"], data.in_channels, data.num_classes, data.image_size)
    model.load_state_dict(torch_load(model_dir / "model.pt", "trained model"))
    return model.eval()


def results_table(rows: list[dict], run: RunConfig, data: DataSplits, run_dir: Path) -> list[dict]:
    """One line per model (random genotypes pooled, random search apart): write results.csv and .md; the lines.

    Latency is measured for one trained instance per model, on the CPU and, when the run's
    training device is an accelerator (`TrainConfig.device`), on that device too.
    """
    exp = run.experiment
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(table_name(r["model"]), []).append(r)
    shape = (exp.latency_batch, data.in_channels, data.image_size, data.image_size)
    nets = {name: rebuild(rs[0], run, data, run_dir) for name, rs in groups.items()}
    lat_cpu = measure_latencies(nets, shape, "cpu", warmup=3, repeats=20)
    device = get_device(run.train.device)
    lat_device = measure_latencies(nets, shape, device, warmup=3, repeats=20) if device.type != "cpu" else {}
    lines = []
    for name, rs in groups.items():
        acc, bal = mean_std([r["acc"] for r in rs]), mean_std([r["balanced_acc"] for r in rs])
        lines.append({"model": name, "runs": len(rs), "params": int(np.mean([r["params"] for r in rs])),
                      "macs": int(np.mean([r["macs"] for r in rs])), "latency_cpu_ms": lat_cpu[name] / 1e3,
                      "latency_gpu_ms": lat_device[name] / 1e3 if name in lat_device else None,
                      "acc_mean": acc[0], "acc_std": acc[1], "balanced_acc_mean": bal[0], "balanced_acc_std": bal[1],
                      "search_hours": sum(r["search_seconds"] for r in rs) / 3600 / max(exp.splits, 1),
                      "train_hours": np.mean([r["train_seconds"] for r in rs]) / 3600})
    write_csv(lines, run_dir / "results.csv")
    (run_dir / "results.md").write_text(results_markdown(lines, run, data) + "\n")
    return lines


def results_markdown(lines: list[dict], run: RunConfig, data: DataSplits) -> str:
    """The result table in Markdown, with the data it came from in its caption."""
    exp = run.experiment
    accelerator = any(line["latency_gpu_ms"] is not None for line in lines)
    columns = [("model", "model"), ("params", "params:,"), ("MACs", "macs:,"), ("CPU ms", "latency_cpu_ms:.2f"),
               *([(f"{get_device(run.train.device).type.upper()} ms", "latency_gpu_ms:.2f")] if accelerator else []),
               ("accuracy", lambda r: f"{r['acc_mean']:.3f} ± {r['acc_std']:.3f}"),
               ("balanced acc.", lambda r: f"{r['balanced_acc_mean']:.3f} ± {r['balanced_acc_std']:.3f}"),
               ("search h", "search_hours:.4f")]
    caption = (f"{data.name}, {exp.aspect if exp.dataset == 'hands11k' else ''} {data.image_size}x{data.image_size}, "
               f"{len(data.search_train) + len(data.search_val)} training / {len(data.test)} test images per split, "
               f"{exp.splits} split(s); latency for a batch of {exp.latency_batch}")
    return markdown_table(lines, columns, caption)
