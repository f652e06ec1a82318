"""core.lut: a network's cost is fixed + the sum of its entries; LAT(alpha) is the softmax-weighted sum."""
import itertools

import numpy as np
import pytest
import torch

from darts_lite.core.lut import LookupTable
from darts_lite.meta_kernels.cost_table import CostTable

CHOICES = ("a", "b", "c", "d")
SLOTS = 5


def numbers(seed: int = 0) -> dict[str, list[list[float]]]:
    rng = np.random.default_rng(seed)
    return {"latency_ms": rng.uniform(0.1, 9.0, (SLOTS, len(CHOICES))).round(3).tolist(),
            "macs": rng.integers(1, 1000, (SLOTS, len(CHOICES))).astype(float).tolist()}


FIXED = {"latency_ms": 1.25, "macs": 17.0}


@pytest.fixture
def lut() -> LookupTable:
    return LookupTable("toy", CHOICES, numbers(), dict(FIXED))


def hand_sum(costs, fixed, picked) -> float:
    total = fixed
    for slot, choice in enumerate(picked):
        total += costs[slot][CHOICES.index(choice)]
    return total


def test_predict_is_fixed_plus_the_chosen_entries(lut):
    rng = np.random.default_rng(1)
    for _ in range(20):
        picked = [CHOICES[i] for i in rng.integers(len(CHOICES), size=SLOTS)]
        got = lut.predict(picked)
        assert set(got) == {"latency_ms", "macs"}
        for r in got:
            assert got[r] == pytest.approx(hand_sum(lut.costs[r], FIXED[r], picked), abs=1e-12)


def test_fixed_defaults_to_zero_for_a_resource_not_given():
    table = LookupTable("toy", CHOICES, numbers(), {"macs": 5.0})
    assert table.fixed == {"macs": 5.0, "latency_ms": 0.0}
    picked = ["a"] * SLOTS
    assert table.predict(picked)["latency_ms"] == pytest.approx(sum(row[0] for row in table.costs["latency_ms"]))


def test_predict_indices_is_predict_row_by_row(lut):
    indices = np.array(list(itertools.product(range(len(CHOICES)), repeat=SLOTS)))[::7]  # 147 of the 1024
    for r in ("latency_ms", "macs"):
        vectorised = lut.predict_indices(indices, r)
        assert vectorised.shape == (len(indices),)
        one_by_one = [lut.predict([CHOICES[i] for i in row])[r] for row in indices]
        np.testing.assert_allclose(vectorised, one_by_one, rtol=1e-12)


def hand_expected(costs, fixed, alphas: np.ndarray) -> float:
    total = fixed
    for slot in range(alphas.shape[0]):
        e = np.exp(alphas[slot] - alphas[slot].max())
        total += float(np.dot(e / e.sum(), costs[slot]))
    return total


def test_expected_is_the_softmax_weighted_sum(lut):
    alphas = np.random.default_rng(2).normal(0, 2, (SLOTS, len(CHOICES)))
    got = lut.expected(torch.tensor(alphas, dtype=torch.float64))
    for r in ("latency_ms", "macs"):
        assert got[r].item() == pytest.approx(hand_expected(lut.costs[r], FIXED[r], alphas), rel=1e-6)
    # a one-hot alpha (a large gap) is the discrete network's cost
    picked = [1, 3, 0, 2, 2]
    one_hot = torch.full((SLOTS, len(CHOICES)), -60.0, dtype=torch.float64)
    one_hot[range(SLOTS), picked] = 60.0
    assert lut.expected(one_hot)["macs"].item() == pytest.approx(lut.predict([CHOICES[i] for i in picked])["macs"],
                                                                 rel=1e-9)


def test_the_gradient_of_expected_is_its_finite_difference(lut):
    alphas = torch.tensor(np.random.default_rng(3).normal(0, 1, (SLOTS, len(CHOICES))), dtype=torch.float64,
                          requires_grad=True)
    (auto,) = torch.autograd.grad(lut.expected(alphas)["latency_ms"], alphas)
    a0, h = alphas.detach().numpy(), 1e-6
    fd = np.zeros_like(a0)
    for s in range(SLOTS):
        for c in range(len(CHOICES)):
            up, down = a0.copy(), a0.copy()
            up[s, c] += h
            down[s, c] -= h
            fd[s, c] = (hand_expected(lut.costs["latency_ms"], 0.0, up)
                        - hand_expected(lut.costs["latency_ms"], 0.0, down)) / (2 * h)
    np.testing.assert_allclose(auto.numpy(), fd, atol=1e-7)
    assert np.abs(fd).max() > 1e-2  # the check is not between two zeros


@pytest.mark.parametrize("costs, match", [
    ({}, "at least one resource"),
    ({"latency_ms": [[1.0, 2.0, 3.0]] * SLOTS}, r"4 choices.*shape \(5, 3\)"),
    ({"latency_ms": [1.0, 2.0, 3.0, 4.0]}, r"\[slot\]\[choice\].*shape \(4,\)"),
    ({"latency_ms": [[[1.0] * 4]] * SLOTS}, r"shape \(5, 1, 4\)"),
])
def test_a_table_of_the_wrong_shape_is_refused(costs, match):
    with pytest.raises(ValueError, match=match):
        LookupTable("toy", CHOICES, costs)


def test_a_resource_with_another_slot_count_is_refused():
    costs = {"latency_ms": [[1.0] * 4] * SLOTS, "macs": [[1.0] * 4] * (SLOTS - 1)}
    with pytest.raises(ValueError, match="slots"):
        LookupTable("toy", CHOICES, costs)


def test_an_unknown_choice_or_a_wrong_number_of_slots_is_refused(lut):
    with pytest.raises(ValueError, match=r"\['e'\] not among the table's choices"):
        lut.predict(["a", "b", "e", "a", "a"])
    with pytest.raises(ValueError, match="the table has 5 slots; got 4 choices"):
        lut.predict(["a"] * 4)
    with pytest.raises(ValueError, match="the table has 5 slots; got 6 choices"):
        lut.predict(["a"] * 6)
    with pytest.raises(KeyError, match="unknown resource 'energy'"):
        lut.tensor("energy")


@pytest.mark.parametrize("shape", [(SLOTS - 1, len(CHOICES)), (1, len(CHOICES)), (len(CHOICES),),
                                   (SLOTS, len(CHOICES) + 1)])
def test_expected_refuses_alphas_of_another_shape(lut, shape):
    # (1, 4) and (4,) would broadcast over the 5 slots and give a number for no network at all
    with pytest.raises(ValueError, match=r"alphas of shape"):
        lut.expected(torch.zeros(shape))


def test_cost_table_predicts_as_a_lookup_table_with_the_same_numbers():
    kernels = (3, 5, 7, 9)
    costs = numbers(4)
    cost_table = CostTable("cpu", (1, 1, 8, 8), kernels, costs, dict(FIXED))
    lookup = LookupTable("cpu", kernels, costs, dict(FIXED))
    for picked in itertools.islice(itertools.product(kernels, repeat=SLOTS), 0, None, 37):
        assert cost_table.predict(picked) == lookup.predict(picked)
    indices = np.random.default_rng(5).integers(len(kernels), size=(50, SLOTS))
    np.testing.assert_array_equal(cost_table.predict_indices(indices, "macs"), lookup.predict_indices(indices, "macs"))
    alphas = torch.randn(SLOTS, len(kernels))
    a, b = cost_table.expected(alphas), lookup.expected(alphas)
    assert {r: v.item() for r, v in a.items()} == {r: v.item() for r, v in b.items()}
