"""Tests for darts_lite.dag_blocks.dag and sampling: the space of block DAGs, its size, drawing from it."""
import itertools
import math

import pytest
import torch

from darts_lite.dag_blocks.dag import DAG, allowed_pairs, count_dags, enumerate_dags
from darts_lite.dag_blocks.sampling import DAGSampler, feedback_weights


def brute_force(n, max_skip=None):
    """Every subset of the allowed pairs that passes DAG.is_valid: independent of the closed form."""
    pairs = allowed_pairs(n, max_skip)
    return [DAG(n, sub) for r in range(len(pairs) + 1) for sub in itertools.combinations(pairs, r)
            if DAG(n, sub).is_valid(max_skip)]


def test_properties_of_a_known_dag():
    d = DAG(5, [(0, 1), (1, 2), (0, 3), (2, 3), (3, 4), (1, 4)])
    assert d.num_edges == 6 and d.longest_skip == 3 and d.depth == 4
    assert DAG.chain(5).stats() == {"depth": 4, "edges": 4, "longest_skip": 1}
    assert DAG(3, [(0, 2), (0, 1), (1, 2)]).depth == 2
    assert DAG(3, [(0, 2), (0, 1), (1, 2)]).edges == ((0, 1), (0, 2), (1, 2))  # sorted, deduplicated


def test_adjacency_round_trip():
    d = DAG(4, [(0, 1), (1, 3), (0, 2), (2, 3)])
    assert DAG.from_adjacency(d.adjacency()) == d
    assert d.adjacency().sum() == d.num_edges


@pytest.mark.parametrize("edges, message", [([(1, 0)], "forward edge"), ([(0, 4)], "forward edge")])
def test_bad_edges_are_refused(edges, message):
    with pytest.raises(ValueError, match=message):
        DAG(4, edges)


def test_violations_name_the_problem():
    d = DAG(4, [(0, 1), (1, 3)])  # layer 2 has neither input nor output
    problems = " ".join(d.violations())
    assert "[2] are not reachable" in problems and "[2] do not reach" in problems
    assert DAG(4, [(0, 1), (1, 2), (2, 3), (0, 3)]).violations(max_skip=2) == [
        "edge of length 3 exceeds max_skip=2"]
    with pytest.raises(ValueError, match="max_skip"):
        allowed_pairs(4, 0)
    with pytest.raises(ValueError, match="layers >= 2"):
        DAG(1, [])


@pytest.mark.parametrize("n", [2, 3, 4, 5])
@pytest.mark.parametrize("max_skip", [None, 1, 2, 3])
def test_closed_form_count_matches_enumeration_and_brute_force(n, max_skip):
    listed = enumerate_dags(n, max_skip)
    assert len(set(listed)) == len(listed)
    assert all(d.is_valid(max_skip) for d in listed)
    assert set(listed) == set(brute_force(n, max_skip))
    assert count_dags(n, max_skip) == len(listed)


