"""Tests for darts_lite.darts.genotypes: derivation (Sec. 2.4), ties, validation, JSON round trip."""
import json

import pytest
import torch

from darts_lite.darts.genotypes import (
    DARTS_V2,
    Genotype,
    GenotypeError,
    derive_genotype,
    edge_index,
    num_edges,
    parse_cell,
)
from darts_lite.darts.ops import PRIMITIVES

P = {name: k for k, name in enumerate(PRIMITIVES)}
LOW = -60.0  # exp(-60) ~ 1e-26 vanishes next to 1.0 in float64: softmax rows become exact




def row(nodes: int, node: int, j: int) -> int:
    """alpha row of the edge from input j into intermediate node `node`."""
    return edge_index(nodes).index((j, node + 2))


def test_edge_index_order():
    assert edge_index(2) == [(0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
    assert len(edge_index(4)) == num_edges(4) == 14


def test_none_dominates_everywhere_but_is_excluded():
    a = torch.zeros(14, len(PRIMITIVES))
    a[:, P["none"]] = 10.0
    # node i: a strong dil_conv_5x5 from input i+1 and a weaker avg_pool from input 0
    for i in range(4):
        a[row(4, i, i + 1), P["dil_conv_5x5"]] = 3.0
        a[row(4, i, 0), P["avg_pool_3x3"]] = 2.0
    g = derive_genotype({"normal": a, "reduce": a})
    want = (("avg_pool_3x3", 0), ("dil_conv_5x5", 1),
            ("avg_pool_3x3", 0), ("dil_conv_5x5", 2),
            ("avg_pool_3x3", 0), ("dil_conv_5x5", 3),
            ("avg_pool_3x3", 0), ("dil_conv_5x5", 4))
    assert g.normal == want and g.reduce == want
    assert g.normal_concat == g.reduce_concat == (2, 3, 4, 5)
    assert all(op != "none" for op, _ in g.normal)


def test_none_excluded_by_name_not_position():
    prims = ("skip_connect", "none", "sep_conv_3x3")
    a = torch.zeros(2, 3)
    a[:, 1] = 9.0
    a[0, 2] = 1.0
    assert parse_cell(a, prims) == (("sep_conv_3x3", 0), ("skip_connect", 1))


def test_top2_edges_per_node_sorted_by_input():
    """Node 3 has five inputs with strengths ranked 3 > 1 > 4 > 0 > 2: keeps inputs 1 and 3."""
    a = torch.zeros(14, len(PRIMITIVES))
    ops = ["max_pool_3x3", "sep_conv_3x3", "skip_connect", "dil_conv_3x3", "sep_conv_5x5"]
    for j, s in enumerate([1.0, 3.0, 0.5, 4.0, 2.0]):
        a[row(4, 3, j), P[ops[j]]] = s
    gene = parse_cell(a)
    assert gene[6:] == (("sep_conv_3x3", 1), ("dil_conv_3x3", 3))
    # the other rows are all zero: exact ties, so every other node keeps inputs 0 and 1
    assert [j for _, j in gene[:6]] == [0, 1, 0, 1, 0, 1]


def test_edge_strength_is_max_softmax_weight_not_alpha_sum():
    """An edge with one strong op beats an edge whose many ops are moderately strong."""
    a = torch.zeros(5, len(PRIMITIVES))
    a[row(2, 1, 0), P["sep_conv_3x3"]] = 2.0
    a[row(2, 1, 1), 1:] = 1.5  # every non-none op at 1.5: softmax max is only 1/8-ish
    a[row(2, 1, 2), P["skip_connect"]] = 1.0
    gene = parse_cell(a)
    w = torch.softmax(a.double(), -1)[:, 1:].max(1).values
    assert w[row(2, 1, 1)] < w[row(2, 1, 2)] < w[row(2, 1, 0)]
    assert gene[2:] == (("sep_conv_3x3", 0), ("skip_connect", 2))


def test_ties_earlier_input_wins():
    """Three inputs with exactly equal strength (one-hot rows, different ops): inputs 0 and 1 kept."""
    a = torch.full((5, len(PRIMITIVES)), LOW)
    a[row(2, 0, 0), P["sep_conv_3x3"]] = 0.0
    a[row(2, 0, 1), P["skip_connect"]] = 0.0
    a[row(2, 1, 2), P["max_pool_3x3"]] = 0.0
    a[row(2, 1, 1), P["dil_conv_5x5"]] = 0.0
    a[row(2, 1, 0), P["avg_pool_3x3"]] = 0.0
    strengths = torch.softmax(a.double(), -1)[:, 1:].max(1).values
    assert torch.equal(strengths, torch.ones(5, dtype=torch.float64))  # the ties are exact
    assert parse_cell(a) == (("sep_conv_3x3", 0), ("skip_connect", 1),
                             ("avg_pool_3x3", 0), ("dil_conv_5x5", 1))
    # a later input is kept once an earlier one is strictly weaker: input 1's row now splits 0.5 / 0.5
    a[row(2, 1, 1), P["sep_conv_5x5"]] = 0.0
    assert parse_cell(a)[2:] == (("avg_pool_3x3", 0), ("max_pool_3x3", 2))


def test_ties_earlier_operation_wins():
    a = torch.full((2, len(PRIMITIVES)), LOW)
    # edge 0: sep_conv_5x5, max_pool_3x3 and none tie: max_pool (column 1) wins, none excluded
    a[0, [P["none"], P["max_pool_3x3"], P["sep_conv_5x5"]]] = 0.0
    # edge 1: dil_conv_5x5 and skip_connect tie: skip_connect (earlier column) wins
    a[1, [P["dil_conv_5x5"], P["skip_connect"]]] = 0.0
    assert parse_cell(a) == (("max_pool_3x3", 0), ("skip_connect", 1))


@pytest.mark.parametrize("multiplier,concat", [(None, (2, 3, 4)), (3, (2, 3, 4)), (2, (3, 4)), (1, (4,))])
def test_derive_concat_is_last_multiplier_nodes(multiplier, concat):
    torch.manual_seed(0)
    alphas = {"normal": torch.randn(9, 8), "reduce": torch.randn(9, 8)}
    g = derive_genotype(alphas, multiplier=multiplier)
    assert g.nodes == 3 and g.normal_concat == concat and g.reduce_concat == concat


def test_derive_normal_and_reduce_independent():
    a_n = torch.zeros(2, 8)
    a_n[:, P["sep_conv_3x3"]] = 1.0
    a_r = torch.zeros(2, 8)
    a_r[:, P["max_pool_3x3"]] = 1.0
    g = derive_genotype({"normal": a_n, "reduce": a_r})
    assert g.normal == (("sep_conv_3x3", 0), ("sep_conv_3x3", 1))
    assert g.reduce == (("max_pool_3x3", 0), ("max_pool_3x3", 1))


def test_parse_cell_rejects_bad_shapes():
    with pytest.raises(ValueError, match="6 alpha rows"):
        parse_cell(torch.zeros(6, 8))
    with pytest.raises(ValueError, match="7 columns but there are 8 primitives"):
        parse_cell(torch.zeros(5, 7))
    with pytest.raises(ValueError, match="every primitive is 'none'"):
        parse_cell(torch.zeros(2, 1), ("none",))


# ---- validation ---------------------------------------------------------------------------------

OK_GENE = (("sep_conv_3x3", 0), ("skip_connect", 1))


def make(normal=OK_GENE, normal_concat=(2,), reduce=OK_GENE, reduce_concat=(2,)):
    return Genotype(normal=normal, normal_concat=normal_concat, reduce=reduce, reduce_concat=reduce_concat)


def test_valid_small_genotype():
    g = make()
    assert g.nodes == 1 and g.cell("normal") == (OK_GENE, (2,))
    with pytest.raises(ValueError, match="'middle'"):
        g.cell("middle")


@pytest.mark.parametrize("kwargs,match", [
    ({"normal": (("conv_9x9", 0), ("skip_connect", 1))}, r"normal cell: unknown operation 'conv_9x9' at position 0"),
    ({"reduce": (("skip_connect", 2), ("skip_connect", 1))}, r"reduce cell: edge index 2 at position 0 is out of"),
    ({"normal": (("skip_connect", 0), ("skip_connect", -1))}, r"edge index -1 at position 1"),
    ({"normal": OK_GENE + (("skip_connect", 0), ("skip_connect", 3))}, r"edge index 3 at position 3"),
    ({"normal": (("none", 0), ("skip_connect", 1))}, r"operation 'none' at position 0"),
    ({"normal": OK_GENE + (("skip_connect", 0),)}, r"normal cell needs two .* got 3 pairs"),
    ({"reduce": ()}, r"reduce cell needs two .* got 0 pairs"),
    ({"normal_concat": (2, 7)}, r"normal_concat \[2, 7\] must name intermediate nodes in 2..2"),
    ({"reduce_concat": ()}, r"reduce_concat \[\] must name intermediate nodes"),
])
def test_invalid_genotypes_rejected(kwargs, match):
    with pytest.raises(GenotypeError, match=match):
        make(**kwargs)


def test_genotype_error_is_value_error():
    assert issubclass(GenotypeError, ValueError)


# ---- JSON ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("g", [DARTS_V2, make(), derive_genotype(
    {"normal": torch.arange(72.).reshape(9, 8).sin(), "reduce": torch.arange(72.).reshape(9, 8).cos()},
    multiplier=2)])
