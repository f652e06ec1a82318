"""Notebook 08, the ground truth: its findings and exercises."""
from __future__ import annotations

import re

import numpy as np

from ..core.stats import compare_means
from .exercise import Exercise, close

def _number(text) -> float | None:
    """The leading number of a table cell ("0.89 ± 0.04" -> 0.89); None for "n/a"."""
    m = re.match(r"\s*(-?[\d.]+)", str(text))
    return float(m.group(1)) if m else None


def _versus_random(results: dict) -> list[dict]:
    """Each supernet search against random search: {"method", "word", "diff", "two_se", "mean_a", ...}."""
    return results.get("versus_random", [])


def _names(rows: list[dict]) -> str:
    return ", ".join(r["method"] for r in rows)


def _verdicts(results: dict) -> str | None:
    rows = _versus_random(results)
    if not rows:
        return None
    by = {w: [r for r in rows if r["word"] == w] for w in ("beats", "ties", "loses to")}
    lead = ("No supernet search (DARTS or a variant) beats random search at the same cost" if not by["beats"]
            else f"{len(by['beats'])} of {len(rows)} supernet searches beat random search ({_names(by['beats'])})")
    counts = f"{len(by['beats'])} beat, {len(by['ties'])} tie, {len(by['loses to'])} lose"
    losers = f" ({_names(by['loses to'])})" if by["loses to"] else ""
    return f"{lead}: {counts}{losers}."


def _closest(results: dict) -> str | None:
    rows = _versus_random(results)
    if not rows:
        return None
    r = max(rows, key=lambda r: r["diff"])
    return (f"The closest is {r['method']}: {r['mean_a']:.3f} ± {r['std_a']:.3f} against {r['mean_b']:.3f} ± "
            f"{r['std_b']:.3f} (difference {r['diff']:+.3f}, 2 SE {r['two_se']:.3f}).")


def _ceiling(results: dict) -> str:
    tau = results["noise_ceiling"]["kendall_tau"]
    ranked = [(m["method"], _number(m["tau"])) for m in results["methods"] if _number(m["tau"]) is not None]
    line = f"The noise ceiling: two training seeds rank the cells with Kendall tau {tau:.3f}."
    if ranked:
        name, best = max(ranked, key=lambda x: x[1])
        line += f" The best ranking of any method is {name}'s, tau {best:.3f}."
    return line


def _all_skip(results: dict) -> str | None:
    cells = results["all_skip"]
    if not cells:
        return None
    tops = [c["top_percent"] for c in cells]
    accs = [c["accuracy"] for c in cells]
    median = results["spread"]["median"]
    where = ("at the bottom of the space" if min(tops) >= 90 else
             "below the median" if max(accs) < median else "not all below the median")
    return (f"The {len(cells)} all-skip cells sit {where}: top {min(tops):.0f}% to {max(tops):.0f}%, accuracy "
            f"{min(accs):.3f} to {max(accs):.3f} (median {median:.3f}).")


def _collapse(results: dict) -> str | None:
    rows = results.get("collapse") or []
    hit = [r for r in rows if r["all-skip picks"]]
    if not rows:
        return None
    if not hit:
        return "No search picked an all-skip cell."
    return "Picks of an all-skip cell: " + ", ".join(
        f"{r['method']} in {r['all-skip picks']} of {r['runs']} seeds" for r in hit) + "."


def _null(results: dict) -> tuple[str, str] | None:
    rows = [m for m in results["methods"] if _number(m["null kept (normal)"]) is not None]
    if not rows:
        return None
    top = max(rows, key=lambda m: _number(m["null kept (normal)"]))
    decided = [tuple(int(x) for x in m["decided"].split(" of ")) for m in rows]
    better = [m for m in rows if _number(m["null acc"]) is not None and _number(m["null acc"]) >= _number(m["acc"])]
    null_kept = _number(top['null kept (normal)'])
    return (f"On shuffled labels the alphas concentrate too: kept weight up to {null_kept:.2f} "
            f"({top['method']}; {_number(top['kept (normal)']):.2f} on real labels). "
            f"Above that null, {sum(d for d, _ in decided)} of {sum(n for _, n in decided)} searches decided.",
            f"The picks made on shuffled labels have a mean accuracy at least as high as the real picks' in "
            f"{len(better)} of {len(rows)} searches.")


