"""Notebook 06, the latency-constrained search: its findings and exercises."""
from __future__ import annotations

import itertools

import numpy as np
import torch

from ..core.decision import DECIDED
from ..meta_kernels import CostTable
from .common import decided
from .exercise import Exercise, close

NAMES = {"mobilenet_v3_small": "MobileNetV3-small", "resnet18": "ResNet-18"}
EXACT_MAPE = 0.01  # percent: below it, a fitted sum reproduces a device's latencies to rounding


def _table(results: dict) -> str:
    rho, (low, high) = results["table_rho"], results["table_rho_ci"]
    order = "nearly the same order" if low >= 0.9 else ("mostly the same order" if low >= 0.5 else "an uncertain order")
    return (f"The lookup table ranks {results['validate_samples']} random networks in {order} as measured: Spearman "
            f"rho {rho:.2f} (95% CI {low:.2f}-{high:.2f}), mean absolute error {results['table_mape']:.1f}%.")


def findings(results: dict) -> list[str]:
    lines = [_table(results)]
    found = results["found"]
    budgeted = [r for r in found if r.get("budget_us") is not None]
    if budgeted:
        pred = sum(r["predicted_us"] <= r["budget_us"] for r in budgeted)
        meas = sum(r["latency_us"] <= r["budget_us"] for r in budgeted)
        lines.append(f"Searches under a latency budget: {pred} of {len(budgeted)} met it as predicted, "
                     f"{meas} of {len(budgeted)} as measured.")
    drift = results["drift_measured_over_predicted"]
    lines.append(f"Measured over predicted latency, median over the found networks: {drift:.2f}. "
                 f"The table's absolute values moved by {abs(drift - 1):.0%} since it was built; the search uses "
                 "its ranking.")
    kept = [r["kept_weight"] for r in found if r.get("kept_weight") is not None]
    if kept:
        uniform = 1 / len(results.get("kernel_sizes", (3, 5, 7)))
        lines.append(decided(kept, uniform, "The latency searches"))
    by_acc = max(found, key=lambda r: r["test_acc"])
    front = results.get("pareto", [])
    on_front = [r["model"] for r in found if r["model"] in front]
    line = (f"{len(on_front)} of {len(found)} found networks lie on the accuracy-latency Pareto front. The most "
            f"accurate, `{by_acc['model']}`, scores {by_acc['test_acc']:.3f} at {by_acc['latency_us']:.0f} us")
    anchors = results.get("anchors", [])
    big = max(anchors, key=lambda a: max(a["kernels"])) if anchors else None
    lines.append(line + (f"; the `{big['model']}` anchor {big['test_acc']:.3f} at {big['latency_us']:.0f} us."
                         if big else "."))
    for h in results.get("hand_made", []):
        name = NAMES.get(h["model"], h["model"])
        better = [r for r in found if r["latency_us"] < h["latency_us"] and r["test_acc"] >= h["test_acc"]]
        if better:
            b = max(better, key=lambda r: r["test_acc"])
            lines.append(f"`{b['model']}` is faster than {name} ({b['latency_us']:.0f} against "
                         f"{h['latency_us']:.0f} us) "
                         f"and at least as accurate ({b['test_acc']:.3f} against {h['test_acc']:.3f}).")
        else:
            lines.append(f"No found network is both faster than {name} ({h['latency_us']:.0f} us) and as accurate "
                         f"({h['test_acc']:.3f}).")
    lines.append(f"Data: {results.get('dataset', 'digits')}, one seed, {results.get('train_epochs', 'a few')} training "
                 "epochs: accuracy differences have no spread to judge them.")
    if "device_lut" in results:
        lines += device_findings(results)
    return lines


def _versus_flops(results: dict, k: int) -> tuple[int, int, float, float]:
    """(devices where the k-cell additive LUT out-ranks MACs, devices, median rho of each)."""
    per = results["device_lut"].values()
    add, flops = [d[f"additive_{k}"] for d in per], [d[f"flops_{k}"] for d in per]
    return sum(a > f for a, f in zip(add, flops)), len(add), float(np.median(add)), float(np.median(flops))


