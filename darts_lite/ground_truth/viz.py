"""Figures of the ground truth: the space's accuracy distribution, the noise ceiling, where each method's
picks land, the null's kept weight beside the search's, NAS-Bench-201's best-so-far curves; and for notebook
09, the zero-cost proxies' rankings beside the published ones and their kernels of one batch."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from .table import GroundTruth


def plot_distribution(table: GroundTruth, marks: dict[str, float] | None = None, ax=None) -> Figure:
    """Histogram of the cells' mean accuracy, with named accuracies (the best, the all-skip cells...) marked."""
    fig = Figure(figsize=(6.4, 3.4), layout="constrained") if ax is None else ax.figure
    ax = fig.subplots() if ax is None else ax
    ax.hist(table.accuracy, bins=30, color="#9ab", edgecolor="white")
    for i, (name, acc) in enumerate((marks or {}).items()):
        ax.axvline(acc, color=f"C{i}", lw=2, label=f"{name} ({acc:.3f}, top {table.top_percent(acc):.1f}%)")
    ax.set_xlabel("ground-truth accuracy (mean over seeds)")
    ax.set_ylabel("cells")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_noise_ceiling(table: GroundTruth) -> Figure:
    """Seed 0 against seed 1 for every cell: the ranking no search can beat (Kendall tau in the title)."""
    fig = Figure(figsize=(4.2, 4.0), layout="constrained")
    ax = fig.subplots()
    a, b = table.accuracies[:, 0], table.accuracies[:, 1]
    ax.scatter(a, b, s=10, c=table.skips, cmap="viridis")
    low, high = min(a.min(), b.min()), max(a.max(), b.max())
    ax.plot([low, high], [low, high], color="grey", lw=1)
    ceiling = table.noise_ceiling()
    ax.set_title(f"noise ceiling: tau {ceiling['kendall_tau']:.2f}, rho {ceiling['spearman_rho']:.2f}")
    ax.set_xlabel(f"accuracy, seed {table.seeds[0]}")
    ax.set_ylabel(f"accuracy, seed {table.seeds[1]}")
    return fig


def plot_picks(table: GroundTruth, picks: dict[str, Sequence[float]]) -> Figure:
    """Each method's picks (ground-truth accuracy per run) drawn over the space's distribution."""
    fig = Figure(figsize=(7.0, 0.5 * len(picks) + 1.6), layout="constrained")
    ax = fig.subplots()
    acc = np.sort(table.accuracy)
    ax.violinplot([acc], positions=[-1], vert=False, showextrema=False)
    for i, (name, values) in enumerate(picks.items()):
        ax.scatter(values, [i] * len(values), s=30, color=f"C{i % 10}", zorder=3)
        ax.plot([np.mean(values)] * 2, [i - 0.3, i + 0.3], color=f"C{i % 10}", lw=2)
    ax.axvline(np.median(acc), color="grey", ls="--", lw=1, label="median cell")
    ax.axvline(acc[-1], color="black", ls=":", lw=1, label="best cell")
    ax.set_yticks(range(-1, len(picks)), ["the space", *picks])
    ax.set_xlabel("ground-truth accuracy of the picked cell")
    ax.legend(fontsize=8, loc="lower left")
    return fig


def plot_null(rows: Sequence[dict]) -> Figure:
    """Kept weight of the normal cell per method: on the real labels and on shuffled ones (the null)."""
    fig = Figure(figsize=(6.4, 3.2), layout="constrained")
    ax = fig.subplots()
    for i, r in enumerate(rows):
        ax.scatter(r["real"], [i + 0.12] * len(r["real"]), color="C0", label="real labels" if i == 0 else None)
        ax.scatter(r["null"], [i - 0.12] * len(r["null"]), color="C3", marker="x",
                   label="shuffled labels (null)" if i == 0 else None)
    ax.axvline(0.5, color="grey", ls="--", lw=1, label="fixed threshold 0.5")
    ax.set_yticks(range(len(rows)), [r["method"] for r in rows])
    ax.set_xlabel("kept weight, normal cell")
    ax.legend(fontsize=8)
    return fig