def _nb201(results: dict) -> list[str]:
    lines = [f"On NAS-Bench-201 the all-skip cell is in the top {results['nb201_all_skip_top_percent']:.1f}%: a "
             f"random cell beats it with probability {results['nb201_beats_all_skip']:.3f}."]
    final = results.get("nb201_final")
    if final and {"random search", "regularised evolution"} <= set(final):
        a, b = final["regularised evolution"], final["random search"]
        c = compare_means(a["mean"], a["std"], a["n"], b["mean"], b["std"], b["n"])
        lines.append(f"There, after {results['nb201_queries']} queries, regularised evolution **{c['word']}** random "
                     f"search: CIFAR-10 test {a['mean']:.2f} ± {a['std']:.2f} against "
                     f"{b['mean']:.2f} ± {b['std']:.2f} "
                     f"({a['n']} runs each).")
    else:
        best = results["nb201_best_so_far"]
        lines.append(f"There regularised evolution's last pick scores {best['regularised evolution']:.2f} on "
                     f"CIFAR-10 test, random search's {best['random search']:.2f}.")
    darts = results.get("nb201_darts") or []
    if darts:
        skips = sum(bool(d["all_skip"]) for d in darts)
        line = (f"DARTS in NAS-Bench-201's space picked the all-skip cell in {skips} of {len(darts)} seeds; mean "
                f"top {np.mean([d['top_percent'] for d in darts]):.1f}%.")
        if results.get("nb201_darts_data", "cifar10") != "cifar10":
            line += f" It searched {results['nb201_darts_data']}, a smoke test: the lookup means nothing."
        lines.append(line)
    return lines


def _default(results: dict) -> str | None:
    w = results.get("winner_5_seeds")
    if not w:
        return None
    target = results.get("target_top_percent", 10.0)
    reach = "within" if w["top_percent"] <= target else "short of"
    line = (f"The default schedule, {w['method']}, over {len(w['seeds'])} seeds: picks in the top "
            f"{w['top_percent']:.1f}% on average by the table, {reach} the {target:.0f}% target.")
    c = results.get("winner_versus_random")
    if c:
        line += (f" It **{c['word']}** random search: {c['mean_a']:.4f} against {c['mean_b']:.4f} (2 SE "
                 f"{c['two_se']:.4f}).")
    else:
        line += f" Mean accuracy {w['mean_accuracy']:.4f}, random search's {w['baseline_mean_accuracy']:.4f}."
    return line


def _five(results: dict) -> str | None:
    """The methods of the five-seed study other than the default, against random search."""
    winner = (results.get("winner_5_seeds") or {}).get("method")
    rows = {n: c for n, c in (results.get("five_versus_random") or {}).items() if n != winner}
    if not rows:
        return None
    return "Over five seeds: " + "; ".join(f"{n} **{c['word']}** random search ({c['mean_a']:.4f} against "
                                            f"{c['mean_b']:.4f}, 2 SE {c['two_se']:.4f})" for n, c in rows.items()) + "."


def _fresh(results: dict) -> list[str]:
    """The picks retrained on fresh seeds: which methods separate from the median cells, and the bad tail."""
    rows = results.get("fresh")
    if not rows:
        return []
    by = {w: [r for r in rows if r["vs_median"]["word"] == w] for w in ("beats", "ties", "loses to")}
    seeds = ", ".join(map(str, results.get("fresh_seeds", [])))
    verbs = {"beats": "beat", "ties": "tie", "loses to": "lose"}
    counts = [f"{len(by[w])} {verbs[w]}" + (f" ({_names(by[w])})" if by[w] and w != "ties" else "") for w in verbs]
    lines = [f"Every pick was retrained on fresh seeds ({seeds}), and so were the cells around the median. "
             f"Against those median cells: {', '.join(counts)}."]
    if len(rows) >= 10 and 0 < len(by["beats"]) <= max(1, round(0.05 * len(rows))):  # 2 SE: ~1 in 40 by chance
        lines.append(f"{len(by['beats'])} of {len(rows)} comparisons passing two standard errors is about what "
                     "chance gives: no method clearly separates from the median.")
    if not by["beats"]:
        lines.append("No method separates from the median on fresh seeds. On this space and recipe, avoiding "
                     "collapse is all a search can be judged on.")
    tail = [r for r in rows if r["bad_tail"] > 0]
    lines.append("Picks in the bad tail (the table's bottom tenth): " + (", ".join(
        f"{r['method']} {r['bad_tail']:.0%}" for r in tail) if tail else "none") + ".")
    return lines


def _data(results: dict) -> str:
    runs = {m["runs"] for m in results["methods"]}
    seeds = f"over {runs.pop()} seeds" if len(runs) == 1 else "over a few seeds"
    budget = f"{results['budget_seconds']:.0f}-second searches" if "budget_seconds" in results else "short searches"
    data = f"{results['data']}, " if "data" in results else ""
    return (f"Data: {data}{results['cells']} cells on {len(results['seeds'])} training seeds, {budget} {seeds}: "
            "small-sample numbers.")


