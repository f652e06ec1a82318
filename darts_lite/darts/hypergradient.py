"""Hypergradients of the bilevel problem (Liu et al., 2019, Sec. 2.3, eqs. 3-8).

DARTS solves  min_alpha L_val(w*(alpha), alpha)  s.t.  w*(alpha) = argmin_w L_train(w, alpha)
by approximating w*(alpha) with one virtual gradient step

    w' = w - xi * grad_w L_train(w, alpha)                                       (eq. 6)

whose chain rule gives the hypergradient

    grad_alpha L_val(w', alpha) - xi * grad^2_{alpha,w} L_train(w, alpha) . grad_w' L_val(w', alpha)   (eq. 7)

* `first_order`: xi = 0, i.e. only grad_alpha L_val(w, alpha).
* `second_order`: eq. 7 with the Hessian-vector product replaced by the
  central finite difference of eq. 8, with radius eps = radius / ||v||.
* `exact`: eq. 7 with autograd differentiating through the virtual step
  (double backward). It costs a second-order graph, so it is for small models:
  the yardstick that measures the two approximations.

Data-parallel search (`darts_lite.core.distributed`) passes `average`, which
averages a list of tensors over the processes. Every gradient eq. 7 is built
from is then averaged before it is used: the training gradient of the virtual
step (so that w' is the same everywhere), the validation gradients at w'
(so that v, eps and w+- are), and the alpha gradients of the two terms. Each of
them is linear in the loss of a shard, so their mean is the gradient on the
union of the shards. `exact` then takes the Hessian-vector product by double
backward, grad_alpha (grad_w L_train . v), instead of differentiating through
an all-reduce.

On ReLU / max-pool networks the network is piecewise linear in w, so at the
paper's radius (0.01) the finite difference is a *smoothed* derivative that can
differ a lot from the pointwise one; it converges as radius -> 0 (float64).
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

Batch = tuple[torch.Tensor, torch.Tensor]
Criterion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Average = Callable[[list[torch.Tensor]], list[torch.Tensor]]  # e.g. distributed.all_average


def loss(model: nn.Module, batch: Batch, weights: dict[str, torch.Tensor] | None = None,
         criterion: Criterion = F.cross_entropy) -> torch.Tensor:
    """L(w, alpha) on one batch; `weights` maps names of w to tensors that replace them."""
    X, y = batch
    logits = model(X) if weights is None else functional_call(model, weights, (X,))
    return criterion(logits, y)


def first_order(model: nn.Module, val_batch: Batch, criterion: Criterion = F.cross_entropy,
                average: Average | None = None) -> list[torch.Tensor]:
    """grad_alpha L_val(w, alpha): eq. 7 with xi = 0."""
    grads = list(torch.autograd.grad(loss(model, val_batch, criterion=criterion), model.arch_parameters()))
    return grads if average is None else average(grads)


def virtual_step(model: nn.Module, train_batch: Batch, xi: float,
                 criterion: Criterion = F.cross_entropy, average: Average | None = None
                 ) -> dict[str, torch.Tensor]:
    """w' = w - xi * grad_w L_train(w, alpha) (eq. 6), as detached leaves that require grad."""
    names, w = zip(*model.named_weights())
    grads = torch.autograd.grad(loss(model, train_batch, criterion=criterion), w)
    if average is not None:
        grads = average(list(grads))
    return {n: (p - xi * g).detach().requires_grad_(True) for n, p, g in zip(names, w, grads)}


def hessian_vector_product(model: nn.Module, v: list[torch.Tensor], train_batch: Batch,
                           radius: float = 0.01, criterion: Criterion = F.cross_entropy
                           ) -> list[torch.Tensor]:
    """grad^2_{alpha,w} L_train(w, alpha) . v by the central difference of eq. 8.

    (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps),
    w+- = w +- eps v, eps = radius / ||v||.
    """
    names, w = zip(*model.named_weights())
    v_norm = torch.sqrt(sum((t.detach() ** 2).sum() for t in v))
    eps = radius / v_norm.clamp_min(torch.finfo(v_norm.dtype).tiny)
    alphas = model.arch_parameters()
    grads = []
    for sign in (1.0, -1.0):
        # Plain tensors, not leaves: backward then only reaches alpha.
        w_shift = {n: p.detach() + sign * eps * t for n, p, t in zip(names, w, v)}
        grads.append(torch.autograd.grad(loss(model, train_batch, w_shift, criterion), alphas))
    return [(gp - gm) / (2 * eps) for gp, gm in zip(*grads)]


