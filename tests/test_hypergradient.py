"""Tests for darts_lite.darts.hypergradient (Sec. 2.3, eqs. 6-8) on a tiny float64 supernet.

Every approximation is checked against an independent computation: autograd on
model(X) for the first-order gradient, a double-backward mixed derivative for
the Hessian-vector product, a central difference of the whole unrolled
objective in alpha for `exact`, and the naive reference where present.
"""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from darts_lite.darts import hypergradient as hg
from darts_lite.darts.supernet import SearchNetwork

XI = 0.025


def flat(ts):
    return torch.cat([t.reshape(-1) for t in ts])


def rel_err(approx, exact):
    a, b = flat(approx), flat(exact)
    return ((a - b).norm() / b.norm()).item()


def make_model(seed=0, smooth=False):
    torch.manual_seed(seed)
    prims = ("none", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_3x3") if smooth else None
    kwargs = {"primitives": prims} if smooth else {}
    model = SearchNetwork(C=4, num_classes=10, layers=3, **kwargs).double()
    if smooth:  # ReLU -> SiLU everywhere and no max-pool: the loss is smooth in w
        for module in list(model.modules()):
            for name, child in module.named_children():
                if isinstance(child, nn.ReLU):
                    setattr(module, name, nn.SiLU())
        assert not any(isinstance(m, (nn.ReLU, nn.MaxPool2d)) for m in model.modules())
    with torch.no_grad():  # a non-symmetric point, far from the uniform init
        for a in model.arch_parameters():
            a.copy_(0.5 * torch.randn_like(a))
    gen = torch.Generator().manual_seed(seed + 1)
    batches = []
    for _ in range(2):
        X = torch.randn(8, 3, 8, 8, dtype=torch.float64, generator=gen)
        y = torch.randint(0, 10, (8,), generator=gen)
        batches.append((X, y))
    return model, batches[0], batches[1]


@pytest.fixture(scope="module")
def setup():
    model, train, val = make_model()
    exact_total, exact_parts = hg.exact(model, train, val, XI, return_parts=True)
    return model, train, val, exact_total, exact_parts


@pytest.fixture(scope="module")
def smooth_setup():
    model, train, val = make_model(seed=1, smooth=True)
    exact_total, exact_parts = hg.exact(model, train, val, XI, return_parts=True)
    return model, train, val, exact_total, exact_parts




def test_exact_shapes_and_nonzero_implicit_term(setup):
    model, _, _, total, parts = setup
    assert [t.shape for t in total] == [a.shape for a in model.arch_parameters()]
    for t, d, i in zip(total, parts["direct"], parts["implicit"]):
        torch.testing.assert_close(t, d + i, rtol=0, atol=1e-14)
    # xi > 0 must matter on this point, or the checks below would be vacuous
    assert flat(parts["implicit"]).norm() > 1e-4 * flat(parts["direct"]).norm()


def test_second_order_small_radius_matches_exact(setup):
    model, train, val, exact_total, exact_parts = setup
    total, parts = hg.second_order(model, train, val, XI, radius=1e-6, return_parts=True)
    assert rel_err(total, exact_total) < 1e-4
    assert rel_err(parts["direct"], exact_parts["direct"]) < 1e-10
    assert rel_err(parts["implicit"], exact_parts["implicit"]) < 1e-4
    for t, d, i in zip(total, parts["direct"], parts["implicit"]):
        torch.testing.assert_close(t, d + i, rtol=0, atol=1e-14)


def test_exact_matches_central_difference_of_unrolled_objective(smooth_setup):
    """<exact, d> = d/dh L_val(w - xi grad_w L_train(w, alpha + h d), alpha + h d) at h = 0.

    On the smooth network: with ReLUs, grad_w L_train jumps wherever a perturbation of alpha
    flips a unit, and a central difference in alpha that straddles one jump is meaningless."""
    model, train, val, exact_total, _ = smooth_setup
    names, w = zip(*model.named_weights())
    alphas = model.arch_parameters()
    gen = torch.Generator().manual_seed(7)
    dirs = [torch.randn(a.shape, dtype=a.dtype, generator=gen) for a in alphas]

    def unrolled(h):
        new_alpha = {f"alphas.{k}": (a + h * d).detach() for k, a, d in zip(("normal", "reduce"), alphas, dirs)}
        w_leaf = {n: p.detach().clone().requires_grad_(True) for n, p in zip(names, w)}
        X, y = train
        g = torch.autograd.grad(F.cross_entropy(functional_call(model, {**w_leaf, **new_alpha}, (X,)), y),
                                list(w_leaf.values()))
        w_prime = {n: w_leaf[n].detach() - XI * gi for n, gi in zip(names, g)}
        Xv, yv = val
        with torch.no_grad():
            return F.cross_entropy(functional_call(model, {**w_prime, **new_alpha}, (Xv,)), yv).item()

    h = 1e-5
    fd = (unrolled(h) - unrolled(-h)) / (2 * h)
    analytic = sum((g * d).sum() for g, d in zip(exact_total, dirs)).item()
    assert math.isclose(fd, analytic, rel_tol=1e-5, abs_tol=1e-9)


def test_first_order_is_plain_autograd_on_val_loss(setup):
    model, _, val, _, _ = setup
    X, y = val
    logits = model(X)
    manual_ce = -logits.log_softmax(dim=1)[torch.arange(len(y)), y].mean()
    want = torch.autograd.grad(manual_ce, model.arch_parameters())
    got = hg.first_order(model, val)
    assert len(got) == 2
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-12, atol=1e-14)
    assert all(a.grad is None for a in model.arch_parameters())  # grads are returned, not accumulated


