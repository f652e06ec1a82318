"""Notebook 03, the bilevel approximation: its findings and exercises."""
from __future__ import annotations

import math

import torch

from ..core.decision import DECIDED
from ..darts.ops import PRIMITIVES
from .common import versus
from .exercise import Exercise

SCHEDULES = ("paper", "decisive", "beta_darts")


def uniform_kept_weight() -> float:
    """The kept weight of uniform alphas: 1 / (operations other than `none`), 1/7 in the paper's space."""
    return 1 / sum(p != "none" for p in PRIMITIVES)


def chance_recovery_std(nodes: int = 4, k: int = 2) -> float:
    """Standard deviation of the planted recovery of one random genotype (both cells), exactly.

    Node i picks k of its 2 + i inputs; the number H of planted inputs it hits is hypergeometric,
    and each hit carries the planted operation with probability p = 1/m. So
    Var[matches] = E[H] p (1 - p) + p^2 Var[H]; the nodes and the two cells are independent.
    """
    p = uniform_kept_weight()
    var = 0.0
    for i in range(nodes):
        n = 2 + i
        mean_h = k * k / n
        var_h = k * (k / n) * ((n - k) / n) * ((n - k) / (n - 1)) if n > 1 else 0.0
        var += mean_h * p * (1 - p) + p * p * var_h
    pairs = 2 * k * nodes
    return math.sqrt(2 * var) / pairs


def _std(values) -> float:
    n = len(values)
    if n < 2:
        return 0.0
    m = sum(values) / n
    return math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))


def findings(results: dict) -> list[str]:
    r = results
    rel1, rel2 = r["rel_err_first_order"], r["rel_err_second_order_paper_radius"]
    lines = [
        f"First order misses the exact hypergradient by a relative error of {rel1:.2f} (cosine "
        f"{r['cos_first']:.2f}). The implicit term it drops is {r['implicit_to_direct']:.2f} times the direct term.",
        f"Second order at the paper's radius misses it by {rel2:.2f} (cosine {r['cos_second']:.2f}): "
        + ("closer to exact than first order." if rel2 < rel1 else "no closer to exact than first order."),
        f"At that radius the finite-difference term is off by {r['sweep_relu_at_1e-2']:.2f} times its size on the "
        f"ReLU network, and by {r['sweep_smooth_at_1e-2']:.3f} on the smooth variant.",
    ]
    tiny = r.get("tiny_radius", 1e-6)
    sound = r["rel_err_second_order_tiny_radius"] < 1e-4
    lines.append(f"At a radius of {tiny:.0e} it matches exact to {r['rel_err_second_order_tiny_radius']:.0e}"
                 + (": the method is sound." if sound else ", so rounding or kinks still spoil it there.")
                 + (" The paper's radius is too wide for the ReLU kinks." if sound and r["sweep_relu_at_1e-2"] > 0.1
                    else ""))
    ms = {k: 1e3 * r[f"sec_per_call_{k}"] for k in ("first", "second", "exact")}
    line = (f"One hypergradient takes {ms['first']:.0f} ms in first order, {ms['second']:.0f} ms in second order "
            f"and {ms['exact']:.0f} ms exact.")
    if r.get("peak_mib_exact") is not None and r.get("peak_mib_second") is not None:
        line += (f" Exact needs {r['peak_mib_exact']:.0f} MiB at peak, second order "
                 f"{r['peak_mib_second']:.0f} MiB ({r['memory']}).")
    lines.append(line)
    o1, o2 = r["search_sec_per_epoch_order1"], r["search_sec_per_epoch_order2"]
    lines.append(f"A second-order search epoch costs {o2 / o1:.1f} times a first-order one: "
                 f"{o2:.1f} s against {o1:.1f} s.")
    lines += _kept_weight_lines(r)
    if "test_acc_order1_std" in r:
        n = r["seeds"]
        acc = {o: {"mean": r[f"test_acc_order{o}_mean"], "std": r[f"test_acc_order{o}_std"]} for o in (1, 2)}
        lines.append(versus("The second-order cell", acc[2], "the first-order cell", acc[1], n, "test accuracy"))
    lines += _planted_lines(r)
    if "planted_seeds" in r:
        lines.append(f"Small-sample numbers: {r['seeds']} search seed(s) of {r['epochs']} epoch(s), and "
                     f"{r['planted_seeds']} planted teachers, at {r['image_size']}x{r['image_size']} pixels.")
    return lines


