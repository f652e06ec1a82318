"""Figures of notebook 06's device sections: the LUT check on 27 devices, regret, transfers, Pareto fronts.

Each takes the dict of `device_study.device_study` (and, for the fronts, the tables themselves).
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from .budget_search import best_under_budget, budget_at
from .device_latency import FAMILIES, DeviceLatency
from .nasbench201 import NB201Table

MODELS = {"additive": "additive LUT", "flops": "MACs", "params": "parameters"}


def device_order(study: dict) -> list[str]:
    """Devices grouped by family (GPU, CPU, phone, edge), alphabetical within each."""
    return sorted(study["devices"], key=lambda d: (list(FAMILIES).index(study["families"][d]), d))


METRICS = {"spearman": "Spearman rho", "kendall": "Kendall tau", "mape": "MAPE (%, log)"}
MAPE_FLOOR = 0.1  # percent: an exact fit is drawn at this floor of the log axis


def plot_lut_check(study: dict) -> Figure:
    """Every device in one figure: Spearman, Kendall and MAPE on held-out cells of the additive LUT at each k,
    of MACs and of parameters (one panel per measure)."""
    devices = device_order(study)
    ks = study["sample_sizes"]
    fig = Figure(figsize=(11, 8), layout="constrained")
    axes = fig.subplots(len(METRICS), 1, sharex=True)
    x = np.arange(len(devices))
    for ax, (metric, label) in zip(axes, METRICS.items()):
        floor = MAPE_FLOOR if metric == "mape" else -np.inf
        by = {(r["device"], r["k"], r["model"]): max(r[metric], floor) for r in study["lut"]}
        for i, k in enumerate(ks):
            ax.plot(x, [by[(d, k, "additive")] for d in devices], "o-", color=f"C{i}", ms=4, lw=1,
                    label=f"additive LUT, k = {k} cells")
        k = max(ks)  # the counts' line is fitted on k cells too; their ranks do not depend on k
        ax.plot(x, [by[(d, k, "flops")] for d in devices], "k^", ms=5, label="MACs (FLOPs)")
        ax.plot(x, [by[(d, k, "params")] for d in devices], "x", color="grey", ms=5, label="parameters")
        ax.set_ylabel(label)
        if metric == "mape":
            ax.set_yscale("log")
            ax.axhline(MAPE_FLOOR, color="grey", lw=0.5, ls=":")
            ax.text(0, MAPE_FLOOR * 1.3, f"exact fits drawn at {MAPE_FLOOR}%", fontsize=7, color="grey")
        ax.grid(axis="y", alpha=0.3)
    axes[-1].set_xticks(x, devices, rotation=60, ha="right", fontsize=8)
    axes[0].legend(fontsize=8, ncol=3)
    axes[0].set_title(f"Latency predicted from k measured cells, scored on the others: every device setting "
                      f"(mean of {study['seeds']} draws)")
    return fig


def plot_regret(study: dict) -> Figure:
    """Per device: regret (accuracy points below the exact answer) of random search and evolution, mean +- std."""
    devices = device_order(study)
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(devices))
    for i, search in enumerate(("random", "evolution")):
        rows = {r["device"]: np.asarray(r["regret"], dtype=float) for r in study["regret"] if r["search"] == search}
        mean = [np.nanmean(rows[d]) for d in devices]
        std = [np.nanstd(rows[d], ddof=1) for d in devices]
        ax.errorbar(x + (i - 0.5) * 0.3, mean, yerr=std, fmt="o", color=f"C{i}", ms=4, capsize=2,
                    label=f"{search} search")
    ax.set_xticks(x, devices, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("regret (accuracy points)")
    ax.set_title(f"Best cell under each device's {study['percentile']:.0f}th-percentile budget, after "
                 f"{study['queries']} lookups ({study['runs']} runs)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return fig


def plot_transfer(study: dict) -> Figure:
    """Two heatmaps: device A's best cell run on device B, its latency over B's budget and its accuracy difference."""
    t = study["transfer"]
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    panels = [(np.array(t["over"]), "latency on B / B's budget", "RdYlGn_r", (0.5, 1.5), "{:.2f}"),
              (np.array(t["regret"]), "B's best accuracy - A's pick's (points)", "PuOr", None, "{:+.1f}")]
    for ax, (m, title, cmap, limits, fmt) in zip(axes, panels):
        bound = limits or (-np.abs(m).max(), np.abs(m).max())
        im = ax.imshow(m, cmap=cmap, vmin=bound[0], vmax=bound[1])
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(t["devices"])), t["devices"], rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(t["devices"])), t["devices"], fontsize=8)
        ax.set_xlabel("B: the device it runs on")
        ax.set_ylabel("A: the device it was chosen for")
        ax.set_title(title, fontsize=10)
        fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def plot_pareto(study: dict, accuracy: NB201Table, latency: DeviceLatency) -> Figure:
    """Every cell's accuracy against its latency on four devices, the front, the budget and the best cell under it."""
    devices = list(study["pareto"])
    fig = Figure(figsize=(11, 3.2), layout="constrained")
    axes = fig.subplots(1, len(devices))
    for ax, device in zip(np.atleast_1d(axes), devices):
        lat = latency.of(device)
        front = study["pareto"][device]
        budget = budget_at(lat, study["percentile"])
        ax.scatter(lat, accuracy.accuracy, s=1, color="#bbb", rasterized=True)
        ax.plot(front["latency_ms"], front["accuracy"], "-o", color="C3", ms=3, lw=1, label="Pareto front")
        ax.axvline(budget, color="C0", ls="--", lw=1, label=f"budget ({study['percentile']:.0f}th pct.)")
        best = best_under_budget(accuracy.accuracy, lat, budget)
        ax.plot(lat[best], accuracy.accuracy[best], "*", color="C0", ms=12, label="best under budget")
        ax.set_title(device, fontsize=10)
        ax.set_xlabel("latency (ms)")
        ax.set_ylim(max(accuracy.accuracy.min(), 50), accuracy.accuracy.max() + 2)
    np.atleast_1d(axes)[0].set_ylabel("CIFAR-10 valid accuracy (12 epochs)")
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="lower right")
    return fig