def test_xi_zero_reduces_to_first_order(setup):
    model, train, val, _, _ = setup
    first = hg.first_order(model, val)
    total, parts = hg.second_order(model, train, val, 0.0, radius=1e-6, return_parts=True)
    for f, d, t, i in zip(first, parts["direct"], total, parts["implicit"]):
        torch.testing.assert_close(d, f, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(t, f, rtol=1e-12, atol=1e-14)
        assert torch.count_nonzero(i) == 0
    for e, f in zip(hg.exact(model, train, val, 0.0), first):
        torch.testing.assert_close(e, f, rtol=1e-12, atol=1e-14)


def test_virtual_step_is_one_sgd_step(setup):
    model, train, _, _, _ = setup
    names, w = zip(*model.named_weights())
    X, y = train
    grads = torch.autograd.grad(F.cross_entropy(model(X), y), w)
    w_prime = hg.virtual_step(model, train, XI)
    assert list(w_prime) == list(names)
    for n, p, g in zip(names, w, grads):
        torch.testing.assert_close(w_prime[n], p.detach() - XI * g, rtol=1e-12, atol=1e-14)
        assert w_prime[n].is_leaf and w_prime[n].requires_grad


def _autograd_mixed(model, v, batch):
    """grad_alpha (grad_w L_train(w, alpha) . v) by double backward, from model(X) directly."""
    X, y = batch
    w = model.weight_parameters()
    g_w = torch.autograd.grad(F.cross_entropy(model(X), y), w, create_graph=True)
    dot = sum((g * t).sum() for g, t in zip(g_w, v))
    return torch.autograd.grad(dot, model.arch_parameters())


def test_hessian_vector_product_matches_autograd_mixed_derivative(setup):
    model, train, _, _, _ = setup
    gen = torch.Generator().manual_seed(3)
    v = [torch.randn(p.shape, dtype=p.dtype, generator=gen) for p in model.weight_parameters()]
    want = _autograd_mixed(model, v, train)
    got = hg.hessian_vector_product(model, v, train, radius=1e-6)
    assert rel_err(got, want) < 1e-4
    # linear in v: scaling v scales the product (eps = radius / ||v|| keeps the step size fixed)
    got3 = hg.hessian_vector_product(model, [3.0 * t for t in v], train, radius=1e-6)
    assert rel_err(got3, [3.0 * t for t in got]) < 1e-6


def test_hessian_vector_product_zero_vector_is_zero(setup):
    model, train, _, _, _ = setup
    v = [torch.zeros_like(p) for p in model.weight_parameters()]
    out = hg.hessian_vector_product(model, v, train)
    assert all(torch.isfinite(t).all() and torch.count_nonzero(t) == 0 for t in out)


def test_paper_radius_error_is_only_reported(setup):
    """At the paper's radius 0.01 the central difference crosses ReLU / max-pool kinks: it is a
    *smoothed* mixed derivative and can differ from the exact one by several times its size
    (see ../shared/reference/README.md). We only require the number to be finite."""
    model, train, val, exact_total, exact_parts = setup
    total, parts = hg.second_order(model, train, val, XI, radius=0.01, return_parts=True)
    err_total = rel_err(total, exact_total)
    err_implicit = rel_err(parts["implicit"], exact_parts["implicit"])
    print(f"paper radius 0.01 on a ReLU net: rel. error total {err_total:.3g}, implicit {err_implicit:.3g}")
    assert math.isfinite(err_total) and math.isfinite(err_implicit)


def test_smooth_network_error_shrinks_quadratically_with_radius(smooth_setup):
    """SiLU and avg-pool only: the central difference converges as radius^2."""
    model, train, val, _, exact_parts = smooth_setup
    errs = {}
    for r in (1e-2, 1e-3):
        _, parts = hg.second_order(model, train, val, XI, radius=r, return_parts=True)
        errs[r] = rel_err(parts["implicit"], exact_parts["implicit"])
    assert errs[1e-2] < 1e-2
    assert errs[1e-3] < errs[1e-2] / 30  # ~100x for an O(r^2) error


@pytest.mark.parametrize("order", [1, 2, "exact"])
def test_dispatch(setup, order):
    model, train, val, exact_total, _ = setup
    got = hg.hypergradient(model, train, val, order, XI, radius=1e-6)
    want = {1: lambda: hg.first_order(model, val),
            2: lambda: hg.second_order(model, train, val, XI, radius=1e-6),
            "exact": lambda: exact_total}[order]()
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("order", [3, 0, "2", "second"])
def test_dispatch_rejects_bad_order(setup, order):
    model, train, val, _, _ = setup
    with pytest.raises(ValueError, match=rf"order must be 1, 2 or 'exact', got {order!r}"):
        hg.hypergradient(model, train, val, order, XI)


@pytest.fixture(scope="module")
def ref_architect(setup, ref):
    """The reference network with the same weights and alphas as ours, and its Architect."""
    model = setup[0]
    theirs = ref.Network(C=4, num_classes=10, layers=3).double()
    ours_sd = [(k, v) for k, v in model.state_dict().items() if not k.startswith("alphas.")]
    theirs_sd = [(k, v) for k, v in theirs.state_dict().items() if not k.startswith("alphas_")]
    assert [v.shape for _, v in ours_sd] == [v.shape for _, v in theirs_sd]
    theirs.load_state_dict({kt: vo.clone() for (_, vo), (kt, _) in zip(ours_sd, theirs_sd)}, strict=False)
    with torch.no_grad():
        theirs.alphas_normal.copy_(model.alphas["normal"])
        theirs.alphas_reduce.copy_(model.alphas["reduce"])
    return ref.Architect(theirs, nn.CrossEntropyLoss(), order=2, fd_r=0.01)


def test_reference_first_and_second_order_at_paper_radius_agree(setup, ref_architect):
    model, (Xt, yt), (Xv, yv), _, _ = setup
    torch.testing.assert_close(flat(ref_architect.first_order_grad(Xv, yv)),
                               flat(hg.first_order(model, (Xv, yv))), rtol=1e-10, atol=1e-13)
    ref_architect.fd_r = 0.01
    theirs = ref_architect.second_order_grad(Xt, yt, Xv, yv, XI)
    ours = hg.second_order(model, (Xt, yt), (Xv, yv), XI, radius=0.01)
    assert rel_err(ours, theirs) < 1e-8


def test_reference_small_radius_matches_our_exact(setup, ref_architect):
    """The reference's own --check criterion: its finite difference at radius 1e-7 vs our exact."""
    _, (Xt, yt), (Xv, yv), exact_total, _ = setup
    ref_architect.fd_r = 1e-7
    assert rel_err(ref_architect.second_order_grad(Xt, yt, Xv, yv, XI), exact_total) < 1e-4