def second_order(model: nn.Module, train_batch: Batch, val_batch: Batch, xi: float,
                 radius: float = 0.01, criterion: Criterion = F.cross_entropy,
                 return_parts: bool = False, average: Average | None = None):
    """Eq. 7 with the finite-difference Hessian-vector product of eq. 8.

    Returns the hypergradient (a list, one tensor per alpha); with
    `return_parts` also {"direct", "implicit", "v"}: the two terms of eq. 7 and v.
    """
    alphas = model.arch_parameters()
    w_prime = virtual_step(model, train_batch, xi, criterion, average)
    grads = list(torch.autograd.grad(loss(model, val_batch, w_prime, criterion),
                                     list(alphas) + list(w_prime.values())))
    if average is not None:
        grads = average(grads)
    direct, v = grads[:len(alphas)], grads[len(alphas):]
    hvp = hessian_vector_product(model, v, train_batch, radius, criterion)
    if average is not None:
        hvp = average(hvp)
    implicit = [-xi * h for h in hvp]
    total = [d + i for d, i in zip(direct, implicit)]
    if return_parts:
        return total, {"direct": direct, "implicit": implicit, "v": v}
    return total


def exact(model: nn.Module, train_batch: Batch, val_batch: Batch, xi: float,
          criterion: Criterion = F.cross_entropy, return_parts: bool = False,
          average: Average | None = None):
    """Eq. 7 computed exactly: autograd through the virtual step (double backward).

    With `return_parts` also {"direct", "implicit"}, split as in `second_order`.
    With `average`, the two terms are taken apart (see `exact_averaged`).
    """
    if average is not None:
        return exact_averaged(model, train_batch, val_batch, xi, average, criterion, return_parts)
    alphas = model.arch_parameters()
    names, w = zip(*model.named_weights())
    w_leaf = {n: p.detach().clone().requires_grad_(True) for n, p in zip(names, w)}
    g_train = torch.autograd.grad(loss(model, train_batch, w_leaf, criterion),
                                  list(w_leaf.values()), create_graph=True)
    w_prime = {n: w_leaf[n] - xi * g for n, g in zip(names, g_train)}
    total = list(torch.autograd.grad(loss(model, val_batch, w_prime, criterion), alphas))
    if not return_parts:
        return total
    w_prime_leaf = {n: t.detach().requires_grad_(True) for n, t in w_prime.items()}
    direct = list(torch.autograd.grad(loss(model, val_batch, w_prime_leaf, criterion), alphas))
    return total, {"direct": direct, "implicit": [t - d for t, d in zip(total, direct)]}


def exact_averaged(model: nn.Module, train_batch: Batch, val_batch: Batch, xi: float, average: Average,
                   criterion: Criterion = F.cross_entropy, return_parts: bool = False):
    """Eq. 7 exactly, term by term, with every gradient averaged by `average` (data-parallel).

    direct = grad_alpha L_val(w', alpha), v = grad_w' L_val(w', alpha) at
    w' = w - xi * average(grad_w L_train), and the Hessian-vector product by
    double backward: grad_alpha (grad_w L_train(w, alpha) . v).
    """
    alphas = model.arch_parameters()
    names, w = zip(*model.named_weights())
    g_train = torch.autograd.grad(loss(model, train_batch, criterion=criterion), w, create_graph=True)
    g_mean = average([g.detach() for g in g_train])
    w_prime = {n: (p.detach() - xi * g).requires_grad_(True) for n, p, g in zip(names, w, g_mean)}
    grads = average(list(torch.autograd.grad(loss(model, val_batch, w_prime, criterion),
                                             list(alphas) + list(w_prime.values()))))
    direct, v = grads[:len(alphas)], grads[len(alphas):]
    pairs = [(g, t) for g, t in zip(g_train, v) if g.requires_grad]  # skip w whose gradient ignores alpha
    hvp = torch.autograd.grad([g for g, _ in pairs], alphas, grad_outputs=[t for _, t in pairs],
                              allow_unused=True)
    implicit = average([-xi * (torch.zeros_like(a) if h is None else h) for a, h in zip(alphas, hvp)])
    total = [d + i for d, i in zip(direct, implicit)]
    return (total, {"direct": direct, "implicit": implicit}) if return_parts else total


def hypergradient(model: nn.Module, train_batch: Batch, val_batch: Batch, order: int | str,
                  xi: float, radius: float = 0.01, criterion: Criterion = F.cross_entropy,
                  average: Average | None = None) -> list[torch.Tensor]:
    """Dispatch: order 1 (first order), 2 (finite differences) or "exact".

    `average` (data-parallel search) averages every gradient over the processes.
    """
    if order == 1:
        return first_order(model, val_batch, criterion, average)
    if order == 2:
        return second_order(model, train_batch, val_batch, xi, radius, criterion, average=average)
    if order == "exact":
        return exact(model, train_batch, val_batch, xi, criterion, average=average)
    raise ValueError(f"order must be 1, 2 or 'exact', got {order!r}")