def _kept_weight_lines(r: dict) -> list[str]:
    if "kept_weight_order1" not in r:
        return []
    u = uniform_kept_weight()
    kept = r["kept_weight_order1"] + r["kept_weight_order2"]
    span = f"{min(kept):.2f}" if round(min(kept), 2) == round(max(kept), 2) else f"{min(kept):.2f} to {max(kept):.2f}"
    if all(round(k, 2) == round(u, 2) for k in kept):
        verdict = "the alphas did not move."
    elif all(k < DECIDED for k in kept):
        verdict = f"the alphas moved, but no search decided (kept weight {DECIDED:.2f})."
    else:
        verdict = f"{sum(k >= DECIDED for k in kept)} of {len(kept)} searches decided."
    line = (f"Both orders end at a kept weight of {span}, where uniform alphas give 1/{round(1 / u)} = {u:.2f}: "
            f"{verdict}")
    if "alpha_max_change" in r:
        line += f" No operation's weight changed by more than {r['alpha_max_change']:.3f}."
    return [line]


def _planted_lines(r: dict) -> list[str]:
    if "planted_recoveries" not in r:
        return []
    chance = {"mean": r["planted_chance"], "std": chance_recovery_std()}
    lines, decided, decided_not_found = [], [], False
    for s in SCHEDULES:
        recs = r["planted_recoveries"].get(s)
        if not recs:
            continue
        rec = {"mean": sum(recs) / len(recs), "std": _std(recs)}
        line = versus(f"On the planted cell, the `{s}` schedule", rec, "a random cell", chance, len(recs), "recovery")
        lines.append(line)
        flags = r["planted_decided"][s]
        decided.append(f"`{s}` {sum(flags)} of {len(flags)}")
        decided_not_found |= any(flags) and "**beats**" not in line
    if decided:
        lines.append("Searches that decided: " + ", ".join(decided) + "."
                     + (" Deciding is not finding: read recovery, not kept weight." if decided_not_found else ""))
    return lines


def headline(results: dict) -> str | None:
    """The README's line: what second order costs, and whether either order moved the alphas."""
    r = results
    ratio = r["search_sec_per_epoch_order2"] / r["search_sec_per_epoch_order1"]
    if "kept_weight_order1" not in r:
        return f"A second-order DARTS search epoch costs {ratio:.1f} times a first-order one."
    kept, u = r["kept_weight_order1"] + r["kept_weight_order2"], uniform_kept_weight()
    if all(round(k, 2) == round(u, 2) for k in kept):
        return (f"In a CPU budget, neither first- nor second-order DARTS moves the alphas off uniform (kept weight "
                f"{max(kept):.2f}); second order costs {ratio:.1f} times as much per epoch.")
    return (f"In a CPU budget, first- and second-order DARTS end at kept weight {max(kept):.2f}, uniform being "
            f"{u:.2f}; second order costs {ratio:.1f} times as much per epoch.")


# --- exercises -------------------------------------------------------------------------------------------------