def test_count_without_reachability_is_two_to_the_pairs():
    for n in range(2, 8):
        assert count_dags(n, connected=False) == 2 ** (n * (n - 1) // 2)
        s = 2
        assert count_dags(n, s, connected=False) == 2 ** (s * n - s * (s + 1) // 2) if n > s else True
    assert count_dags(6) == len(enumerate_dags(6))  # one larger case, enumeration only (brute force is 2^15)


def test_space_grows_exponentially_even_with_a_skip_limit():
    counts = [count_dags(n, 2) for n in range(3, 10)]
    ratios = [b / a for a, b in zip(counts, counts[1:])]
    assert min(ratios) > 1.5  # a constant factor per added layer: exponential growth


def test_enumeration_refuses_huge_spaces():
    with pytest.raises(ValueError, match="count_dags"):
        enumerate_dags(9)


@pytest.mark.parametrize("max_skip", [None, 1, 2])
def test_sampled_dags_meet_the_criteria(max_skip):
    sampler = DAGSampler(6, max_skip, p_init=0.3)
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        dags = sampler.sample(8, g)
        assert len(dags) == 8 and len(set(dags)) == min(8, count_dags(6, max_skip))  # max_skip=1: the chain only
        assert all(d.is_valid(max_skip) and d.n == 6 for d in dags)


def test_sampling_is_the_edge_model_conditioned_on_validity():
    # n = 3: the valid DAGs are the chain and the chain plus 0->2; conditioning on validity
    # leaves P(0->2 present) = p_02 exactly.
    sampler = DAGSampler(3, p_init=0.5)
    sampler.probs = torch.tensor([0.7, 0.3, 0.6])  # pairs (0,1), (0,2), (1,2)
    assert sampler.pairs == [(0, 1), (0, 2), (1, 2)]
    g = torch.Generator().manual_seed(1)
    draws = [d for _ in range(400) for d in sampler.sample(1, g, distinct=False)]
    share = sum((0, 2) in d.edges for d in draws) / len(draws)
    assert abs(share - 0.3) < 5 * math.sqrt(0.3 * 0.7 / len(draws))


def test_sampling_fills_with_repeats_when_the_space_is_small():
    dags = DAGSampler(3).sample(4, torch.Generator().manual_seed(0))
    assert len(dags) == 4 and set(dags) == set(enumerate_dags(3))


def test_feedback_weights():
    w = feedback_weights(torch.tensor([0.0, 1.0, 2.0]), temperature=0.5)
    assert torch.isclose(w.sum(), torch.tensor(1.0)) and w[2] > w[1] > w[0]
    with pytest.raises(ValueError, match="temperature"):
        feedback_weights(torch.zeros(2), 0.0)


def test_update_moves_probabilities_toward_the_favoured_block():
    sampler = DAGSampler(4)
    good, bad = DAG(4, [(0, 1), (1, 2), (2, 3), (0, 3)]), DAG(4, [(0, 1), (1, 2), (2, 3), (1, 3)])
    before = sampler.edge_matrix()
    sampler.update([good, bad], torch.tensor([0.9, 0.1]), lr=0.5)
    after = sampler.edge_matrix()
    assert after[0, 3] > before[0, 3] and after[1, 3] < before[1, 3]
    assert torch.isclose(after[0, 3], torch.tensor(0.5 * 0.5 + 0.5 * 0.9))
    sampler.update([good], torch.tensor([1.0]), lr=1.0)
    assert sampler.probs.min() >= sampler.p_min and sampler.probs.max() <= 1 - sampler.p_min


def test_feedback_finds_the_known_best_dag():
    """A toy where the best DAG is known: fitness = -(edges differing from a target DAG)."""
    target = DAG(6, [(0, 1), (1, 2), (0, 2), (2, 3), (3, 4), (1, 4), (4, 5), (2, 5)])
    sampler = DAGSampler(6, p_init=0.5)
    g = torch.Generator().manual_seed(0)
    for _ in range(25):
        dags = sampler.sample(8, g)
        fitness = torch.tensor([-float(len(set(d.edges) ^ set(target.edges))) for d in dags])
        sampler.update(dags, feedback_weights(fitness, temperature=0.5), lr=0.3)
    probs = sampler.edge_matrix()
    for i, j in sampler.pairs:
        if (i, j) in target.edges:
            assert probs[i, j] > 0.8
        else:
            assert probs[i, j] < 0.2
    assert target in sampler.sample(4, g)


def test_sampler_state_round_trip_and_bad_settings():
    a = DAGSampler(4, 2)
    a.update(enumerate_dags(4, 2), torch.ones(len(enumerate_dags(4, 2))), lr=0.4)
    b = DAGSampler(4, 2)
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.probs, b.probs)
    with pytest.raises(ValueError, match="edges"):
        DAGSampler(5).load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="p_min"):
        DAGSampler(4, p_min=0.6)
    with pytest.raises(RuntimeError, match="raise p_min"):
        low = DAGSampler(6, p_init=0.02)
        low.sample(3, torch.Generator().manual_seed(0), max_draws=256)
