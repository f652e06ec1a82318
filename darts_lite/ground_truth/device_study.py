"""One call for notebook 06's device sections: the LUT check on 27 devices, HELP's columns, budgets, transfers.

Everything here is lookup: accuracies from NAS-Bench-201's 12-epoch table, latencies from the
measured device table, counts from `cell_costs`. It runs in seconds on a CPU and returns a
JSON-ready dict that the notebook plots and `course.nb06` reads.
"""
from __future__ import annotations

import numpy as np

from .budget_search import BUDGET_PERCENTILE, pareto_front, regret_rows, transfer
from .cell_costs import nb201_count_table
from .device_latency import DeviceLatency, family, load_device_latency
from .latency_model import HELP_TABLE3, SAMPLE_SIZES, flops_rank_correlation, help_protocol, lut_check, summarise
from .nasbench201 import NB201Table, load_nb201

#: Devices of contrasting kinds for the transfer matrix and the Pareto fronts.
CONTRASTS = ("titan_rtx_256", "titan_rtx_1", "gold_6226", "pixel3", "raspi4", "eyeriss")
PARETO_DEVICES = ("titan_rtx_256", "pixel3", "raspi4", "eyeriss")


def device_study(sample_sizes=SAMPLE_SIZES, seeds=range(5), queries: int = 100, runs: int = 20,
                 percentile: float = BUDGET_PERCENTILE, contrasts=CONTRASTS, pareto_devices=PARETO_DEVICES,
                 accuracy: NB201Table | None = None, latency: DeviceLatency | None = None,
                 progress: bool = True) -> dict:
    """{"lut": per (device, k, model) means, "help": HELP's columns beside ours, "regret", "transfer", "pareto"}."""
    accuracy = load_nb201("cifar10", "valid") if accuracy is None else accuracy
    latency = load_device_latency() if latency is None else latency
    latency.check_aligned(accuracy)
    counts = nb201_count_table()
    flops_all = flops_rank_correlation(latency, counts)
    protocol = help_protocol(latency, counts, seeds=seeds)
    helps = []
    for device, published in HELP_TABLE3.items():
        rows = [r for r in protocol if r["device"] == device]
        helps.append({"device": device, "flops_published": published["flops"],
                      "flops_help_split": rows[0]["flops"], "flops_all_cells": flops_all[device],
                      "help_10": published["help_10"], "additive_10": float(np.mean([r["additive"] for r in rows])),
                      "additive_10_std": float(np.std([r["additive"] for r in rows], ddof=1)) if len(rows) > 1 else 0.0,
                      "n_query": rows[0]["n_query"]})
    fronts = {}
    for device in pareto_devices:
        lat = latency.of(device)
        front = pareto_front(accuracy.accuracy, lat)
        fronts[device] = {"rows": front.tolist(), "latency_ms": lat[front].tolist(),
                          "accuracy": accuracy.accuracy[front].tolist()}
    moved = transfer(accuracy, latency, contrasts, percentile)
    return {"devices": list(latency.devices), "families": {d: family(d) for d in latency.devices},
            "seeds": len(list(seeds)), "sample_sizes": list(sample_sizes), "percentile": percentile,
            "queries": queries, "runs": runs,
            "lut": summarise(lut_check(latency, counts, sample_sizes, seeds, progress=progress)),
            "flops_all_cells": flops_all, "help": helps,
            "regret": regret_rows(accuracy, latency, percentile=percentile, queries=queries, runs=runs),
            "transfer": {**moved, "arch": [accuracy.arch[i] for i in moved["picks"]]},
            "pareto": fronts}
