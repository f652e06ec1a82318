"""Notebook 07, the hand-gender search: its findings and exercises."""
from __future__ import annotations

import numpy as np

from ..core.stats import compare_means
from ..darts.ops import PRIMITIVES
from .common import decided, versus
from .exercise import Exercise, close


def findings(results: dict) -> list[str]:
    by = {line["model"]: line for line in results["table"]}
    n = results["splits"]

    def bal(model):
        return {"mean": by[model]["balanced_acc_mean"], "std": by[model]["balanced_acc_std"]}

    lines = []
    if "darts" in by:
        for other in ("random genotype", "random search"):
            if other in by:
                lines.append(versus("DARTS's cell", bal("darts"), f"a {other}" if other == "random genotype"
                                    else other, bal(other), n, "balanced accuracy"))
    if "kernel" in by and "darts" in by:
        k, d = by["kernel"], by["darts"]
        c = compare_means(k["balanced_acc_mean"], k["balanced_acc_std"], n, d["balanced_acc_mean"],
                          d["balanced_acc_std"], n)
        fits = " It fits its MACs budget." if results.get("kernel_within_budget") else " It exceeds its MACs budget."
        lines.append(f"The kernel search's network ({k['params']:,} parameters) **{c['word']}** DARTS's cell "
                     f"({d['params']:,}): balanced accuracy {k['balanced_acc_mean']:.3f} against "
                     f"{d['balanced_acc_mean']:.3f}, 2 SE {c['two_se']:.3f}.{fits}")
    best = max(by, key=lambda m: by[m]["balanced_acc_mean"])
    lines.append(f"The highest balanced accuracy is {by[best]['balanced_acc_mean']:.3f} ({best}). Always "
                 f"answering the majority class gives plain accuracy {results['majority_acc']:.3f}.")
    if results.get("darts_kept_weight_normal"):
        uniform = 1 / sum(p != "none" for p in PRIMITIVES)
        lines.append(decided(results["darts_kept_weight_normal"], uniform, "DARTS's searches (normal cell)"))
    if results.get("seed_agreement_exact") is not None:
        a, c = results["seed_agreement_exact"], results["chance_agreement_exact"]
        lines.append(f"The splits' searches share {a:.0%} of their (input, operation) choices; two random genotypes "
                     f"agree on {c:.0%}. " + ("Not more than chance: the cell did not replicate."
                                              if a <= c else "More than chance."))
    lines.append(f"Data: {results['dataset']}, {n} split(s) of people, {results['image_size']} px: "
                 "small-sample numbers.")
    return lines


def _balanced_accuracy(answer) -> str | None:
    rng = np.random.default_rng(7)
    for _ in range(5):
        y = rng.integers(0, 2, 60)
        y[:2] = [0, 1]
        p = np.where(rng.random(60) < 0.7, y, 1 - y)
        recalls = [np.mean(p[y == c] == c) for c in (0, 1)]
        got = answer(y, p)
        reason = close(got, float(np.mean(recalls)), what="balanced_accuracy(y, p)")
        if reason:
            return reason + (" Balanced accuracy is the mean over the classes of the share of that class "
                             "predicted right.")
    return None


def _verdict(answer) -> str | None:
    cases = [((0.90, 0.01, 0.85, 0.01, 3), "beats"), ((0.88, 0.03, 0.89, 0.02, 3), "ties"),
             ((0.80, 0.01, 0.90, 0.01, 3), "loses to")]
    for (ma, sa, mb, sb, n), want in cases:
        got = answer(ma, sa, mb, sb, n)
        if got != want:
            return (f"for {ma} ± {sa} against {mb} ± {sb} over {n} splits you said {got!r}; it is {want!r}. "
                    "Compare the difference with 2 * sqrt(sa**2/n + sb**2/n).")
    return None


q1 = Exercise(
    "q1", "Write `balanced_accuracy(y, p)` for labels and predictions in {0, 1}, without scikit-learn.",
    _balanced_accuracy, "When one gender has most of the images, plain accuracy rewards guessing the "
    "majority; balanced accuracy does not.", wrong=lambda y, p: float(np.mean(y == p)),
    hint="Average, over the two classes c, the share of images of class c predicted as c.", cpu_seconds=0.1)
q2 = Exercise(
    "q2", "Write `verdict(mean_a, std_a, mean_b, std_b, n)` returning 'beats', 'ties' or 'loses to' by the "
    "course's two-standard-error rule.", _verdict, "A difference smaller than two standard errors is a tie: "
    "with three splits, most differences between searches are ties.",
    wrong=lambda ma, sa, mb, sb, n: "beats" if ma > mb else "loses to",
    hint="SE = sqrt(std_a**2 / n + std_b**2 / n); beats when the difference > 2 SE.", cpu_seconds=0.1)
exercises = [q1, q2]


def headline(results: dict) -> str | None:
    """The README's line: DARTS's cell against a random genotype on 11K Hands."""
    by = {line["model"]: line for line in results["table"]}
    if "darts" not in by or "random genotype" not in by:
        return None
    a, b = by["darts"], by["random genotype"]
    word = versus("", {"mean": a["balanced_acc_mean"], "std": a["balanced_acc_std"]}, "",
                  {"mean": b["balanced_acc_mean"], "std": b["balanced_acc_std"]}, results["splits"]).split("**")[1]
    return (f"On hand images, DARTS's searched cell **{word}** a random cell of the same space: balanced accuracy "
            f"{a['balanced_acc_mean']:.3f} against {b['balanced_acc_mean']:.3f}.")
