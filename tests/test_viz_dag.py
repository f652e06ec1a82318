"""Tests for darts_lite.dag_blocks.viz: every edge of a block is drawn, with or without Graphviz."""
import pytest
from matplotlib.figure import Figure

from darts_lite.core import figures
from darts_lite.dag_blocks import viz as viz_dag
from darts_lite.dag_blocks.dag import DAG

BLOCK = DAG(5, [(0, 1), (1, 2), (0, 3), (2, 3), (3, 4), (1, 4)])


def test_graphviz_drawing_has_every_layer_and_edge():
    g = viz_dag.plot_dag(BLOCK, title="t")
    src = g.source
    for v in range(5):
        assert f"L{v} [label=\"layer {v}\"" in src
    for i, j in BLOCK.edges:
        assert f"L{i} -> L{j}" in src
    assert "x -> L0" in src and "L4 -> out" in src


@pytest.mark.skipif(not figures.has_dot(), reason="Graphviz `dot` executable not installed")
def test_graphviz_drawing_renders(tmp_path):
    path = figures.savefig(viz_dag.plot_dag(BLOCK), "block", directory=tmp_path)
    assert path.stat().st_size > 1000


def test_matplotlib_fallback_draws_one_arrow_per_edge_plus_input_and_output(monkeypatch, tmp_path):
    monkeypatch.setattr(figures, "has_dot", lambda: False)
    monkeypatch.setattr(figures, "_warned_no_dot", False)
    with pytest.warns(RuntimeWarning, match="apt-get install graphviz"):
        fig = viz_dag.draw_dag(BLOCK)
    assert isinstance(fig, Figure)
    assert len(fig.axes[0].patches) == BLOCK.num_edges + 2
    assert figures.savefig(fig, "fallback", directory=tmp_path).exists()


def test_plot_dags_one_panel_per_block():
    fig = viz_dag.plot_dags([BLOCK, DAG.chain(5)], ["a", "b"], columns=2)
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]
