"""Tests for darts_lite.darts.search_cell and supernet: MixedOp (eq. 2), SearchCell, SearchNetwork, parameter groups."""

import pytest
import torch

from darts_lite.darts.genotypes import derive_genotype, num_edges
from darts_lite.darts.layout import reduction_layers
from darts_lite.darts.ops import PRIMITIVES
from darts_lite.darts.search_cell import MixedOp, SearchCell
from darts_lite.darts.supernet import SearchNetwork


def _hand_mixed(mixed: MixedOp, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """sum_k softmax(alpha)_k * op_k(x), calling every op separately (none included)."""
    w = torch.exp(alpha) / torch.exp(alpha).sum()
    return sum(w[k] * op(x) for k, op in enumerate(mixed.ops))


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("primitives", [PRIMITIVES, ("none", "sep_conv_3x3", "skip_connect"),
                                        ("max_pool_3x3", "dil_conv_3x3")])
def test_mixedop_is_softmax_weighted_sum(stride, primitives):
    torch.manual_seed(0)
    mixed = MixedOp(4, stride, primitives).double()
    x = torch.randn(4, 4, 7, 7, dtype=torch.float64)
    alpha = torch.randn(len(primitives), dtype=torch.float64)
    if "none" in primitives:  # make `none` the heaviest: its share must still be taken from the others
        alpha[primitives.index("none")] = 3.0
    out = mixed(x, torch.softmax(alpha, dim=-1))
    torch.testing.assert_close(out, _hand_mixed(mixed, x, alpha), rtol=1e-12, atol=1e-12)
    assert len(mixed.ops) == len(primitives)


def test_mixedop_none_only_gives_zeros_of_output_shape():
    mixed = MixedOp(4, 2, ("none",))
    out = mixed(torch.randn(2, 4, 7, 7), torch.ones(1))
    assert out.shape == (2, 4, 4, 4) and torch.count_nonzero(out) == 0


def test_mixedop_gradient_reaches_every_alpha_except_none_is_via_softmax():
    torch.manual_seed(0)
    mixed = MixedOp(4, 1).double()
    alpha = torch.zeros(len(PRIMITIVES), dtype=torch.float64, requires_grad=True)
    mixed(torch.randn(2, 4, 5, 5, dtype=torch.float64), torch.softmax(alpha, -1)).pow(2).sum().backward()
    # `none` contributes zeros, yet its alpha gets a gradient through the softmax normaliser
    assert torch.all(alpha.grad != 0)


@pytest.mark.parametrize("nodes,multiplier", [(4, 4), (3, 2), (2, 1), (1, 1)])
@pytest.mark.parametrize("reduction,reduction_prev", [(False, False), (True, False), (False, True)])
def test_search_cell_channels_and_edges(nodes, multiplier, reduction, reduction_prev):
    torch.manual_seed(0)
    C = 4
    cell = SearchCell(nodes, multiplier, 6, 8, C, reduction, reduction_prev)
    assert len(cell.edges) == num_edges(nodes) == sum(range(2, nodes + 2))
    strides = [e.ops[PRIMITIVES.index("none")].stride for e in cell.edges]
    inputs = [j for i in range(nodes) for j in range(2 + i)]
    assert strides == [2 if reduction and j < 2 else 1 for j in inputs]
    H = 8
    s0 = torch.randn(2, 6, 2 * H if reduction_prev else H, 2 * H if reduction_prev else H)
    s1 = torch.randn(2, 8, H, H)
    w = torch.softmax(torch.randn(num_edges(nodes), len(PRIMITIVES)), -1)
    out = cell(s0, s1, w)
    h_out = H // 2 if reduction else H
    assert out.shape == (2, multiplier * C, h_out, h_out)


def test_num_edges_values():
    assert [num_edges(n) for n in range(1, 6)] == [2, 5, 9, 14, 20]


@pytest.mark.parametrize("layers,nodes,multiplier,in_channels,size", [
    (3, 4, 4, 3, 8), (3, 2, 2, 1, 28), (4, 3, 2, 3, 16), (5, 1, 1, 1, 16), (3, 2, 1, 3, 7)])
def test_search_network_forward_shape(layers, nodes, multiplier, in_channels, size):
    torch.manual_seed(0)
    net = SearchNetwork(C=4, num_classes=5, layers=layers, nodes=nodes, multiplier=multiplier,
                        in_channels=in_channels)
    assert len(net.cells) == layers
    assert [i for i, c in enumerate(net.cells) if c.reduction] == list(reduction_layers(layers))
    for a in net.arch_parameters():
        assert a.shape == (num_edges(nodes), len(PRIMITIVES))
    out = net(torch.randn(2, in_channels, size, size))
    assert out.shape == (2, 5) and torch.isfinite(out).all()
    assert net.classifier.in_features == multiplier * 4 * 4  # C doubled twice


@pytest.fixture(scope="module")
def tiny_net():
    torch.manual_seed(0)
    return SearchNetwork(C=4, num_classes=3, layers=3, nodes=2, multiplier=2)


def test_arch_and_weight_parameters_partition_all_parameters(tiny_net):
    arch = {id(p) for p in tiny_net.arch_parameters()}
    weights = {id(p) for p in tiny_net.weight_parameters()}
    everything = {id(p) for p in tiny_net.parameters()}
    assert len(arch) == 2 and arch.isdisjoint(weights)
    assert arch | weights == everything
    assert len(tiny_net.weight_parameters()) == len(everything) - 2
    assert tiny_net.arch_parameters()[0] is tiny_net.alphas["normal"]
    assert tiny_net.arch_parameters()[1] is tiny_net.alphas["reduce"]
    assert all(not n.startswith("alphas") for n, _ in tiny_net.named_weights())


def test_weight_optimizer_never_touches_alphas(tiny_net):
    torch.manual_seed(1)
    opt = torch.optim.SGD(tiny_net.weight_parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    seen = {id(p) for g in opt.param_groups for p in g["params"]}
    assert seen.isdisjoint({id(a) for a in tiny_net.arch_parameters()})
    before = [a.detach().clone() for a in tiny_net.arch_parameters()]
    w_before = [p.detach().clone() for p in tiny_net.weight_parameters()]
    loss = torch.nn.functional.cross_entropy(tiny_net(torch.randn(4, 3, 8, 8)), torch.tensor([0, 1, 2, 0]))
    loss.backward()
    assert all(a.grad is not None and a.grad.abs().sum() > 0 for a in tiny_net.arch_parameters())
    opt.step()
    for a, b in zip(tiny_net.arch_parameters(), before):
        assert torch.equal(a.detach(), b)
    assert any(not torch.equal(p.detach(), b) for p, b in zip(tiny_net.weight_parameters(), w_before))
    tiny_net.zero_grad()


def test_arch_weights_are_row_softmax(tiny_net):
    for kind, w in tiny_net.arch_weights().items():
        torch.testing.assert_close(w, torch.softmax(tiny_net.alphas[kind].detach(), -1))
        torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[0]))
        assert not w.requires_grad


