"""Notebook 09, training-free search: its findings and exercises."""
from __future__ import annotations

import numpy as np

from .exercise import Exercise, close

BASELINES = ("params", "flops")


def _proxies(results: dict) -> dict:
    return results["proxies"]


def _ranking(results: dict) -> str:
    p = _proxies(results)
    best = max(p, key=lambda n: p[n]["spearman"])
    worst = min(p, key=lambda n: p[n]["spearman"])
    ceiling = results["noise_ceiling"]
    return (f"{best} ranks the cells best: Spearman {p[best]['spearman']:.2f}, Kendall {p[best]['kendall']:.2f}. "
            f"{worst} ranks them worst, Spearman {p[worst]['spearman']:.2f}. Two training seeds agree with Spearman "
            f"{ceiling['spearman_rho']:.2f}, Kendall {ceiling['kendall_tau']:.2f}: the noise ceiling.")


def _picks(results: dict) -> str:
    p = _proxies(results)
    ranks, picks = max(p, key=lambda n: p[n]["spearman"]), min(p, key=lambda n: p[n]["top_percent"])
    if ranks == picks:
        return f"{ranks} also makes the best pick: top {p[ranks]['top_percent']:.1f}% on average over seeds."
    return (f"The best ranking does not make the best pick: the pick of {ranks} lands in the top "
            f"{p[ranks]['top_percent']:.1f}%, that of {picks} in the top {p[picks]['top_percent']:.1f}% "
            "(mean over seeds).")


def _published(results: dict) -> str:
    p = {n: r for n, r in _proxies(results).items() if r.get("published_spearman") is not None}
    below = [n for n, r in p.items() if r["spearman"] < r["published_spearman"]]
    order_ours = sorted(p, key=lambda n: -p[n]["spearman"])
    order_theirs = sorted(p, key=lambda n: -p[n]["published_spearman"])
    same_top = order_ours[0] == order_theirs[0]
    return (f"{len(below)} of {len(p)} rank our cells worse than NAS-Bench-201's CIFAR-10 as published. "
            f"The published best, {order_theirs[0]}, is {'also' if same_top else 'not'} our best"
            f"{'' if same_top else f' ({order_ours[0]} is)'}.")


def _baseline(results: dict) -> str | None:
    base, rows = results.get("baseline"), results.get("versus_baseline") or {}
    if not base or not rows:
        return None
    by = {w: [n for n, r in rows.items() if r["word"] == w] for w in ("beats", "ties", "loses to")}
    rho = _proxies(results)[base]["spearman"]
    parts = [f"{w} it: {', '.join(names)}" for w, names in by.items() if names]
    lead = ("No proxy ranks the cells better than" if not by["beats"] else
            f"{len(by['beats'])} of {len(rows)} proxies rank the cells better than")
    detail = "; ".join(parts)
    return (f"{lead} the simple count `{base}` (Spearman {rho:.2f}), by a paired bootstrap over the cells. "
            f"{detail[:1].upper()}{detail[1:]}.")


def _seeds(results: dict) -> str | None:
    moving = {n: r for n, r in _proxies(results).items() if r.get("seed_kendall") is not None}
    if not moving:
        return None
    most = max(moving, key=lambda n: moving[n]["seed_spearman_std"])
    least = min(moving, key=lambda n: moving[n]["seed_kendall"])
    return (f"Over seeds (batch and initial weights), {most}'s Spearman moves most: std "
            f"{moving[most]['seed_spearman_std']:.3f}. Two seeds' scores agree least for {least}: Kendall "
            f"{moving[least]['seed_kendall']:.2f} between them.")


def _top_k(results: dict) -> list[str]:
    lines = []
    for r in results.get("top_k") or []:
        cand = results.get("top_k_candidates", {}).get(r["method"])
        lines.append(f"{r['method']} **{r['word']}** random search at the same budget: accuracy {r['mean_a']:.4f} ± "
                     f"{r['std_a']:.4f} against {r['mean_b']:.4f} ± {r['std_b']:.4f} (difference {r['diff']:+.4f}, "
                     f"2 SE {r['two_se']:.4f}, n = {r['n']})"
                     + (f"; it trained {cand:.0f} cells, random search {results['random_search_candidates']:.0f}."
                        if cand is not None and "random_search_candidates" in results else "."))
    return lines


def _after_training(results: dict) -> str | None:
    a = results.get("after_training")
    if not a:
        return None
    moved = "falls" if a["spearman_trained"] < a["spearman_init"] else "rises"
    return (f"After {a['epochs']} epoch of training, {a['proxy']}'s Spearman on {a['cells']} cells {moved}: "
            f"{a['spearman_init']:.2f} at initialisation, {a['spearman_trained']:.2f} trained. Its two rankings "
            f"agree with Kendall {a['kendall_init_trained']:.2f}.")