def _problem(seed: int, quadratic: bool = True, dw: int = 6, da: int = 4):
    """A small random bilevel problem in float64: (L_train, L_val, w, alpha)."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    M, C = randn(dw, dw), randn(da, da)
    A, C = M @ M.T / dw + torch.eye(dw, dtype=torch.float64), C @ C.T / da
    B, P, D, c, d = randn(dw, da), randn(dw, dw), randn(dw, da), randn(dw), randn(da)
    squash = (lambda t: t) if quadratic else torch.tanh

    def L_train(w, a):
        return 0.5 * w @ A @ w + squash(w) @ B @ a + 0.5 * a @ C @ a

    def L_val(w, a):
        return 0.5 * ((P @ w - c) ** 2).sum() + torch.tanh(w) @ D @ a + d @ a

    return L_train, L_val, randn(dw), randn(da)


def _unrolled(L_train, L_val, w, alpha, xi):
    """Eq. 7 exactly: autograd through the virtual step w' = w - xi grad_w L_train(w, alpha)."""
    w0, a = w.detach().clone().requires_grad_(True), alpha.detach().clone().requires_grad_(True)
    g = torch.autograd.grad(L_train(w0, a), w0, create_graph=True)[0]
    return torch.autograd.grad(L_val(w0 - xi * g, a), a)[0]


def _finite_difference(L_train, L_val, w, alpha, xi, radius):
    """Eq. 7 with the central difference of eq. 8, written independently of the answer."""
    a = alpha.detach().clone().requires_grad_(True)
    w0 = w.detach().clone().requires_grad_(True)
    w1 = (w0 - xi * torch.autograd.grad(L_train(w0, a), w0)[0]).detach().requires_grad_(True)
    direct, v = torch.autograd.grad(L_val(w1, a), (a, w1))
    eps = radius / v.norm()
    plus = torch.autograd.grad(L_train(w.detach() + eps * v, a), a)[0]
    minus = torch.autograd.grad(L_train(w.detach() - eps * v, a), a)[0]
    return direct - xi * (plus - minus) / (2 * eps)


def _as_vector(value, like: torch.Tensor, what: str):
    """(tensor, None) or (None, why not) for an answer that should be a vector shaped like `like`."""
    if value is None or value is Ellipsis:
        return None, (f"no answer yet: {what} returns None; write its body in place of the `...`.")
    try:
        t = torch.as_tensor(value.detach() if isinstance(value, torch.Tensor) else value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return None, f"{what} should return a tensor, got {type(value).__name__}."
    if t.shape != like.shape:
        return None, (f"{what} returned shape {tuple(t.shape)}, but alpha has shape {tuple(like.shape)}. "
                      "The hypergradient is a gradient with respect to alpha, not w.")
    return t, None


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-300))


def _second_order(answer) -> str | None:
    for seed, xi in [(1, 0.025), (2, 0.3), (3, 0.1)]:
        L_train, L_val, w, alpha = _problem(seed)
        got, why = _as_vector(answer(L_train, L_val, w.clone(), alpha.clone(), xi, 0.01), alpha,
                              "second_order(...)")
        if why:
            return why
        exact = _unrolled(L_train, L_val, w, alpha, xi)
        if _rel(got, exact) > 1e-6:
            if _rel(got, _direct_at_w(L_val, w, alpha)) < 1e-6:
                return "that is the first-order hypergradient: the virtual step and the implicit term are missing."
            if _rel(got, _direct_at_w_prime(L_train, L_val, w, alpha, xi)) < 1e-6:
                return "that is the direct term of eq. 7 alone: the implicit term is missing."
            flipped = 2 * _direct_at_w_prime(L_train, L_val, w, alpha, xi) - exact
            if _rel(got, flipped) < 1e-6:
                return "the implicit term has the wrong sign: eq. 7 subtracts xi times the mixed product."
            return (f"on a quadratic problem (xi = {xi}) your hypergradient is {_rel(got, exact):.2e} away from "
                    "the exact one, relative. There the finite difference is exact at any radius.")
    # On a non-quadratic L_train the difference depends on the radius: a finite difference, not autograd.
    L_train, L_val, w, alpha = _problem(4, quadratic=False)
    got, why = _as_vector(answer(L_train, L_val, w.clone(), alpha.clone(), 0.1, 0.5), alpha, "second_order(...)")
    if why:
        return why
    want = _finite_difference(L_train, L_val, w, alpha, 0.1, 0.5)
    if _rel(got, want) > 1e-6:
        if _rel(got, _unrolled(L_train, L_val, w, alpha, 0.1)) < 1e-6:
            return ("with radius=0.5 on a non-quadratic loss you return the exact hypergradient: use the "
                    "finite difference of eq. 8, eps = radius / ||v||, not a double backward.")
        return ("on a non-quadratic loss with radius=0.5 your value differs from eq. 8's central difference "
                f"(relative {_rel(got, want):.2e}). Check eps = radius / ||v|| and the points w +- eps v.")
    return None


