"""Discretisation (Sec. 2.4): one-hot weights, the discretised forward, the discretisation gap."""
import pytest
import torch

from darts_lite.darts.discretize import discrete_weights, discretization_gap, evaluate_discretized
from darts_lite.darts.genotypes import edge_index
from darts_lite.darts.ops import PRIMITIVES
from darts_lite.darts.search_cell import SearchCell
from darts_lite.darts.supernet import SearchNetwork
from darts_lite.data import Split


def _net(seed=0):
    torch.manual_seed(seed)
    model = SearchNetwork(C=4, num_classes=3, layers=3, nodes=2, multiplier=2, in_channels=1)
    with torch.no_grad():
        for a in model.arch_parameters():
            a.normal_()  # a random, non-uniform architecture to derive from
    return model


def test_discrete_weights_are_one_hot_on_kept_edges_and_zero_elsewhere():
    model = SearchNetwork(C=4, num_classes=3, layers=3, nodes=4, multiplier=4, in_channels=1)
    with torch.no_grad():
        model.alphas["normal"].normal_()
    genotype = model.genotype()
    w = discrete_weights(genotype, model.primitives, 4)
    for kind in ("normal", "reduce"):
        assert w[kind].shape == (14, len(PRIMITIVES))
        assert set(w[kind].unique().tolist()) <= {0.0, 1.0}
        sums = w[kind].sum(1)
        kept = {(j, 2 + pos // 2): op for pos, (op, j) in enumerate(genotype.cell(kind)[0])}
        for e, edge in enumerate(edge_index(4)):
            assert sums[e] == (1.0 if edge in kept else 0.0)
            if edge in kept:
                assert PRIMITIVES[int(w[kind][e].argmax())] == kept[edge]
        for node in range(4):  # exactly two kept inputs per intermediate node
            rows = [e for e, (_, i) in enumerate(edge_index(4)) if i == node + 2]
            assert sums[rows].sum() == 2.0
        assert w[kind][:, PRIMITIVES.index("none")].sum() == 0


def test_discretised_cell_equals_the_sum_over_kept_operations():
    torch.manual_seed(0)
    cell = SearchCell(nodes=2, multiplier=2, c_prev_prev=4, c_prev=4, C=4, reduction=False,
                      reduction_prev=False).eval()
    alpha = torch.randn(5, len(PRIMITIVES))
    from darts_lite.darts.genotypes import derive_genotype
    genotype = derive_genotype({"normal": alpha, "reduce": alpha}, PRIMITIVES, 2)
    weights = discrete_weights(genotype, PRIMITIVES, 2)["normal"]
    s0, s1 = torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6)
    with torch.no_grad():
        got = cell(s0, s1, weights)
        # Independent computation: node i = sum over its two kept (op, input) pairs of op(input).
        states = [cell.preprocess0(s0), cell.preprocess1(s1)]
        rows = {edge: e for e, edge in enumerate(edge_index(2))}
        for node in range(2):
            total = 0
            for op, j in genotype.normal[2 * node: 2 * node + 2]:
                total = total + cell.edges[rows[(j, node + 2)]].ops[PRIMITIVES.index(op)](states[j])
            states.append(total)
        want = torch.cat(states[-2:], dim=1)
    torch.testing.assert_close(got, want)


def test_one_hot_alphas_make_the_supernet_equal_its_discretisation():
    # When every edge's softmax is already one-hot on the derived op AND every edge is kept
    # (one node, two inputs), the supernet and its discretisation compute the same function.
    torch.manual_seed(0)
    model = SearchNetwork(C=4, num_classes=3, layers=3, nodes=1, multiplier=1, in_channels=1).eval()
    with torch.no_grad():
        for a in model.arch_parameters():
            a.fill_(-1e4)
            a[0, PRIMITIVES.index("sep_conv_3x3")] = 1e4
            a[1, PRIMITIVES.index("max_pool_3x3")] = 1e4
    split = Split(torch.randn(16, 1, 8, 8), torch.randint(0, 3, (16,)))
    gap = discretization_gap(model, split, batch_size=8)
    assert gap["gap"] == 0.0
    assert gap["discretized_loss"] == pytest.approx(gap["supernet_loss"], abs=1e-5)


def test_evaluate_discretized_and_gap():
    model = _net()
    split = Split(torch.randn(20, 1, 8, 8), torch.randint(0, 3, (20,)))
    model.train()
    out = evaluate_discretized(model, model.genotype(), split, batch_size=8)
    assert 0.0 <= out["acc"] <= 1.0 and out["loss"] > 0
    assert model.training  # evaluation restores the mode
    gap = discretization_gap(model, split, batch_size=8)
    assert gap["discretized_acc"] == out["acc"]
    assert gap["gap"] == pytest.approx(gap["supernet_acc"] - gap["discretized_acc"])
    assert model.alphas["normal"].requires_grad  # the model itself is not modified


def test_a_genotype_of_the_wrong_size_is_refused():
    model = _net()
    other = SearchNetwork(C=4, num_classes=3, layers=3, nodes=3, multiplier=2, in_channels=1).genotype()
    with pytest.raises(ValueError, match="nodes"):
        discrete_weights(other, model.primitives, 2)


def test_bn_recalibration_works_on_a_copy():
    model = _net()
    split = Split(torch.randn(20, 1, 8, 8), torch.randint(0, 3, (20,)))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = evaluate_discretized(model, None, split, batch_size=8, recalibrate=split)
    assert 0.0 <= out["acc"] <= 1.0
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k], msg=k)
    gap = discretization_gap(model, split, batch_size=8, recalibrate=split)
    assert gap["discretized_acc"] == out["acc"]


@pytest.mark.parametrize("fast", [False, True])
def test_a_derived_cell_skips_the_candidates_it_weights_zero_and_computes_the_same(fast):
    """Weights exactly 0 with no gradient wanted: those candidates are not run, and the output is bit-identical."""
    torch.manual_seed(0)
    model = SearchNetwork(C=4, num_classes=3, layers=3, in_channels=1, fast=fast).eval()
    with torch.no_grad():
        for a in model.arch_parameters():
            a.normal_()
    weights = discrete_weights(model.genotype(), model.primitives, model.nodes)
    candidates = [m for m in model.modules() if type(m).__name__ in ("FanOut", "MixedOp")]
    calls = []
    for holder in candidates:
        for op in holder.ops:
            op.register_forward_hook(lambda *_: calls.append(1))
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        skipped = model(x, weights)
    n_skipped, calls[:] = len(calls), []
    every = model(x, {k: w.clone().requires_grad_() for k, w in weights.items()})  # a gradient wanted: all run
    assert torch.equal(skipped, every.detach())
    assert 0 < n_skipped < len(calls) / 2, (n_skipped, len(calls))