def _lut_line(results: dict) -> str:
    parts = []
    for k in results["lut_samples"]:
        wins, n, add, flops = _versus_flops(results, k)
        parts.append(f"from {k} cells it out-ranks MACs on {wins} of {n} (median rho {add:.2f} against {flops:.2f})")
    k = max(results["lut_samples"])
    exact = [d for d, m in results.get("device_lut_mape", {}).items() if m[f"additive_{k}"] < EXACT_MAPE]
    tail = (f" From {k} cells the sum is exact (MAPE below {EXACT_MAPE}%) on " + ", ".join(f"`{d}`" for d in exact)
            + ": those latencies are sums of per-layer costs." if exact else "")
    return ("On the published device table, an additive LUT fitted from k measured cells, scored on the rest: "
            + "; ".join(parts) + f". Means of {results['lut_draws']} draws of the cells." + tail)


def _help_line(results: dict) -> str:
    helps = results["help"]
    gap = max(helps, key=lambda h: abs(h["flops_help_split"] - h["flops_published"]))
    wins = sum(h["help_10"] > h["additive_10"] for h in helps)
    return (f"HELP's FLOPs column, recomputed from the data on its split: the largest gap is on `{gap['device']}` "
            f"({gap['flops_help_split']:.3f} against the published {gap['flops_published']:.3f}). From 10 cells, HELP's "
            f"meta-learned predictor (mean rho {np.mean([h['help_10'] for h in helps]):.2f}) beats the additive LUT "
            f"(mean {np.mean([h['additive_10'] for h in helps]):.2f}) on {wins} of {len(helps)} of its devices; "
            f"MACs alone give {np.mean([h['flops_help_split'] for h in helps]):.2f}.")


def _budget_line(results: dict) -> str:
    v, regret = results["evolution_versus_random"], results["regret"].values()
    n_off = len(results["transfer"]["over"]) * (len(results["transfer"]["over"]) - 1)
    broken = sum(x > 1 for i, row in enumerate(results["transfer"]["over"]) for j, x in enumerate(row) if i != j)
    return (f"Under each device's {results['budget_percentile']}th-percentile budget, the best cell differs: "
            f"{results['distinct_best_cells']} distinct best cells across {len(v)} device settings, and {broken} of "
            f"{n_off} transfers between contrasting devices break the target's budget. After "
            f"{results['budget_queries']} lookups, evolution's regret (mean "
            f"{np.mean([r['evolution'] for r in regret]):.2f} points) is lower than random search's "
            f"({np.mean([r['random'] for r in regret]):.2f}) on {v.count('beats')} of {len(v)} devices and ties on "
            f"{v.count('ties')}.")


def _nb201_line(results: dict) -> str:
    runs = results["nb201_latency"]
    picks = "; ".join(f"beta {r['beta']:g}: {r['measured_ms']:.1f} ms measured ({r['predicted_ms']:.1f} predicted), "
                      f"latency percentile {r['latency_percentile']:.0f}" for r in runs)
    where = ("on CIFAR-10" if results["nb201_data"] == "cifar10"
             else f"a smoke run on {results['nb201_data']}, whose lookups mean nothing; not yet run on CIFAR-10")
    return f"DARTS with the latency term in NAS-Bench-201's space, LUT of `{results['nb201_target']}` ({where}): {picks}."


def device_findings(results: dict) -> list[str]:
    """The device sections' lines, ending with the per-device Spearman of the 10-cell LUT and of MACs."""
    k = min(results["lut_samples"])
    per = ", ".join(f"`{d}` {v[f'additive_{k}']:.2f}/{v[f'flops_{k}']:.2f}" for d, v in results["device_lut"].items())
    lines = [_lut_line(results), _help_line(results), _budget_line(results)]
    if results.get("nb201_latency"):
        lines.append(_nb201_line(results))
    return lines + [f"Spearman rho per device, additive LUT from {k} cells / MACs: {per}."]


