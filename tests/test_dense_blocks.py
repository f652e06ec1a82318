"""Tests for dag_blocks.dense_blocks: masks cut edges, one shared weight tensor, conv as a masked dense layer."""
import pytest
import torch
import torch.nn.functional as F

from darts_lite.dag_blocks.dag import DAG
from darts_lite.dag_blocks.dense_blocks import DAGNetwork, DAGSupernet, conv_as_dense, local_mask

DAGS = [DAG.chain(4), DAG(4, [(0, 1), (0, 2), (1, 3), (2, 3)]), DAG(4, [(0, 1), (1, 2), (2, 3), (0, 3), (1, 3)])]


def make(aggregation="sum", dtype=torch.float64):
    torch.manual_seed(0)
    return DAGSupernet(12, 5, 3, DAGS, aggregation).to(dtype), torch.randn(7, 12, dtype=dtype)


def test_one_shared_weight_tensor():
    model, _ = make()
    assert model.weight.shape == (4, 4, 5, 5)
    weight_params = [p for n, p in model.named_parameters() if p.ndim == 4]
    assert len(weight_params) == 1  # every block's layer-to-layer weights live in this one tensor
    assert model.arch_parameters() == [model.alphas]
    assert all(p is not model.alphas for p in model.weight_parameters())


@pytest.mark.parametrize("aggregation", ["sum", "mean"])
def test_masks_cut_edges_in_each_block(aggregation):
    model, x = make(aggregation)
    for b, dag in enumerate(DAGS):
        model.zero_grad()
        model.block_outputs(x)[b].sum().backward()
        grad = model.weight.grad
        for i in range(4):
            for j in range(i + 1, 4):
                used = (i, j) in dag.edges
                assert (grad[i, j].abs().sum() > 0) == used, f"block {b}, edge {i}->{j}"


def test_shared_edges_get_the_gradient_of_every_block_using_them():
    model, x = make()
    model.zero_grad()
    model.block_outputs(x).sum().backward()
    together = model.weight.grad.clone()
    separate = torch.zeros_like(together)
    for b in range(3):
        model.zero_grad()
        model.block_outputs(x)[b].sum().backward()
        separate += model.weight.grad
    torch.testing.assert_close(together, separate)


def test_a_masked_weight_does_not_change_the_block():
    model, x = make()
    before = model.block_outputs(x).detach()
    with torch.no_grad():
        model.weight[1, 2] += 10.0  # edge 1->2: in blocks 0 and 2, not in block 1
    after = model.block_outputs(x).detach()
    torch.testing.assert_close(after[1], before[1])
    assert not torch.allclose(after[0], before[0]) and not torch.allclose(after[2], before[2])


@pytest.mark.parametrize("aggregation", ["sum", "mean"])
def test_derived_network_with_copied_weights_equals_its_block(aggregation):
    model, x = make(aggregation)
    for b in range(3):
        net = DAGNetwork.from_supernet(model, block=b, copy_weights=True).double()
        one_hot = torch.zeros(3, dtype=torch.float64)
        one_hot[b] = 1
        torch.testing.assert_close(net(x), model(x, weights=one_hot))


def test_derived_network_has_weights_only_for_its_edges():
    chain, full = DAGNetwork(12, 5, 3, DAGS[0]), DAGNetwork(12, 5, 3, DAGS[2])
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(full) - count(chain) == 2 * 5 * 5  # two more edges of 5x5 weights
    model, _ = make()
    with torch.no_grad():
        model.alphas[2] = 3.0
    assert DAGNetwork.from_supernet(model).dag == DAGS[2]  # the block with the largest alpha


def test_mixture_is_the_softmax_weighted_sum_of_blocks():
    model, x = make()
    with torch.no_grad():
        model.alphas.copy_(torch.tensor([0.3, -1.0, 2.0]))
    w = torch.softmax(model.alphas, 0)
    expected = model.head(sum(w[b] * model.block_outputs(x)[b] for b in range(3)))
    torch.testing.assert_close(model(x), expected)


def test_set_dags_rewires_and_reads_back():
    model, _ = make()
    new = [DAGS[2], DAGS[0], DAGS[1]]
    model.set_dags(new)
    assert model.dags() == new
    with pytest.raises(ValueError, match="expected 3 DAGs"):
        model.set_dags(new[:2])
    with pytest.raises(ValueError, match="same number of layers"):
        DAGSupernet(4, 3, 2, [DAG.chain(3), DAG.chain(4)])
    with pytest.raises(ValueError, match="aggregation"):
        DAGSupernet(4, 3, 2, [DAG.chain(3)], aggregation="max")


@pytest.mark.parametrize("k", [3, 5])
def test_toeplitz_dense_layer_is_the_convolution(k):
    torch.manual_seed(1)
    kernel = torch.randn(k, k, dtype=torch.float64)
    x = torch.randn(4, 1, 6, 7, dtype=torch.float64)
    T = conv_as_dense(kernel, 6, 7)
    dense = x.flatten(1) @ T.T
    conv = F.conv2d(x, kernel[None, None], padding=k // 2).flatten(1)
    torch.testing.assert_close(dense, conv, rtol=0, atol=1e-12)
    mask = local_mask(6, 7, k)
    assert torch.equal(T * mask, T)  # the kernel lives inside the local support
    assert mask.sum(1).max() == k * k and mask.sum(1).min() == (k // 2 + 1) ** 2  # interior vs corner pixels


def test_input_mask_makes_the_first_layer_local():
    mask = local_mask(4, 4, 3)
    model = DAGSupernet(16, 16, 2, [DAG.chain(3), DAG.chain(3)], input_masks=[mask, None]).double()
    x = torch.zeros(1, 16, dtype=torch.float64, requires_grad=True)
    # unit 0 (pixel (0,0)) of block 0 may only see pixels within the 3x3 neighbourhood
    pre = torch.einsum("nf,kwf->knw", x, model.input.weight * model.input_masks)
    pre[0, 0, 0].backward()
    seen = (x.grad[0] != 0).nonzero().flatten().tolist()
    assert set(seen) <= {0, 1, 4, 5}
    with pytest.raises(ValueError, match="odd kernel"):
        conv_as_dense(torch.ones(2, 2), 4, 4)
