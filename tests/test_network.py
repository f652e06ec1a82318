"""Tests for darts_lite.darts.network: the derived network, auxiliary head, drop-path."""
import pytest
import torch

from darts_lite.darts.genotypes import DARTS_V2, Genotype, GenotypeError
from darts_lite.darts.layout import reduction_layers
from darts_lite.darts.network import Cell, Network, drop_path

GENO_3 = Genotype(  # 3 intermediate nodes, the last 2 concatenated
    normal=(("sep_conv_3x3", 0), ("skip_connect", 1), ("dil_conv_3x3", 2), ("avg_pool_3x3", 0),
            ("sep_conv_5x5", 3), ("skip_connect", 2)),
    normal_concat=(3, 4),
    reduce=(("max_pool_3x3", 0), ("skip_connect", 1), ("skip_connect", 2), ("dil_conv_5x5", 1),
            ("avg_pool_3x3", 3), ("max_pool_3x3", 0)),
    reduce_concat=(3, 4),
)


@pytest.mark.parametrize("layers,in_channels,size", [(3, 3, 8), (3, 1, 28), (4, 3, 16), (5, 1, 7)])
def test_forward_shape(layers, in_channels, size):
    torch.manual_seed(0)
    net = Network(DARTS_V2, C=4, num_classes=7, layers=layers, in_channels=in_channels)
    out = net(torch.randn(2, in_channels, size, size))
    assert isinstance(out, torch.Tensor) and out.shape == (2, 7) and torch.isfinite(out).all()
    assert [i for i, c in enumerate(net.cells) if c.reduction] == list(reduction_layers(layers))
    assert net.classifier.in_features == 4 * 4 * 4  # len(concat) * C * 2 * 2


def test_cells_keep_exactly_the_genotype_ops():
    net = Network(DARTS_V2, C=4, layers=3)
    for cell in net.cells:
        gene, _ = DARTS_V2.cell("reduce" if cell.reduction else "normal")
        assert len(cell.ops) == len(gene) and cell.inputs == [j for _, j in gene]


@pytest.mark.parametrize("genotype,C", [(DARTS_V2, 4), (GENO_3, 4), (GENO_3, 6)])
def test_cell_output_channels_is_len_concat_times_C(genotype, C):
    torch.manual_seed(0)
    for reduction, reduction_prev in [(False, False), (True, False), (False, True)]:
        cell = Cell(genotype, 5, 6, C, reduction, reduction_prev)
        H = 8
        s0 = torch.randn(2, 5, 2 * H if reduction_prev else H, 2 * H if reduction_prev else H)
        out = cell(s0, torch.randn(2, 6, H, H))
        concat = genotype.reduce_concat if reduction else genotype.normal_concat
        h = H // 2 if reduction else H
        assert out.shape == (2, len(concat) * C, h, h)


def test_three_node_genotype_builds_and_runs():
    torch.manual_seed(0)
    net = Network(GENO_3, C=4, num_classes=5, layers=4, in_channels=1)
    assert GENO_3.nodes == 3 and all(c.multiplier == 2 for c in net.cells)
    out = net(torch.randn(3, 1, 16, 16))
    assert out.shape == (3, 5)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("layers", [3, 4, 5])
