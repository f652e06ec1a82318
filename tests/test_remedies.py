"""The collapse remedies against hand computations: P-DARTS's skip cap, DARTS-'s auxiliary skip,
beta-DARTS's Beta-Decay loss, DARTS+'s stop (in test_search), and the supernet's health report."""
import math

import pytest
import torch

from darts_lite.core.config import ConfigError
from darts_lite.darts import SearchNetwork, fast_copy, search
from darts_lite.darts.config import SearchConfig
from darts_lite.darts.health import CollapseWarning, describe, supernet_health
from darts_lite.darts.null import null_key
from darts_lite.darts.remedies import REMEDIES, Remedy, register_remedy, remedies_for
from darts_lite.darts.remedies.aux_skip import aux_skip_weight
from darts_lite.darts.remedies.beta_decay import beta_decay_loss
from darts_lite.darts.remedies.skip_cap import cap_skips
from darts_lite.darts.search import make_optimizers, search_step
from darts_lite.darts.search_cell import MixedOp

OPS = ("none", "skip_connect", "sep_conv_3x3", "max_pool_3x3")


def tiny_config(**changes) -> SearchConfig:
    base = dict(name="tiny", layers=3, channels=4, nodes=2, multiplier=2, epochs=2, batch_size=32,
                arch_lr=3e-3, device="cpu", seed=1, primitives=OPS)
    return SearchConfig(**{**base, **changes})


# --- P-DARTS: the skip cap -----------------------------------------------------------------------------
# A 2-node cell: edges (0->2), (1->2), (0->3), (1->3), (2->3); columns none, skip, sep, max.
WEIGHTS = torch.tensor([[0.0, 0.60, 0.30, 0.10],   # 0->2: skip 0.60, next sep 0.30
                        [0.0, 0.50, 0.25, 0.25],   # 1->2: skip 0.50, next sep 0.25 (the first maximum)
                        [0.0, 0.70, 0.20, 0.10],   # 0->3: skip 0.70, next sep 0.20
                        [0.0, 0.40, 0.05, 0.55],   # 1->3: max 0.55 (not a skip)
                        [0.0, 0.45, 0.35, 0.20]])  # 2->3: skip 0.45, next sep 0.35