def _live(results: dict) -> str | None:
    live = results.get("live")
    if not live:
        return None
    best = max(live["spearman"], key=live["spearman"].get)
    return (f"Live, on seed {live['seed']} and {live['cells']} cells: {best} ranks best, Spearman "
            f"{live['spearman'][best]:.2f}.")


def _data(results: dict) -> str:
    return (f"Data: {results['data']}, {results['cells']} cells, proxies over {len(results['seeds'])} seeds and "
            f"{results['budget_seconds']:.0f}-second searches: small-sample numbers.")


def findings(results: dict) -> list[str]:
    lines = [_ranking(results), _picks(results), _published(results), _baseline(results), _seeds(results)]
    lines += _top_k(results) + [_after_training(results), _live(results), _data(results)]
    return [line for line in lines if line]


def headline(results: dict) -> str | None:
    """The README's line: the best proxy against the simple count."""
    p, base = _proxies(results), results.get("baseline")
    if not base:
        return None
    clever = {n: r for n, r in p.items() if n not in BASELINES}
    best = max(clever, key=lambda n: clever[n]["spearman"])
    word = results["versus_baseline"][best]["word"]
    return (f"Without training, the best zero-cost proxy, {best}, **{word}** the simple count `{base}` at ranking "
            f"{results['cells']} trained cells: Spearman {p[best]['spearman']:.2f} against {p[base]['spearman']:.2f}.")


# Exercises -------------------------------------------------------------------------------------------------


def _naswot(answer) -> str | None:
    rng = np.random.default_rng(9)
    for n, units in ((4, 12), (8, 40), (16, 100)):
        codes = (rng.random((n, units)) < 0.5).astype(int)
        hamming = (codes[:, None, :] != codes[None, :, :]).sum(-1)
        want = float(np.linalg.slogdet(units - hamming)[1])
        got = answer(codes.copy())
        reason = close(got, want, rel=1e-9, abs_=1e-9, what=f"log|K_H| of {n} inputs over {units} units")
        if reason:
            return reason + " K_H[i, j] counts the units where inputs i and j agree (both on or both off)."
    return None


def _synflow(answer) -> str | None:
    import torch

    from ..proxies import PROXIES
    rng = torch.Generator().manual_seed(10)
    for d_in, width, d_out in ((3, 4, 2), (6, 16, 5), (10, 32, 10)):
        W1, W2 = torch.randn(width, d_in, generator=rng), torch.randn(d_out, width, generator=rng)
        net = torch.nn.Sequential(torch.nn.Linear(d_in, width, bias=False), torch.nn.ReLU(),
                                  torch.nn.Linear(width, d_out, bias=False))
        with torch.no_grad():
            net[0].weight.copy_(W1)
            net[2].weight.copy_(W2)
        want = PROXIES["synflow"](net, torch.zeros(1, d_in))
        got = answer(W1.numpy().copy(), W2.numpy().copy())
        reason = close(got, want, rel=1e-6, what=f"synflow of a {d_in}-{width}-{d_out} network")
        if reason:
            return reason + (" With all-ones input and |weights|, R = 1^T |W2| |W1| 1; a weight's saliency is "
                             "|w| times dR/dw.")
    return None


q1 = Exercise(
    "q1", "Write `naswot_from_codes(codes)`: log|K_H| from the binary ReLU codes of a batch (inputs x units).",
    _naswot, "A batch whose codes are far apart gives a kernel close to diagonal and a large log-determinant: the "
    "network already tells its inputs apart before training.",
    wrong=lambda codes: float(np.linalg.slogdet(codes @ codes.T + np.eye(len(codes)))[1]),
    hint="K = codes @ codes.T + (1 - codes) @ (1 - codes).T; then np.linalg.slogdet(K)[1].", cpu_seconds=0.5)
q2 = Exercise(
    "q2", "Write `synflow_two_layer(W1, W2)`: synflow of Linear(W1) -> ReLU -> Linear(W2), no biases.",
    _synflow, "Synflow needs no data: it multiplies absolute weights along every path, so wider and deeper "
    "networks score higher, much as a parameter count does.",
    wrong=lambda W1, W2: float(np.abs(W1).sum() + np.abs(W2).sum()),
    hint="A1, A2 = |W1|, |W2|; h = A1 @ ones; dR/dA2[i, j] = h[j]; dR/dA1[j, k] = A2[:, j].sum(); "
    "sum A2 * dR/dA2 + sum A1 * dR/dA1.", cpu_seconds=0.5)
exercises = [q1, q2]