# --- exercises -----------------------------------------------------------------------------------------

def _expected(answer) -> str | None:
    g = torch.Generator().manual_seed(11)
    for sizes in (3, 3, 4):
        alpha = torch.randn(sizes, generator=g) * 2
        lut = (torch.rand(sizes, generator=g) * 900 + 100).tolist()
        table = CostTable("any", (1, 1, 8, 8), tuple(range(3, 3 + 2 * sizes, 2)), {"latency_us": [lut]},
                          {"latency_us": 0.0})
        want = float(table.expected(alpha.unsqueeze(0))["latency_us"])
        got = answer(alpha.clone(), list(lut))
        reason = close(got, want, rel=1e-5,
                       what=f"expected_latency(alpha={[round(a, 2) for a in alpha.tolist()]}, "
                            f"lut={[round(v) for v in lut]})")
        if reason:
            return reason + " The check uses CostTable.expected, the search's latency term."
    return None


def _instances():
    rng = np.random.default_rng(4)
    for layers in (3, 3, 4, 4):
        lut = [{k: float(v) for k, v in zip((3, 5, 7), np.sort(rng.uniform(100, 900, 3)))} for _ in range(layers)]
        accuracy = {c: float(rng.uniform(0.8, 0.99)) for c in itertools.product((3, 5, 7), repeat=layers)}
        cheapest, dearest = sum(r[3] for r in lut), sum(r[7] for r in lut)
        yield lut, accuracy, float(cheapest + rng.uniform(0.2, 0.6) * (dearest - cheapest))


def _best_under_budget(answer) -> str | None:
    for lut, accuracy, budget in _instances():
        fits = [c for c in accuracy if sum(lut[i][k] for i, k in enumerate(c)) <= budget]
        want = max(fits, key=accuracy.get)
        got = answer([dict(r) for r in lut], dict(accuracy), budget)
        got = tuple(got)
        if got not in accuracy:
            return f"best_under_budget should return one kernel size per layer, as a tuple like {want}; got {got!r}."
        cost = sum(lut[i][k] for i, k in enumerate(got))
        if cost > budget:
            return f"{got} costs {cost:.0f} us, over the budget of {budget:.0f} us."
        if accuracy[got] < accuracy[want]:
            return (f"{got} fits ({cost:.0f} of {budget:.0f} us) but scores {accuracy[got]:.3f}; {want} fits and "
                    f"scores {accuracy[want]:.3f}. Try every choice.")
    return None


def _wrong_best(lut, accuracy, budget):
    """Greedy: all largest kernels, then shrink the layer that saves the most until it fits."""
    choice = [7] * len(lut)
    while sum(lut[i][k] for i, k in enumerate(choice)) > budget:
        i = max((i for i, k in enumerate(choice) if k > 3), key=lambda i: lut[i][choice[i]] - lut[i][choice[i] - 2])
        choice[i] -= 2
    return tuple(choice)


q1 = Exercise(
    "q1", "Write `expected_latency(alpha, lut)`: one layer's expected latency under softmax(alpha), given its "
    "lookup-table row `lut` (one latency per kernel size).",
    _expected, "The expectation is differentiable in alpha (softmax is), so latency can join the loss: "
    "ProxylessNAS's E[latency].",
    wrong=lambda alpha, lut: float(np.mean(lut)),
    hint="torch.softmax(alpha, 0) @ torch.tensor(lut).", cpu_seconds=0.1)
q2 = Exercise(
    "q2", "Write `best_under_budget(lut, accuracy, budget)`: the most accurate choice of kernel sizes (a tuple, one "
    "per layer) whose summed latency from `lut` fits the budget. `accuracy` maps each tuple to its accuracy.",
    _best_under_budget, "Exhaustive search is exact but grows as 3^layers; a search with a latency term, or a "
    "greedy trade-down, stands in for it on real spaces.",
    wrong=_wrong_best, hint="itertools.product((3, 5, 7), repeat=len(lut)); keep the fits; take the max accuracy.",
    cpu_seconds=0.1)