def findings(results: dict) -> list[str]:
    lines = [_verdicts(results), _closest(results), _ceiling(results), _all_skip(results), _collapse(results)]
    null = _null(results)
    lines += list(null) if null else []
    lines += _nb201(results)
    lines += _fresh(results)
    lines += [_default(results), _five(results), _data(results)]
    return [line for line in lines if line]


def headline(results: dict) -> str | None:
    """The README's line: the supernet searches against random search on the ground truth."""
    rows = _versus_random(results)
    if not rows:
        return None
    counts = {w: sum(r["word"] == w for r in rows) for w in ("beats", "ties", "loses to")}
    lead = "no DARTS variant beats" if not counts["beats"] else f"{counts['beats']} DARTS variants beat"
    return (f"On a ground truth of {results['cells']} trained cells, {lead} random search at the same cost: "
            f"{counts['beats']} beat, {counts['ties']} tie, {counts['loses to']} lose.")


# Exercises -------------------------------------------------------------------------------------------------


def _kendall(answer) -> str | None:
    from scipy.stats import kendalltau

    rng = np.random.default_rng(8)
    for n, noise in ((12, 0.5), (40, 2.0), (207, 1.0)):
        a = rng.normal(size=n)
        b = a + noise * rng.normal(size=n)  # a second seed: the same cells, another draw of the noise
        want = float(kendalltau(a, b).statistic)
        got = answer(a.copy(), b.copy())
        reason = close(got, want, rel=1e-9, abs_=1e-9, what=f"kendall_tau on {n} cells")
        if reason:
            return reason + (" Over all pairs of cells, count the pairs both seeds order alike (C) and oppositely "
                             "(D): tau = (C - D) / (C + D) when nothing ties.")
    return None


def _top_and_regret(answer) -> str | None:
    from ..ground_truth.table import GroundTruth

    rng = np.random.default_rng(9)
    for n in (10, 57, 207):
        # Accuracies in steps of 1/1024 on two seeds: the means tie exactly where they tie, as on a test set.
        acc = np.clip(rng.integers(900, 1020, size=(n, 1)) + rng.integers(-6, 7, size=(n, 2)), 0, 1024) / 1024
        names = [f"cell{i}" for i in range(n)]
        zero = np.zeros(n, dtype=int)
        table = GroundTruth(names, names, zero, zero, zero, acc, [0, 1])
        best, worst = int(np.argmax(table.accuracy)), int(np.argmin(table.accuracy))
        tied = [i for i in range(n) if np.sum(table.accuracy == table.accuracy[i]) > 1]
        for pick in [best, worst, int(rng.integers(n))] + tied[:1]:
            want_top, want_regret = table.top_percent(table.accuracy[pick]), table.regret(table.accuracy[pick])
            got = answer(acc.copy(), pick)
            try:
                top, regret = (float(x) for x in got)
            except (TypeError, ValueError):
                return "return two numbers: (top_percent, regret)."
            where = f"pick {pick} of a {n}-cell table"
            reason = (close(top, want_top, what=f"the top % of {where}")
                      or close(regret, want_regret, what=f"the regret of {where}"))
            if reason:
                return reason + (" Average the seeds first; top % counts the cells at least as good as the pick "
                                 "(ties and the pick itself included), as a percentage of all cells.")
    return None


q1 = Exercise(
    "q1", "Write `kendall_tau(a, b)`: Kendall's tau between two seeds' accuracies of the same cells (no ties), "
    "without scipy.", _kendall, "Two seeds of one training recipe order many pairs of cells differently: their "
    "tau is the noise ceiling, the best agreement any search's ranking can hope for.",
    wrong=lambda a, b: float(np.corrcoef(np.argsort(np.argsort(a)), np.argsort(np.argsort(b)))[0, 1]),
    hint="Loop over the pairs i < j: concordant when (a[i] - a[j]) * (b[i] - b[j]) > 0, discordant when < 0; "
    "tau = (concordant - discordant) / (n * (n - 1) / 2).", cpu_seconds=1.0)
q2 = Exercise(
    "q2", "Write `top_and_regret(accuracies, pick)`: for a table of accuracies (cells x seeds) and the row of a "
    "pick, return its top % and its regret.", _top_and_regret, "The best cell alone is in the top 100/n %; "
    "a search is judged by where its pick lands in the whole space, not by its own accuracy estimate.",
    wrong=lambda acc, pick: (100 * float(np.mean(acc.mean(1) > acc.mean(1)[pick])),
                             float(acc.mean(1).max() - acc.mean(1)[pick])),
    hint="m = accuracies.mean(axis=1); top % = 100 * mean(m >= m[pick]); regret = m.max() - m[pick].",
    cpu_seconds=0.5)
exercises = [q1, q2]