def test_skip_cap_removes_the_weakest_skips_as_p_darts_does():
    # Uncapped, by hand: node 2 keeps 0->2 skip (0.60) and 1->2 skip (0.50); node 3 keeps 0->3 skip (0.70)
    # and 1->3 max (0.55). Three skips.
    assert cap_skips(WEIGHTS, OPS, max_skips=4) == (
        ("skip_connect", 0), ("skip_connect", 1), ("skip_connect", 0), ("max_pool_3x3", 1))
    # Cap 2: the weakest chosen skip is 1->2 (0.50); zeroed, the edge keeps sep (0.25, not renormalised).
    assert cap_skips(WEIGHTS, OPS, max_skips=2) == (
        ("skip_connect", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("max_pool_3x3", 1))
    # Cap 1: next the weaker of 0->2 (0.60) and 0->3 (0.70) goes: 0->2 becomes sep 0.30.
    assert cap_skips(WEIGHTS, OPS, max_skips=1) == (
        ("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("max_pool_3x3", 1))
    # Cap 0: 0->3 loses its skip (next 0.20), so node 3's edge 2->3 (skip 0.45) now beats it; that skip
    # goes too and 2->3 keeps sep 0.35, still above 0->3's 0.20: node 3 keeps 1->3 max and 2->3 sep.
    assert cap_skips(WEIGHTS, OPS, max_skips=0) == (
        ("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("max_pool_3x3", 1), ("sep_conv_3x3", 2))


def test_skip_cap_needs_another_operation_and_leaves_skipless_spaces_alone():
    w = torch.full((5, 2), 0.5)
    with pytest.raises(ValueError, match="only operation"):
        cap_skips(w, ("none", "skip_connect"), max_skips=1)
    assert cap_skips(w, ("sep_conv_3x3", "max_pool_3x3"), max_skips=0)[0] == ("sep_conv_3x3", 0)


def test_a_search_with_the_skip_cap_returns_the_capped_genotype(tmp_path, small_digits):
    # Alphas of skip far ahead on every edge: the derived cell is all skips, the capped one keeps 1.
    config = tiny_config(epochs=1, skip_cap=1, arch_lr=0.0, arch_weight_decay=0.0)

    def favour_skips(info):
        with torch.no_grad():
            for a in info["model"].alphas.values():
                a[:, 1] = 5.0

    with pytest.warns(CollapseWarning, match="over the cap of 1"):
        result = search(config, small_digits, run_dir=tmp_path, progress=False, callback=favour_skips)
    assert [op for op, _ in result.genotype.normal].count("skip_connect") == 1
    assert result.history[-1]["skip_normal"] == 4 and result.health["skips_over_cap"]
    assert result.history[-1]["genotype"] == result.genotype.to_dict()


# --- DARTS-: the auxiliary skip ------------------------------------------------------------------------
def test_aux_skip_weight_decays_linearly_to_zero():
    assert [aux_skip_weight(1.0, t) for t in (0.0, 0.25, 1.0, 1.5)] == [1.0, 0.75, 0.0, 0.0]
    assert aux_skip_weight(2.0, 0.5) == 1.0


def test_an_offset_on_skip_adds_beta_times_the_input_to_every_edge():
    torch.manual_seed(0)
    edge = MixedOp(4, 1, OPS).double()
    x, w, beta = torch.randn(2, 4, 6, 6, dtype=torch.float64), torch.softmax(torch.randn(4), 0).double(), 0.7
    offset = torch.tensor([0.0, beta, 0.0, 0.0], dtype=torch.float64)
    torch.testing.assert_close(edge(x, w + offset), beta * x + edge(x, w))  # eq. of DARTS-: beta x + o_bar(x)


def test_aux_skip_changes_the_supernet_but_not_how_alpha_enters_it():
    torch.manual_seed(0)
    net = SearchNetwork(C=4, num_classes=3, layers=3, nodes=2, multiplier=2, in_channels=1, primitives=OPS).double()
    X = torch.randn(4, 1, 8, 8, dtype=torch.float64)
    plain = net(X)
    net.set_weight_offset("skip_connect", 0.5)
    with_offset = net(X)
    assert not torch.allclose(plain, with_offset)
    by_hand = {k: torch.softmax(a, -1) + torch.tensor([0.0, 0.5, 0.0, 0.0], dtype=torch.float64)
               for k, a in net.alphas.items()}
    torch.testing.assert_close(with_offset, net(X, by_hand))
    torch.testing.assert_close(fast_copy(net)(X), with_offset)  # the batched cells take the offset too
    # beta is a constant: d/d alpha is the softmax's Jacobian times the same upstream gradient
    grads = torch.autograd.grad(with_offset.sum(), net.arch_parameters())
    assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)
    net.set_weight_offset("skip_connect", 0.0)
    torch.testing.assert_close(net(X), plain)
    net.set_sampling("gumbel")
    net.set_weight_offset("skip_connect", 0.5)
    with pytest.raises(ValueError, match="softmax mixture only"):
        net.train()(X)
    with pytest.raises(ValueError, match="not a candidate"):
        net.set_weight_offset("sep_conv_5x5", 1.0)


def test_a_search_with_aux_skip_decays_beta_step_by_step_and_leaves_it_at_zero(tmp_path, small_digits):
    config = tiny_config(epochs=2, aux_skip=1.0)  # 4 steps per epoch
    seen = []
    result = search(config, small_digits, run_dir=tmp_path, progress=False,
                    callback=lambda info: seen.append(info["model"].weight_offsets.get("skip_connect", 0.0)))
    assert seen == pytest.approx([1 - s / 8 for s in range(8)])
    assert result.model.weight_offsets == {}


def test_aux_skip_is_refused_where_it_cannot_apply():
    with pytest.raises(ConfigError, match="softmax"):
        tiny_config(aux_skip=1.0, sampling="gumbel")
    with pytest.raises(ConfigError, match="skip_connect"):
        tiny_config(aux_skip=1.0, primitives=("none", "sep_conv_3x3", "max_pool_3x3"))


# --- beta-DARTS: the Beta-Decay loss --------------------------------------------------------------------
def test_beta_decay_loss_is_the_mean_logsumexp_and_its_gradient_the_softmax():
    alphas = [torch.randn(5, 4, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    by_hand = sum(math.log(sum(math.exp(v) for v in row)) for a in alphas for row in a.tolist()) / 10
    loss = beta_decay_loss(alphas)
    assert loss.item() == pytest.approx(by_hand, rel=1e-12)
    grads = torch.autograd.grad(loss, alphas)
    for a, g in zip(alphas, grads):
        torch.testing.assert_close(g, torch.softmax(a.detach(), -1) / 10)
    # and against central finite differences
    a0 = alphas[0].detach().clone()
    eps = 1e-6
    for i, j in [(0, 0), (3, 2)]:
        plus, minus = a0.clone(), a0.clone()
        plus[i, j] += eps
        minus[i, j] -= eps
        fd = (beta_decay_loss([plus, alphas[1].detach()]) - beta_decay_loss([minus, alphas[1].detach()])) / (2 * eps)
        assert grads[0][i, j].item() == pytest.approx(fd.item(), rel=1e-6)


def test_the_alpha_penalty_adds_its_gradient_to_the_hypergradient(small_digits):
    torch.manual_seed(0)
    config = tiny_config()
    model = SearchNetwork(C=4, num_classes=10, layers=3, nodes=2, multiplier=2, in_channels=1, primitives=OPS)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    batch = (small_digits.search_train.X[:16], small_digits.search_train.y[:16])

    def alpha_grads(penalty):
        model.load_state_dict(state)
        w_opt, alpha_opt, _ = make_optimizers(model, config)
        search_step(model, w_opt, alpha_opt, batch, batch, order=1, alpha_penalty=penalty)
        return [a.grad.clone() for a in model.arch_parameters()]

    plain = alpha_grads(None)
    lam = 3.0
    penalised = alpha_grads(lambda: lam * beta_decay_loss(model.arch_parameters()))
    model.load_state_dict(state)
    expected = [lam * torch.softmax(a.detach(), -1) / 10 for a in model.arch_parameters()]
    for p, q, e in zip(plain, penalised, expected):
        torch.testing.assert_close(q - p, e, atol=1e-6, rtol=1e-5)


def test_beta_decay_remedy_rises_linearly_from_zero():
    model = SearchNetwork(C=4, num_classes=3, layers=3, nodes=2, multiplier=2, in_channels=1, primitives=OPS)
    (remedy,) = remedies_for(tiny_config(beta_decay=50.0))
    loss = beta_decay_loss(model.arch_parameters())
    assert remedy.alpha_penalty(model, 0.0).item() == 0.0
    assert remedy.alpha_penalty(model, 0.5).item() == pytest.approx(25.0 * loss.item())


# --- the registry, the null key -------------------------------------------------------------------------
def an_on_value(remedy):
    """A value of the remedy's setting that turns it on: its study's, else the smallest step above off."""
    if remedy.study is not None:
        return remedy.study.value
    return 1 if isinstance(remedy.setting.default, int) else 0.5


@pytest.mark.parametrize("name", list(REMEDIES))
def test_every_registered_remedy_declares_its_contract(name):
    """Each remedy's declarations, read by SearchConfig, the null, health, search and the ground truth."""
    from darts_lite.core.config import field_help
    from darts_lite.ground_truth import METHODS
    remedy = REMEDIES[name]
    setting = remedy.setting
    assert setting.name == name and remedy.paper
    # SearchConfig has the setting as a field, off at its default, with the remedy's own help line
    assert getattr(SearchConfig(), name) == setting.default and not setting.default
    assert field_help(SearchConfig)[name] == setting.doc and setting.doc
    with pytest.raises(ConfigError, match=name):
        tiny_config(**{name: setting.low - 1})
    on = tiny_config(**{name: an_on_value(remedy)})
    (built,) = remedies_for(on)
    assert isinstance(built, remedy) and built.value == an_on_value(remedy)
    assert remedies_for(tiny_config()) == []
    # the null's key holds the setting when on, and when off only if the remedy says it predates the table
    assert f'"{name}"' in null_key(on)
    assert (f'"{name}"' in null_key(tiny_config())) == setting.in_null_key_when_off
    # health: JSON-ready entries and a sign in words or None, on a history the search writes
    entries, sign = built.health([{"val_acc": 0.5, "skip_normal": 8}])
    assert isinstance(entries, dict) and (sign is None or isinstance(sign, str))
    if remedy.undecided_advice:
        assert "random search" in remedy.undecided_advice and "with_schedule" not in remedy.undecided_advice
    if remedy.study is not None:  # scored on the ground truth as a supernet method with its setting on
        method = METHODS[remedy.study.name]
        assert getattr(method.fn, "supernet", False) and method.description == remedy.study.description


def test_register_remedy_refuses_what_is_not_a_remedy_or_takes_a_setting():
    with pytest.raises(TypeError, match="Remedy subclass"):
        register_remedy("no_such_setting")
    taken = next(iter(REMEDIES.values()))
    impostor = type("Impostor", (Remedy,), {"setting": taken.setting})
    with pytest.raises(ValueError, match="already turns on"):
        register_remedy(impostor)
    assert REMEDIES[taken.setting.name] is taken
    from darts_lite.darts.remedies import Setting
    late = type("Late", (Remedy,), {"setting": Setting("late_remedy", 0, "a remedy registered too late")})
    with pytest.raises(ValueError, match="after SearchConfig was built"):
        register_remedy(late)
    assert "late_remedy" not in REMEDIES


def test_remedies_turn_on_together():
    assert len(remedies_for(tiny_config(skip_cap=2, beta_decay=1.0, aux_skip=1.0))) == 3


# --- the supernet's health ------------------------------------------------------------------------------
def test_health_flags_a_supernet_that_lost_accuracy_or_piled_up_skips():
    rows = [{"val_acc": a, "skip_normal": s} for a, s in [(0.5, 1), (0.9, 1), (0.88, 2)]]
    capped = remedies_for(tiny_config(skip_cap=2))
    h = supernet_health(rows, capped)
    assert h["healthy"] and h["best_epoch"] == 2 and h["val_acc_drop"] == pytest.approx(0.02)
    assert describe(h) == "healthy"
    rows.append({"val_acc": 0.3, "skip_normal": 3})
    h = supernet_health(rows, capped)
    assert not h["accuracy_kept"] and h["skips_over_cap"] and not h["healthy"]
    assert "fell from 0.900 (epoch 2) to 0.300" in describe(h) and "over the cap of 2" in describe(h)
    assert "skips_over_cap" not in supernet_health(rows) and supernet_health(rows)["remedy_signs"] == []
    with pytest.raises(ValueError, match="no epochs"):
        supernet_health([])


def test_every_epoch_row_reports_the_derived_cells_accuracy_and_health(tmp_path, small_digits):
    result = search(tiny_config(), small_digits, run_dir=tmp_path, progress=False)
    for row in result.history:
        assert 0.0 <= row["val_acc_derived"] <= 1.0 and isinstance(row["healthy"], bool)
    assert result.health["final_val_acc"] == result.history[-1]["val_acc"]


def test_the_beta_darts_schedule_is_the_configuration_scored_on_the_ground_truth():
    base = tiny_config(epochs=12)
    scored = base.with_schedule("paper").replace(arch_travel=20.0, beta_decay=50.0)
    assert base.with_schedule("beta_darts") == scored
    assert base.with_schedule("beta_darts").with_schedule("decisive").beta_decay == 0.0  # schedules reset it
