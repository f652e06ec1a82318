"""Decision metrics against hand computation; chance agreement against Monte Carlo."""
import math
import warnings

import pytest
import torch

from darts_lite.core import decision as C
from darts_lite.darts import decision as D
from darts_lite.darts.genotypes import derive_genotype, random_genotype
from darts_lite.darts.ops import PRIMITIVES


def test_cell_decision_by_hand():
    # A cell of 2 nodes (5 edges) over 3 primitives: none, A, B.
    prims = ("none", "max_pool_3x3", "skip_connect")
    w = torch.tensor([[0.2, 0.6, 0.2],     # node 0, input 0: strength 0.6, share 0.6 / 0.8
                      [0.5, 0.1, 0.4],     # node 0, input 1: strength 0.4, share 0.4 / 0.5
                      [0.1, 0.3, 0.6],     # node 1, input 0: strength 0.6, share 0.6 / 0.9
                      [0.0, 0.5, 0.5],     # node 1, input 1: strength 0.5, share 0.5 / 1.0
                      [0.6, 0.2, 0.2]])    # node 1, input 2: strength 0.2 (dropped)
    d = D.cell_decision(w, prims)
    kept = [0.6 / 0.8, 0.4 / 0.5, 0.6 / 0.9, 0.5 / 1.0]
    assert d["kept_weight"] == pytest.approx(sum(kept) / 4)
    assert d["margin"] == pytest.approx(0.5 - 0.2)  # only node 1 drops an edge
    H = [-sum(p * math.log(p) for p in row if p > 0) / math.log(3) for row in w.tolist()]
    assert d["entropy_ratio"] == pytest.approx(sum(H) / 5)
    assert d["uniform_kept_weight"] == pytest.approx(0.5)
    assert d["decided"] is (sum(kept) / 4 >= C.DECIDED)


def test_uniform_is_undecided_and_one_hot_is_decided():
    E = 14
    uniform = D.cell_decision(torch.full((E, 8), 1 / 8))
    assert uniform["kept_weight"] == pytest.approx(1 / 7)
    assert uniform["entropy_ratio"] == pytest.approx(1.0)
    assert uniform["margin"] == pytest.approx(0.0)
    assert not uniform["decided"]
    alphas = {k: 20 * torch.nn.functional.one_hot(torch.arange(E) % 7 + 1, 8).float() for k in ("normal", "reduce")}
    d = D.decision({k: torch.softmax(a, -1) for k, a in alphas.items()})
    assert d["decided"] and d["normal"]["kept_weight"] > 0.99 and d["normal"]["entropy_ratio"] < 0.01


def test_margin_follows_the_top2_rule_of_parse_cell():
    g = torch.Generator().manual_seed(0)
    alpha = torch.randn(14, 8, generator=g) * 2
    d = D.cell_decision(torch.softmax(alpha, -1))
    # The kept edges are those of the genotype: recompute the margin from parse_cell's choice.
    gene = derive_genotype({"normal": alpha, "reduce": alpha}).normal
    w = torch.softmax(alpha.double(), -1)[:, 1:]
    strength = w.max(1).values
    margins, start = [], 0
    for i in range(4):
        n = 2 + i
        kept = {j for _, j in gene[2 * i:2 * i + 2]}
        if n > 2:
            margins.append(min(strength[start + j] for j in kept)
                           - max(strength[start + j] for j in range(n) if j not in kept))
        start += n
    assert d["margin"] == pytest.approx(float(sum(margins) / len(margins)))
    assert d["margin"] >= 0


def test_warn_if_undecided_names_the_remedy():
    d = D.decision({"normal": torch.full((14, 8), 1 / 8), "reduce": torch.full((14, 8), 1 / 8)})
    with pytest.warns(C.UndecidedSearchWarning, match="random search at the same cost") as caught:
        C.warn_if_undecided(d, "the search", D.DARTS_REMEDY)
    # The advice never recommends a schedule the ground truth shows collapsing onto skips.
    assert "decisive" not in str(caught[0].message)
    from darts_lite.darts.remedies import REMEDIES
    advices = [r.undecided_advice for r in REMEDIES.values() if r.undecided_advice]
    for remedy in (D.DARTS_REMEDY, D.SAMPLED_REMEDY, *advices):
        assert "random search" in remedy and "with_schedule" not in remedy
    decided = D.decision({k: torch.softmax(30 * torch.eye(8)[torch.arange(14) % 7 + 1], -1)
                          for k in ("normal", "reduce")})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        C.warn_if_undecided(decided, "the search", D.DARTS_REMEDY)


def test_gene_agreement_counts_pairs_per_node():
    a = (("sep_conv_3x3", 0), ("skip_connect", 1), ("max_pool_3x3", 0), ("sep_conv_3x3", 2))
    b = (("sep_conv_3x3", 0), ("max_pool_3x3", 1), ("sep_conv_3x3", 2), ("max_pool_3x3", 1))
    got = D.gene_agreement(a, b)
    assert got["exact"] == 2  # node 0: sep <- 0; node 1: sep <- 2, at another position but the same pair
    got = D.gene_agreement(a, a)
    assert got == {"exact": 4, "ops": 4, "choices": 4}
    assert D.gene_agreement(a, b)["ops"] == 3  # sep, sep, max shared; skip unmatched


@pytest.mark.parametrize("nodes,prims", [(4, PRIMITIVES), (2, ("none", "skip_connect", "max_pool_3x3"))])
def test_chance_agreement_matches_monte_carlo(nodes, prims):
    g = torch.Generator().manual_seed(1)
    n = 4000
    exact = ops = 0.0
    for _ in range(n):
        a = random_genotype(g, prims, nodes)
        b = random_genotype(g, prims, nodes)
        s = D.seed_agreement([a, b], kinds=("normal",))["normal"]
        exact += s["exact"] / n
        ops += s["ops"] / n
    chance = D.chance_agreement(nodes, prims)
    # Standard errors are below 0.005 here; 0.02 is four of them.
    assert exact == pytest.approx(chance["exact"], abs=0.02)
    assert ops == pytest.approx(chance["ops"], abs=0.02)


def test_seed_agreement_needs_two_genotypes():
    with pytest.raises(ValueError, match="at least 2"):
        D.seed_agreement([random_genotype(torch.Generator().manual_seed(0))])


def test_choice_decision_by_hand():
    w = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    d = C.choice_decision(w)
    assert d["kept_weight"] == pytest.approx(0.6)
    assert d["margin"] == pytest.approx(((0.6 - 0.3) + (0.6 - 0.2)) / 2)
    H = [-sum(p * math.log(p) for p in row) / math.log(3) for row in w.tolist()]
    assert d["entropy_ratio"] == pytest.approx(sum(H) / 2)
    assert d["uniform_kept_weight"] == pytest.approx(1 / 3) and d["decided"]
    with pytest.raises(ValueError, match="at least 2 options"):
        C.choice_decision(torch.ones(3, 1))