def plot_best_so_far(curves: dict[str, np.ndarray], best: float, ylabel: str) -> Figure:
    """Mean best-so-far accuracy (band: 25-75% of runs) against queries, one line per search strategy."""
    fig = Figure(figsize=(6.0, 3.4), layout="constrained")
    ax = fig.subplots()
    for i, (name, runs) in enumerate(curves.items()):
        x = np.arange(1, runs.shape[1] + 1)
        ax.plot(x, runs.mean(0), color=f"C{i}", label=name)
        ax.fill_between(x, *np.percentile(runs, [25, 75], axis=0), color=f"C{i}", alpha=0.2)
    ax.axhline(best, color="black", ls=":", lw=1, label=f"best cell ({best:.2f})")
    ax.set_xscale("log")
    ax.set_xlabel("architectures queried")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    return fig


def plot_skips(table: GroundTruth, picks: dict[str, Sequence[int]]) -> Figure:
    """Accuracy against skip connections: every cell of the space (grey), each method's picks on top.

    `picks` maps a method to the table rows of its picks. The collapse shows as picks at the right
    end (the all-skip cells); a remedy that works moves them left and up.
    """
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.subplots()
    jitter = np.random.default_rng(0).uniform(-0.25, 0.25, len(table))
    ax.scatter(table.skips + jitter, table.accuracy, s=8, color="#bbb", label="every cell")
    width = 0.5 / max(len(picks), 1)
    for i, (name, rows) in enumerate(picks.items()):
        rows = np.asarray(rows, dtype=int)
        x = table.skips[rows] - 0.25 + width * (i + 0.5)
        ax.scatter(x, table.accuracy[rows], s=36, color=f"C{i % 10}", edgecolor="black", lw=0.5, zorder=3,
                   label=name)
    ax.set_xticks(range(int(table.skips.max()) + 1))
    ax.set_xlabel("skip connections in the normal cell")
    ax.set_ylabel("ground-truth accuracy")
    ax.legend(fontsize=7, ncol=2, loc="lower left")
    return fig


def plot_proxy_rankings(report: dict) -> Figure:
    """Each proxy's Spearman rho on the ground truth (mean, range over seeds) beside its published NAS-Bench-201 rho."""
    names = list(report["proxies"])
    fig = Figure(figsize=(7.0, 3.4), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(names))
    rows = [report["proxies"][n] for n in names]
    ours = [r["spearman"] for r in rows]
    seeds = [[s["spearman"] for s in r["per_seed"]] for r in rows]
    spread = np.array([[m - min(s), max(s) - m] for m, s in zip(ours, seeds)]).T
    published = [r.get("published_spearman") or np.nan for r in rows]
    ax.bar(x - 0.2, ours, 0.4, yerr=spread, capsize=3, label="this ground truth (range over seeds)")
    ax.bar(x + 0.2, published, 0.4, color="0.7", label="NAS-Bench-201 CIFAR-10, published")
    ax.axhline(report["noise_ceiling"]["spearman_rho"], color="C3", ls="--", label="noise ceiling (two seeds)")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x, names)
    ax.set_ylabel("Spearman rho with accuracy")
    ax.set_ylim(min(0.0, *ours) - 0.05, 1.0)
    ax.legend(fontsize=8, loc="upper center", ncols=3)
    return fig


def plot_kernels(rows: dict[str, dict[str, np.ndarray]]) -> Figure:
    """Square matrices as heatmaps: one row per kind (a proxy's kernel), one column per network, one scale per row.

    A row's colours run from its smallest off-diagonal entry to 1 (the diagonal of a normalised kernel)."""
    columns = max(len(r) for r in rows.values())
    fig = Figure(figsize=(2.6 * columns + 0.8, 2.5 * len(rows)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(rows), columns, squeeze=False))
    for line, (kind, matrices) in zip(axes, rows.items()):
        arrays = [np.asarray(m, dtype=float) for m in matrices.values()]
        vmin = min(float(a[~np.eye(len(a), dtype=bool)].min()) for a in arrays)
        for ax, (name, a) in zip(line, zip(matrices, arrays)):
            image = ax.imshow(a, cmap="viridis", vmin=vmin, vmax=1.0)
            ax.set_title(f"{kind}, {name}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(image, ax=list(line), shrink=0.8)
    return fig
