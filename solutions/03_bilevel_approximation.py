"""Solutions to the exercises of notebook 03, each checked by the course's own check.

    python solutions/03_bilevel_approximation.py     # prints each verdict; exit status 1 if one is wrong
"""
import sys

import torch

from darts_lite.course import nb03


def second_order(L_train, L_val, w, alpha, xi, radius=0.01):
    """Eq. 7 with the central finite difference of eq. 8 (Liu et al., 2019)."""
    w = w.detach().requires_grad_(True)
    alpha = alpha.detach().requires_grad_(True)
    # eq. 6: one virtual SGD step on the training loss
    g_train = torch.autograd.grad(L_train(w, alpha), w)[0]
    w_prime = (w - xi * g_train).detach().requires_grad_(True)
    # eq. 7: the direct term and v = grad_w' L_val(w', alpha)
    direct, v = torch.autograd.grad(L_val(w_prime, alpha), (alpha, w_prime))
    # eq. 8: the mixed product by a central difference at w +- eps v, eps = radius / ||v||
    eps = radius / v.norm()
    plus = torch.autograd.grad(L_train(w.detach() + eps * v, alpha), alpha)[0]
    minus = torch.autograd.grad(L_train(w.detach() - eps * v, alpha), alpha)[0]
    return direct - xi * (plus - minus) / (2 * eps)


def first_order(L_val, w, alpha):
    """Eq. 7 with xi = 0: the gradient of the validation loss in alpha at the current w."""
    alpha = alpha.detach().requires_grad_(True)
    return torch.autograd.grad(L_val(w.detach(), alpha), alpha)[0]


ANSWERS = {"q1": second_order, "q2": first_order}

if __name__ == "__main__":
    sys.exit(0 if all([getattr(nb03, q).passed(a) for q, a in ANSWERS.items()]) else 1)
