"""Tests for darts_lite.darts.search_space_figure: Fig. 1 of the DARTS paper (mixed cell, supernet, derived cell)."""
import io

import matplotlib

matplotlib.use("Agg")  # before any pyplot import, so no test needs a display

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from darts_lite.darts import search_space_figure
from darts_lite.darts.genotypes import DARTS_V2, num_edges, parse_cell, random_genotype
from darts_lite.darts.ops import PRIMITIVES
from darts_lite.darts.supernet import SearchNetwork


def _mixed_curves(fig) -> dict[tuple[int, str], float]:
    """(edge, op) -> line width of every mixed-edge curve of panel (a)."""
    out = {}
    for line in fig.axes[0].lines:
        if (line.get_gid() or "").startswith("mixed_edge:"):
            _, e, op = line.get_gid().split(":")
            out[int(e), op] = line.get_linewidth()
    return out


def _derived_ops(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[2].texts if t.get_gid() == "derived_op"]


def test_three_panels_at_the_asked_size_and_exported():
    fig = search_space_figure()
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    assert tuple(fig.get_size_inches()) == (14, 4.5)
    assert [ax.get_title()[:3] for ax in fig.axes] == ["(a)", "(b)", "(c)"]


@pytest.mark.parametrize("nodes", [4, 2])
def test_every_edge_has_one_curve_per_operation(nodes):
    curves = _mixed_curves(search_space_figure(nodes=nodes))
    assert len(curves) == num_edges(nodes) * len(PRIMITIVES)
    assert set(curves) == {(e, op) for e in range(num_edges(nodes)) for op in PRIMITIVES}
    assert len(set(curves.values())) == 1  # no alphas: uniform weights, equal widths


@pytest.mark.parametrize("kind", ["tensor", "numpy", "supernet dict"])
def test_the_dominant_operation_is_the_widest_curve_of_its_edge(kind):
    edges = num_edges(4)
    alphas = torch.zeros(edges, len(PRIMITIVES))
    winner = [e % len(PRIMITIVES) for e in range(edges)]
    alphas[range(edges), winner] = 4.0
    given = {"tensor": alphas, "numpy": alphas.numpy(),
             "supernet dict": {"normal": alphas, "reduce": torch.zeros_like(alphas)}}[kind]
    curves = _mixed_curves(search_space_figure(alphas=given))
    for e in range(edges):
        widest = max(PRIMITIVES, key=lambda op: curves[e, op])
        assert widest == PRIMITIVES[winner[e]]
        assert curves[e, widest] > 2 * max(curves[e, op] for op in PRIMITIVES if op != widest)


@pytest.mark.parametrize("layers", [8, 5])
def test_the_supernet_panel_places_reductions_where_the_supernet_does(layers):
    net = SearchNetwork(C=2, layers=layers, nodes=1, multiplier=1)
    expected = [k for k, cell in enumerate(net.cells) if cell.reduction]
    ax = search_space_figure(layers=layers).axes[1]
    labelled = {t.get_gid(): t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("cell:")}
    assert len(labelled) == layers
    assert sorted(int(g.split(":")[1]) for g, text in labelled.items() if text == "reduction") == expected
    assert sum(text == "normal" for text in labelled.values()) == layers - len(expected)


def test_the_derived_cell_defaults_to_darts_v2():
    ops = _derived_ops(search_space_figure())
    assert ops == [op for op, _ in DARTS_V2.normal]
    assert len(ops) == 2 * 4


def test_the_derived_cell_is_the_genotype_given_or_the_one_alphas_derive():
    genotype = random_genotype(torch.Generator().manual_seed(3), nodes=2)
    assert _derived_ops(search_space_figure(genotype=genotype, nodes=2)) == [op for op, _ in genotype.normal]
    alphas = torch.randn(num_edges(4), len(PRIMITIVES), generator=torch.Generator().manual_seed(0))
    ops = _derived_ops(search_space_figure(alphas=alphas))
    assert len(ops) == 2 * 4
    assert ops == [op for op, _ in parse_cell(alphas)]
    # without a genotype or alphas, another node count gets a fixed illustrative cell
    assert len(_derived_ops(search_space_figure(nodes=3))) == 2 * 3


def test_bad_shapes_are_refused_with_the_expected_shape():
    with pytest.raises(ValueError, match=r"expected \(14, 8\)"):
        search_space_figure(alphas=torch.zeros(9, 8))
    with pytest.raises(ValueError, match=r"expected \(5, 8\)"):
        search_space_figure(alphas=np.zeros((5, 7)), nodes=2)
    with pytest.raises(ValueError, match="nodes"):
        search_space_figure(genotype=DARTS_V2, nodes=2)


def test_the_figure_is_deterministic():
    def png():
        buf = io.BytesIO()
        search_space_figure(nodes=3, layers=5).savefig(buf, format="png", dpi=30)
        return buf.getvalue()
    assert png() == png()