def test_alpha_init_std_scales_alphas():
    torch.manual_seed(0)
    net = SearchNetwork(C=2, layers=3, nodes=1, multiplier=1, alpha_init_std=0.0)
    assert all(torch.count_nonzero(a) == 0 for a in net.arch_parameters())


@pytest.mark.parametrize("kwargs,match", [
    ({"layers": 2}, r"layers must be an integer >= 3.*got 2"),
    ({"C": 0}, r"C must be an integer >= 1, got 0"),
    ({"nodes": 2, "multiplier": 3}, r"multiplier \(3\) cannot exceed nodes \(2\)"),
    ({"in_channels": 0}, r"in_channels must be an integer >= 1, got 0"),
    ({"num_classes": 1.5}, r"num_classes must be an integer >= 1, got 1.5"),
])
def test_search_network_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SearchNetwork(**{"C": 4, "layers": 3, "nodes": 2, "multiplier": 2, **kwargs})


def test_search_network_rejects_unknown_primitive():
    with pytest.raises(ValueError, match="conv_99"):
        SearchNetwork(C=4, layers=3, nodes=2, multiplier=2, primitives=("skip_connect", "conv_99"))


def test_genotype_of_network_uses_its_alphas_and_multiplier(tiny_net):
    g = tiny_net.genotype()
    assert g == derive_genotype(dict(tiny_net.alphas.items()), multiplier=2)
    assert g.normal_concat == (2, 3) and g.nodes == 2