def test_auxiliary_train_returns_pair_eval_returns_logits(layers):
    torch.manual_seed(0)
    net = Network(DARTS_V2, C=4, num_classes=6, layers=layers, auxiliary=True).double()
    plain = Network(DARTS_V2, C=4, num_classes=6, layers=layers, auxiliary=False).double()
    plain.load_state_dict({k: v for k, v in net.state_dict().items() if not k.startswith("auxiliary_head.")})
    x = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    net.train()
    out = net(x)
    assert isinstance(out, tuple) and len(out) == 2
    logits, aux = out
    assert logits.shape == (4, 6) and aux.shape == (4, 6)
    assert net.auxiliary_head.classifier.out_features == 6
    net.eval()
    out_eval = net(x)
    assert isinstance(out_eval, torch.Tensor) and out_eval.shape == (4, 6)
    # the auxiliary head must not change the main logits
    torch.testing.assert_close(logits, plain.train()(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out_eval, plain.eval()(x), rtol=1e-12, atol=1e-12)


def test_no_auxiliary_returns_logits_in_train_mode():
    net = Network(DARTS_V2, C=4, layers=3, auxiliary=False).train()
    assert net.auxiliary_head is None
    assert isinstance(net(torch.randn(2, 3, 8, 8)), torch.Tensor)


def test_drop_path_zero_prob_is_identity():
    x = torch.randn(5, 3, 4, 4)
    assert torch.equal(drop_path(x, 0.0), x)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_drop_path_zeroes_whole_samples_and_keeps_mean(p):
    torch.manual_seed(0)
    n = 40000
    x = torch.rand(n, 2, 3, 3) + 0.5  # strictly positive, so a zero means "dropped"
    y = drop_path(x, p)
    dropped = (y == 0).flatten(1)
    per_sample = dropped.all(1)
    assert torch.equal(per_sample, dropped.any(1))  # whole samples, never part of one
    torch.testing.assert_close(y[~per_sample], x[~per_sample] / (1 - p))
    frac = per_sample.double().mean().item()
    sigma = (p * (1 - p) / n) ** 0.5
    assert abs(frac - p) < 5 * sigma
    ratio = y.sum() / x.sum()  # E[y] = E[x]: the survivors are rescaled by 1 / (1 - p)
    assert abs(ratio.item() - 1.0) < 6 * (p / (1 - p) / n) ** 0.5


def test_drop_path_only_in_training_and_never_on_identity():
    torch.manual_seed(0)
    all_skip = Genotype(normal=(("skip_connect", 0), ("skip_connect", 1)), normal_concat=(2,),
                        reduce=(("sep_conv_3x3", 0), ("skip_connect", 1)), reduce_concat=(2,))
    s0, s1 = torch.randn(4, 4, 6, 6), torch.randn(4, 4, 6, 6)
    cell = Cell(all_skip, 4, 4, 4, reduction=False, reduction_prev=False).train()
    # a normal cell of identities only: drop-path never applies
    torch.testing.assert_close(cell(s0, s1, 0.9), cell(s0, s1, 0.0))
    conv_cell = Cell(DARTS_V2, 4, 4, 4, reduction=False, reduction_prev=False)
    conv_cell.eval()
    torch.testing.assert_close(conv_cell(s0, s1, 0.9), conv_cell(s0, s1, 0.0))
    conv_cell.train()
    assert not torch.allclose(conv_cell(s0, s1, 0.9), conv_cell(s0, s1, 0.0))


def test_network_drop_path_prob_attribute_is_used():
    torch.manual_seed(0)
    net = Network(DARTS_V2, C=4, layers=3).train()
    x = torch.randn(4, 3, 8, 8)
    base = net(x)
    net.drop_path_prob = 0.5
    assert not torch.allclose(net(x), base)
    net.eval()
    eval_out = net(x)
    net.drop_path_prob = 0.0
    torch.testing.assert_close(net(x), eval_out)


def test_concat_of_an_input_node_is_rejected():
    # Inputs of a reduction cell are at twice the output's spatial size: they cannot be concatenated.
    with pytest.raises(GenotypeError, match=r"reduce_concat \[1, 3\]"):
        Genotype(normal=(("sep_conv_3x3", 0), ("skip_connect", 1)) * 2, normal_concat=(2, 3),
                 reduce=(("max_pool_3x3", 0), ("skip_connect", 1)) * 2, reduce_concat=(1, 3))


@pytest.mark.parametrize("kwargs,match", [({"layers": 2}, "layers must be an integer >= 3"),
                                          ({"C": 0}, "C must be an integer >= 1, got 0")])
def test_network_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Network(DARTS_V2, **kwargs)