def test_json_round_trip(tmp_path, g):
    path = g.save(tmp_path / "sub" / "genotype.json")
    assert path.is_file()
    loaded = Genotype.load(path)
    assert loaded == g and hash(loaded) == hash(g)
    assert json.loads(path.read_text()) == g.to_dict()
    assert Genotype.from_dict(g.to_dict()) == g


def test_load_missing_file(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(FileNotFoundError, match="nope.json"):
        Genotype.load(path)


def test_load_non_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("normal: sep_conv_3x3 <- 0\n")
    with pytest.raises(GenotypeError, match=r"broken.json is not a genotype file \(JSON text expected\)"):
        Genotype.load(path)


def test_load_missing_key_names_key_and_file(tmp_path):
    d = DARTS_V2.to_dict()
    del d["reduce_concat"]
    path = tmp_path / "g.json"
    path.write_text(json.dumps(d))
    with pytest.raises(GenotypeError, match=r"g.json: genotype is missing the key\(s\) \['reduce_concat'\]"):
        Genotype.load(path)


def test_load_invalid_content_names_file_and_value(tmp_path):
    d = DARTS_V2.to_dict()
    d["normal"][0] = ["sep_conv_3x3", 2]
    path = tmp_path / "bad_edge.json"
    path.write_text(json.dumps(d))
    with pytest.raises(GenotypeError, match=r"bad_edge.json: normal cell: edge index 2 at position 0"):
        Genotype.load(path)


@pytest.mark.parametrize("entry", [["sep_conv_3x3"], ["sep_conv_3x3", "0"], [0, "sep_conv_3x3"], "skip"])
def test_from_dict_rejects_malformed_entries(entry):
    d = DARTS_V2.to_dict()
    d["reduce"][3] = entry
    with pytest.raises(GenotypeError, match="each reduce entry must be"):
        Genotype.from_dict(d)


def test_from_dict_rejects_non_object():
    with pytest.raises(GenotypeError, match="got list"):
        Genotype.from_dict([1, 2])


def test_str_names_nodes():
    s = str(make())
    assert s.splitlines()[0] == "normal: [sep_conv_3x3<-c_{k-2}, skip_connect<-c_{k-1}]"


# ---- reference ----------------------------------------------------------------------------------

def test_derive_agrees_with_reference(ref):
    gen = torch.Generator().manual_seed(123)
    for trial in range(20):
        nodes = 4 if trial < 15 else 3
        a_n = torch.randn(num_edges(nodes), len(PRIMITIVES), generator=gen) * (0.1 + trial / 5)
        a_r = torch.randn(num_edges(nodes), len(PRIMITIVES), generator=gen) * (0.1 + trial / 5)
        ours = derive_genotype({"normal": a_n, "reduce": a_r}, multiplier=nodes)
        theirs = ref.derive_genotype((a_n, a_r), steps=nodes, multiplier=nodes)
        assert ours.normal == tuple(map(tuple, theirs.normal)), trial
        assert ours.reduce == tuple(map(tuple, theirs.reduce)), trial
        assert list(ours.normal_concat) == list(theirs.normal_concat)


def test_random_genotypes_are_valid_varied_and_seeded():
    import torch

    from darts_lite.darts.genotypes import random_genotype, validate
    draws = [random_genotype(torch.Generator().manual_seed(s)) for s in range(30)]
    for g in draws:
        validate(g)
        assert all(op != "none" for op, _ in g.normal + g.reduce)
    assert len({g.normal for g in draws}) == 30  # 30 draws from ~10^9 cells: all distinct
    assert random_genotype(torch.Generator().manual_seed(3)) == draws[3]
    ops = {op for g in draws for op, _ in g.normal}
    assert len(ops) >= 6  # every non-none operation shows up