def _direct_at_w(L_val, w, alpha):
    a = alpha.detach().clone().requires_grad_(True)
    return torch.autograd.grad(L_val(w.detach(), a), a)[0]


def _direct_at_w_prime(L_train, L_val, w, alpha, xi):
    a = alpha.detach().clone().requires_grad_(True)
    w0 = w.detach().clone().requires_grad_(True)
    w1 = (w0 - xi * torch.autograd.grad(L_train(w0, a), w0)[0]).detach()
    return torch.autograd.grad(L_val(w1, a), a)[0]


def _first_order(answer) -> str | None:
    for seed in (5, 6, 7):
        _, L_val, w, alpha = _problem(seed, quadratic=False)
        got, why = _as_vector(answer(L_val, w.clone(), alpha.clone()), alpha, "first_order(...)")
        if why:
            return why
        # The reference by central differences in each coordinate of alpha: no autograd involved.
        with torch.no_grad():
            h = 1e-5
            want = torch.stack([(L_val(w, alpha + h * e) - L_val(w, alpha - h * e)) / (2 * h)
                                for e in torch.eye(len(alpha), dtype=torch.float64)])
        if _rel(got, want) > 1e-6:
            return (f"your gradient is {_rel(got, want):.2e} away from dL_val/dalpha at the given w (relative). "
                    "First order takes the validation loss at the current w, with no virtual step.")
    return None


q1 = Exercise(
    "q1", "Write `second_order(L_train, L_val, w, alpha, xi, radius=0.01)`: eq. 7 with the finite difference of "
    "eq. 8. The losses take (w, alpha), float64 vectors; return a tensor shaped like alpha.",
    _second_order, "On a quadratic loss the mixed derivative is constant, so the central difference is exact at "
    "any radius. On a ReLU network it is not (section 3).",
    wrong=lambda L_train, L_val, w, alpha, xi, radius=0.01: _wrong_sign(L_train, L_val, w, alpha, xi, radius),
    hint="w' = w - xi * grad_w L_train(w, alpha); v = grad_w' L_val(w', alpha); eps = radius / ||v||; "
         "return grad_alpha L_val(w', alpha) - xi * (grad_alpha L_train(w + eps v) - grad_alpha L_train(w - eps v)) "
         "/ (2 eps). Use torch.autograd.grad for each gradient.", cpu_seconds=0.2)


def _wrong_sign(L_train, L_val, w, alpha, xi, radius):
    """A plausible slip: the implicit term added instead of subtracted."""
    fd = _finite_difference(L_train, L_val, w, alpha, xi, radius)
    direct = _direct_at_w_prime(L_train, L_val, w, alpha, xi)
    return 2 * direct - fd


q2 = Exercise(
    "q2", "Write `first_order(L_val, w, alpha)`: the first-order hypergradient, eq. 7 with xi = 0.",
    _first_order, "First order is one backward pass of the validation loss at the current weights. It ignores "
    "how a step of w would respond to alpha: that is its whole error.",
    wrong=lambda L_val, w, alpha: _grad_w(L_val, w, alpha),
    hint="Make alpha a leaf that requires grad, then torch.autograd.grad(L_val(w, alpha), alpha)[0].",
    cpu_seconds=0.1)


def _grad_w(L_val, w, alpha):
    """A plausible slip: the gradient with respect to w instead of alpha."""
    w0 = w.detach().clone().requires_grad_(True)
    return torch.autograd.grad(L_val(w0, alpha.detach()), w0)[0]


exercises = [q1, q2]