def _state_without_alphas(sd, alpha_keys):
    return [(k, v) for k, v in sd.items() if k not in alpha_keys]


def test_forward_agrees_with_reference_network(ref):
    """Same weights (copied in state_dict order, shapes checked), same alphas: same logits (float64)."""
    torch.manual_seed(0)
    ours = SearchNetwork(C=4, num_classes=10, layers=3, nodes=3, multiplier=3).double()
    theirs = ref.Network(C=4, num_classes=10, layers=3, steps=3, multiplier=3).double()
    ours_sd = _state_without_alphas(ours.state_dict(), {"alphas.normal", "alphas.reduce"})
    theirs_sd = _state_without_alphas(theirs.state_dict(), {"alphas_normal", "alphas_reduce"})
    assert len(ours_sd) == len(theirs_sd)
    new_state = {}
    for (k_o, v_o), (k_t, v_t) in zip(ours_sd, theirs_sd):
        assert v_o.shape == v_t.shape, (k_o, k_t)
        new_state[k_t] = v_o.clone()
    theirs.load_state_dict(new_state, strict=False)
    with torch.no_grad():
        for kind in ("normal", "reduce"):
            ours.alphas[kind].copy_(0.7 * torch.randn_like(ours.alphas[kind]))
            getattr(theirs, f"alphas_{kind}").copy_(ours.alphas[kind])
    x = torch.randn(3, 3, 8, 8, dtype=torch.float64)
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        torch.testing.assert_close(ours(x), theirs(x), rtol=1e-10, atol=1e-10)


def test_gumbel_sampling_runs_one_operation_per_edge():
    torch.manual_seed(0)
    net = SearchNetwork(C=4, num_classes=3, layers=3, nodes=2, multiplier=2, in_channels=1, fast=False)
    net.set_sampling("gumbel", tau=1.0)
    X = torch.randn(4, 1, 8, 8)
    net(X).sum().backward()
    ops = [p for n, p in net.named_weights() if ".ops." in n]
    unused = [p for p in ops if p.grad is None]
    assert 0 < len(unused) < len(ops)  # the operations that were not sampled got no gradient
    # The straight-through gradient reaches every alpha of every sampled edge's softmax.
    assert all(a.grad is not None and a.grad.abs().sum() > 0 for a in net.arch_parameters())
    # Eval mode runs the most likely operation of every edge (never `none`, which is never derived).
    net.eval()
    with torch.no_grad():
        net.alphas["normal"][:, PRIMITIVES.index("none")] = 5.0  # `none` the largest: still not run
    none = torch.tensor([p == "none" for p in PRIMITIVES])
    one_hot = {k: torch.nn.functional.one_hot(a.masked_fill(none, -1e9).argmax(-1), a.shape[-1]).float()
               for k, a in net.alphas.items()}
    torch.testing.assert_close(net(X), net(X, weights=one_hot))


def test_gumbel_sampling_refuses_fast_cells():
    net = SearchNetwork(C=4, num_classes=3, layers=3, nodes=2, multiplier=2, in_channels=1, fast=True)
    with pytest.raises(ValueError, match="fast=False"):
        net.set_sampling("gumbel")


def test_the_weights_are_every_parameter_but_the_alphas():
    from darts_lite.core import BilevelModule
    model = SearchNetwork(C=4, num_classes=3, layers=3, nodes=2, multiplier=2, in_channels=1)
    weights, alphas = {id(p) for p in model.weight_parameters()}, {id(a) for a in model.arch_parameters()}
    assert not weights & alphas and weights | alphas == {id(p) for p in model.parameters()}
    assert [n for n, _ in model.named_weights()] == [n for n, _ in model.named_parameters() if not n.startswith("alphas.")]
    with pytest.raises(NotImplementedError, match="must say which of its parameters are the alphas"):
        BilevelModule().weight_parameters()