def _lut_instances():
    """Latency tables made to be additive plus noise: (train ops, train ms, test ops) and the truth's terms."""
    rng = np.random.default_rng(6)
    for k in (40, 60, 100):
        terms = np.concatenate([np.zeros((6, 1)), rng.uniform(0.1, 3.0, (6, 4))], axis=1)
        ops = rng.integers(0, 5, size=(k + 200, 6))
        ms = 2.0 + terms[np.arange(6), ops].sum(axis=1) + rng.normal(0, 0.05, len(ops))
        yield ops[:k], ms[:k], ops[k:]


def _predict_latency(answer) -> str | None:
    from ..ground_truth import fit_additive  # the library's fit: least squares over one term per (edge, operation)
    for train_ops, train_ms, test_ops in _lut_instances():
        want = fit_additive(train_ops, train_ms).predict_indices(test_ops, "latency_ms")
        got = answer(train_ops.copy(), train_ms.copy(), test_ops.copy())
        got = np.asarray(got, dtype=float)
        if got.shape != want.shape:
            return f"predict_latency should return one latency per test cell, shape {want.shape}; got {got.shape}."
        worst = int(np.argmax(np.abs(got - want)))
        if not np.allclose(got, want, rtol=1e-6, atol=1e-9):
            return (f"with {len(train_ops)} training cells, test cell {test_ops[worst].tolist()} is predicted "
                    f"{got[worst]:.4f} ms; the least-squares sum gives {want[worst]:.4f} ms.")
    return None


q3 = Exercise(
    "q3", "Write `predict_latency(train_ops, train_ms, test_ops)`: fit one latency term per (edge, operation) and a "
    "constant to the training cells by least squares, and return the test cells' predicted latencies. `ops` arrays "
    "hold each cell's 6 operation columns (0 to 4, `none` first).",
    _predict_latency, "With more measured cells than terms the fit is unique. With fewer, many sums fit the same "
    "cells exactly, and the one chosen need not rank the others: one reason the 10-cell tables of section 6 rank "
    "below FLOPs.",
    wrong=lambda train_ops, train_ms, test_ops: np.full(len(test_ops), float(np.mean(train_ms))),
    hint="X = one column of ones plus one 0/1 column per (edge, operation other than none); "
         "np.linalg.lstsq(X, train_ms, rcond=None); then X_test @ coef.", cpu_seconds=0.1)
exercises = [q1, q2, q3]


def headline(results: dict) -> str | None:
    """The README's line: the table's ranking, the budgets, and whether the searches decided."""
    kept = [r["kept_weight"] for r in results["found"] if r.get("kept_weight") is not None]
    line = f"A measured latency table ranks networks as measured (Spearman rho {results['table_rho']:.2f})"
    if not kept:
        return line + "."
    k = sum(w >= DECIDED for w in kept)
    word = "**all ended undecided**" if k == 0 else f"{k} of {len(kept)} decided"
    budgets = "met every budget" if results.get("budgets_met") else "missed a budget"
    line = (f"{line}; the latency searches {budgets}, but {word} (kept weight "
            f"{min(kept):.2f}-{max(kept):.2f}, uniform {1 / len(results.get('kernel_sizes', (3, 5, 7))):.2f}).")
    if "device_lut" not in results:
        return line
    low, high = min(results["lut_samples"]), max(results["lut_samples"])
    _, n, add_low, flops = _versus_flops(results, low)
    wins, _, add_high, _ = _versus_flops(results, high)
    return (f"{line} On {n} measured device settings, a LUT fitted from {low} cells ranks worse than FLOPs (median "
            f"rho {add_low:.2f} against {flops:.2f}); from {high} cells it beats FLOPs on {wins} of {n} "
            f"({add_high:.2f}). The best cell under a budget changes with the device "
            f"({results['distinct_best_cells']} distinct best cells).")
