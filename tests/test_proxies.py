"""The zero-cost proxies (darts_lite.proxies), each against an independent computation on a tiny network:
formulas written out by hand, finite differences, an explicit Jacobian, a hand count. Then every proxy of
the registry `PROXIES` against the contract: a finite float, the network left as found, deterministic,
and dependent on the batch and the initialisation exactly where it says so."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from darts_lite.proxies import PROXIES, register_proxy
from darts_lite.proxies.base import scratch_copy


def mlp(seed=0, batchnorm=False, inputs=3, width=4):
    torch.manual_seed(seed)
    layers = [nn.Linear(inputs, width)] + ([nn.BatchNorm1d(width)] if batchnorm else []) + [nn.ReLU(),
                                                                                             nn.Linear(width, 2)]
    return nn.Sequential(*layers).double()


def convnet(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(3, 2)).double()


def batch(seed=0, shape=(6, 3), classes=2):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64), torch.randint(0, classes, (shape[0],), generator=g)


def finite_difference(f, tensor, eps=1e-6):
    """d f / d tensor by central differences, entry by entry (f reads `tensor` in place)."""
    grad = torch.zeros_like(tensor)
    with torch.no_grad():
        for i in range(tensor.numel()):
            old = tensor.view(-1)[i].item()
            tensor.view(-1)[i] = old + eps
            up = f()
            tensor.view(-1)[i] = old - eps
            down = f()
            tensor.view(-1)[i] = old
            grad.view(-1)[i] = (up - down) / (2 * eps)
    return grad


# --- each proxy against an independent computation -----------------------------------------------------

def test_naswot_is_the_log_determinant_of_the_hamming_kernel_of_the_sign_codes():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 6), nn.ReLU())
    X = torch.randn(4, 5)
    h1 = model[1](model[0](X))
    codes = torch.cat([h1 > 0, model[3](model[2](h1)) > 0], dim=1).int()
    units = codes.shape[1]
    K = np.array([[units - int((a != b).sum()) for b in codes] for a in codes], dtype=float)
    assert PROXIES["naswot"](model, X) == pytest.approx(np.linalg.slogdet(K)[1], abs=1e-9)


def test_synflow_of_a_two_layer_net_by_hand_batchnorm_removed():
    model = mlp(1, batchnorm=True)
    W1, b1 = model[0].weight.detach().abs(), model[0].bias.detach().abs()
    W2 = model[3].weight.detach().abs()
    h = W1 @ torch.ones(3, dtype=torch.float64) + b1          # all positive: every ReLU passes
    dW2 = h.expand_as(W2)                                     # dR/dW2[i, j] = h_j
    dW1 = W2.sum(0)[:, None].expand_as(W1)                    # dR/dW1[j, k] = sum_i |W2[i, j]| * x_k, x = 1
    expected = float((W2 * dW2).sum() + (W1 * dW1).sum())
    assert PROXIES["synflow"](model, batch()[0]) == pytest.approx(expected, rel=1e-12)


def test_synflow_of_a_convnet_by_finite_differences():
    model = convnet(2)
    conv, linear = model[0], model[5]
    W, b, V, c = (t.detach().abs().clone() for t in (conv.weight, conv.bias, linear.weight, linear.bias))
    ones = torch.ones(1, 1, 6, 6, dtype=torch.float64)

    def R():  # the network with |weights|, without BatchNorm, on an all-ones input: its summed output
        return float(F.linear(F.relu(F.conv2d(ones, W, b)).mean((2, 3)), V, c).sum())

    expected = float((W * finite_difference(R, W)).abs().sum() + (V * finite_difference(R, V)).abs().sum())
    X = torch.randn(5, 1, 6, 6, dtype=torch.float64)
    assert PROXIES["synflow"](model, X) == pytest.approx(expected, rel=1e-6)


def test_grad_norm_and_snip_of_a_two_layer_net_by_hand():
    model = mlp(3)
    X, y = batch(4)
    W1, b1, W2, b2 = (p.detach() for p in model.parameters())
    pre = X @ W1.T + b1
    h = pre.clamp(min=0)
    p = torch.softmax(h @ W2.T + b2, dim=1)
    dz = (p - F.one_hot(y, 2).double()) / len(X)             # d mean cross-entropy / d logits
    dW2 = dz.T @ h
    dW1 = ((dz @ W2) * (pre > 0)).T @ X
    assert PROXIES["grad_norm"](model, X, y) == pytest.approx(float(dW1.norm() + dW2.norm()), rel=1e-12)
    assert PROXIES["snip"](model, X, y) == pytest.approx(float((W1 * dW1).abs().sum() + (W2 * dW2).abs().sum()),
                                                         rel=1e-12)


def test_grad_norm_and_snip_with_batchnorm_in_training_mode_by_finite_differences():
    model = convnet(5)
    X, y = batch(6, shape=(5, 1, 6, 6), classes=2)
    copy = scratch_copy(model)

    def loss():
        return float(F.cross_entropy(copy(X), y))

    grads = [finite_difference(loss, m.weight) for m in (copy[0], copy[5])]
    weights = [copy[0].weight.detach(), copy[5].weight.detach()]
    assert PROXIES["grad_norm"](model, X, y) == pytest.approx(float(sum(g.norm() for g in grads)), rel=1e-6)
    assert PROXIES["snip"](model, X, y) == pytest.approx(float(sum((w * g).abs().sum() for w, g in
                                                                   zip(weights, grads))), rel=1e-6)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_jacob_cov_from_an_explicitly_built_jacobian(batchnorm):
    model = mlp(7, batchnorm=batchnorm, inputs=6, width=16)
    X, _ = batch(8, shape=(5, 6))
    copy, x = scratch_copy(model), X.clone()
    # J[i] = d(sum of all outputs of the batch)/d x_i, entry by entry (BatchNorm couples the inputs)
    J = finite_difference(lambda: float(copy(x).sum()), x).numpy()
    sigma = np.linalg.eigvalsh(np.corrcoef(J))
    expected = -np.sum(np.log(sigma + 1e-5) + 1 / (sigma + 1e-5))
    assert PROXIES["jacob_cov"](model, X) == pytest.approx(expected, rel=1e-6)


def test_flops_and_params_against_a_hand_count():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(8, 5))
    X = torch.randn(4, 3, 10, 10)
    conv = 2 * (3 * 3 * 3) * 8 * 10 * 10    # a multiply and an add per tap, per output channel and pixel
    linear = 2 * 8 * 5
    assert PROXIES["flops"](model, X) == conv + linear  # per image: the batch of 4 counts once
    assert PROXIES["params"](model, X) == (3 * 9 * 8 + 8) + (8 * 5 + 5)


# --- the registry's contract --------------------------------------------------------------------------

def _state(model):
    return ({k: v.clone() for k, v in model.state_dict().items()},
            [None if p.grad is None else p.grad.clone() for p in model.parameters()],
            [m.training for m in model.modules()], [p.dtype for p in model.parameters()])


def _same(a, b):
    return (a[0].keys() == b[0].keys() and all(torch.equal(a[0][k], b[0][k]) for k in a[0])
            and all((g is None and h is None) or (g is not None and h is not None and torch.equal(g, h))
                    for g, h in zip(a[1], b[1])) and a[2:] == b[2:])


def contract_violations(proxy) -> list[str]:
    """What `proxy` breaks of the contract, on the tiny convnet (with BatchNorm and a gradient already there)."""
    wrong = []
    X, y = batch(0, shape=(6, 1, 6, 6))
    model = convnet(0).float()
    F.cross_entropy(model(X.float()), y).backward()  # a gradient the proxy must not touch
    model.eval()                                      # and a mode it must not change
    before = _state(model)
    score = proxy(model, X.float(), y)
    if not isinstance(score, float) or not np.isfinite(score):
        wrong.append(f"returned {score!r}, not a finite float")
    if not _same(before, _state(model)):
        wrong.append("changed the network (weights, buffers, gradients, mode or dtype)")
    again = proxy(convnet(0).float(), X.float(), y)
    if again != proxy(convnet(0).float(), X.float(), y):
        wrong.append("two calls on the same seed differ")
    other_batch = proxy(convnet(0).float(), *(t.float() if t.is_floating_point() else t
                                              for t in batch(1, shape=(6, 1, 6, 6))))
    other_init = proxy(convnet(1).float(), X.float(), y)
    for what, other in (("batch", other_batch), ("init", other_init)):
        if (what in proxy.depends_on) != (other != again):
            wrong.append(f"depends_on says {what!r} {'matters' if what in proxy.depends_on else 'does not'}, "
                         f"but another {what} gives {other} against {again}")
    return wrong


@pytest.mark.parametrize("name", list(PROXIES))
def test_every_registered_proxy_meets_the_contract(name):
    proxy = PROXIES[name]
    assert not contract_violations(proxy), f"{name}: {contract_violations(proxy)}"
    assert proxy.paper and set(proxy.depends_on) <= {"batch", "init"}


def test_the_contract_catches_a_proxy_that_breaks_it():
    def vandal(model, X, y, loss_fn):  # scores in place: BatchNorm statistics and weights change
        model.train()(X)
        with torch.no_grad():
            model[0].weight.mul_(2)
        return float("nan")

    bad = register_proxy("vandal", vandal, "none", depends_on=("init",))
    try:
        wrong = contract_violations(bad)
    finally:
        del PROXIES["vandal"]
    assert any("finite" in w for w in wrong) and any("changed the network" in w for w in wrong)
    assert any("'batch'" in w for w in wrong)  # NaN != NaN: it looks batch-dependent, and says it is not
    with pytest.raises(ValueError, match="dependencies"):
        register_proxy("x", vandal, "none", depends_on=("labels",))


def test_proxies_run_on_the_courses_network():
    from darts_lite.darts import Network
    from darts_lite.ground_truth.space import genotype_of, unique_cells
    torch.manual_seed(0)
    net = Network(genotype_of(unique_cells()[0]), C=4, num_classes=3, layers=5, in_channels=1)
    X, y = torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 2, 0])
    before = _state(net)
    scores = {name: proxy(net, X, y) for name, proxy in PROXIES.items()}
    assert all(np.isfinite(s) for s in scores.values()), scores
    assert _same(before, _state(net))
