"""Tests for darts_lite.darts.viz: cell drawings (Graphviz and matplotlib), alpha plots, curves and saving."""
import matplotlib

matplotlib.use("Agg")  # before any pyplot import, so no test needs a display

import warnings

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from darts_lite.core import figures
from darts_lite.darts import viz
from darts_lite.darts.genotypes import DARTS_V2, edge_index, node_name, num_edges
from darts_lite.darts.ops import PRIMITIVES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
needs_dot = pytest.mark.skipif(not figures.has_dot(), reason="Graphviz `dot` executable not installed")


@pytest.fixture
def no_dot(monkeypatch):
    """Pretend `dot` is missing, and reset the warn-once flag so each test sees the warning."""
    monkeypatch.setattr(figures, "has_dot", lambda: False)
    monkeypatch.setattr(figures, "_warned_no_dot", False)


def _softmax(shape, seed=0):
    return torch.softmax(torch.randn(*shape, generator=torch.Generator().manual_seed(seed)), dim=-1)


@pytest.mark.parametrize("kind", ["normal", "reduce"])
def test_graphviz_source_has_every_op_and_edge(kind):
    gene, concat = DARTS_V2.cell(kind)
    source = viz.plot_genotype(DARTS_V2, kind).source
    edge_lines = [line for line in source.splitlines() if "->" in line]
    assert len(edge_lines) == len(gene) + len(concat)  # 8 operations + 4 concatenations into c_{k}
    assert sum("label=" in line for line in edge_lines) == len(gene)
    assert sum('-> "c_{k}"' in line for line in edge_lines) == len(concat)
    for op, _ in gene:
        assert f"label={op}" in source
    assert "rankdir=LR" in source


def test_graphviz_rejects_unknown_kind():
    with pytest.raises(ValueError, match="normal"):
        viz.plot_genotype(DARTS_V2, "middle")


@pytest.mark.parametrize("kind", ["normal", "reduce"])
def test_matplotlib_fallback_draws_every_edge(kind):
    gene, concat = DARTS_V2.cell(kind)
    fig = viz.plot_genotype_matplotlib(DARTS_V2, kind)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    assert len(arrows) == len(gene) + len(concat)
    op_labels = sorted(t.get_text() for t in ax.texts if t.get_text() in PRIMITIVES)
    assert op_labels == sorted(op for op, _ in gene)


def test_matplotlib_fallback_draws_into_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert viz.plot_genotype_matplotlib(DARTS_V2, "reduce", ax=ax) is fig


def test_draw_genotype_falls_back_with_one_warning(no_dot):
    with pytest.warns(RuntimeWarning, match="apt-get install graphviz"):
        fig = viz.draw_genotype(DARTS_V2)
    assert isinstance(fig, Figure)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second warning would now raise
        assert isinstance(viz.draw_genotype(DARTS_V2, "reduce"), Figure)


@needs_dot
def test_draw_genotype_uses_graphviz_when_available():
    import graphviz
    assert isinstance(viz.draw_genotype(DARTS_V2), graphviz.Digraph)


def _assert_pngs(paths, tmp_path, stem):
    assert [p.name for p in paths] == [f"{stem}_normal.png", f"{stem}_reduce.png"]
    for p in paths:
        assert p.parent == tmp_path and p.read_bytes().startswith(PNG_MAGIC) and p.stat().st_size > 1000


@needs_dot
def test_save_genotype_with_dot(tmp_path):
    _assert_pngs(viz.save_genotype(DARTS_V2, tmp_path / "darts_v2"), tmp_path, "darts_v2")


def test_save_genotype_with_fallback(tmp_path, no_dot):
    _assert_pngs(viz.save_genotype(DARTS_V2, tmp_path / "cell.png"), tmp_path, "cell")


def test_heatmap_labels_rows_and_accepts_numpy():
    weights = _softmax((num_edges(4), len(PRIMITIVES)))
    fig = viz.plot_alpha_heatmap(weights, title="normal")
    ax = fig.axes[0]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[:3] == ["c_{k-2} -> 0", "c_{k-1} -> 0", "c_{k-2} -> 1"]
    assert rows[-1] == "2 -> 3" and len(rows) == 14
    assert [t.get_text() for t in ax.get_xticklabels()] == list(PRIMITIVES)
    assert f"{weights[0, 0].item():.3f}" in [t.get_text() for t in ax.texts]
    assert isinstance(viz.plot_alpha_heatmap(weights.numpy()), Figure)


@pytest.mark.parametrize("shape", [(13, 8), (14, 7), (14,), (2, 14, 8)])
def test_heatmap_rejects_wrong_shape(shape):
    with pytest.raises(ValueError, match=rf"shape \({shape[0]},.*expected \(edges, ops\).*ops = 8"):
        viz.plot_alpha_heatmap(np.ones(shape))


def test_heatmap_custom_primitives():
    fig = viz.plot_alpha_heatmap(np.full((2, 3), 1 / 3), primitives=["a", "b", "c"])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["c_{k-2} -> 0", "c_{k-1} -> 0"]


def test_trajectories_one_subplot_per_edge():
    traj = [_softmax((num_edges(3), len(PRIMITIVES)), seed=t) for t in range(5)]  # a list of snapshots works
    fig = viz.plot_alpha_trajectories(traj, steps=[0, 10, 20, 30, 40], title="normal")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [f"{node_name(j)} -> {node_name(i)}" for j, i in edge_index(3)]
    assert len(titles) == num_edges(3) == 9
    assert all(len(ax.lines) == len(PRIMITIVES) for ax in fig.axes)
    assert len(fig.legends) == 1
    assert list(fig.axes[0].lines[0].get_xdata()) == [0, 10, 20, 30, 40]


def test_trajectories_validate_shapes():
    with pytest.raises(ValueError, match=r"expected \(T, edges, ops\)"):
        viz.plot_alpha_trajectories(np.ones((14, 8)))
    with pytest.raises(ValueError, match="T = 3"):
        viz.plot_alpha_trajectories(np.ones((3, 14, 8)) / 8, steps=[1, 2])


def test_curves_skip_missing_keys():
    history = [{"epoch": 1, "train_loss": 2.0, "train_acc": 0.4, "lr": 0.1},
               {"epoch": 2, "train_loss": 1.5, "val_loss": 1.7, "train_acc": 0.6, "val_acc": 0.5, "lr": 0.05}]
    fig = viz.plot_curves(history)
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["train_loss", "val_loss"]
    assert list(loss_ax.lines[1].get_xdata()) == [2]  # epoch 1 logged no val_loss
    assert [line.get_label() for line in acc_ax.lines] == ["train_acc", "val_acc"]
    fig = viz.plot_curves(history, keys=["val_loss", "lr", "test_acc"])  # test_acc was never logged
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "lr"]


def test_curves_reject_empty_history_and_unknown_keys():
    with pytest.raises(ValueError, match="empty"):
        viz.plot_curves([])
    with pytest.raises(ValueError, match="train_loss"):
        viz.plot_curves([{"epoch": 1, "train_loss": 1.0}], keys=["nope"])


def test_figures_dir_honours_argument_and_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DARTS_LITE_FIGURES", str(tmp_path / "env"))
    assert figures.figures_dir() == tmp_path / "env" and (tmp_path / "env").is_dir()
    assert figures.figures_dir(tmp_path / "arg") == tmp_path / "arg"


def test_figures_dir_finds_parent_figures(tmp_path, monkeypatch):
    monkeypatch.delenv("DARTS_LITE_FIGURES", raising=False)
    (tmp_path / "figures").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert figures.figures_dir().resolve() == (tmp_path / "figures").resolve()


def test_savefig_writes_into_chosen_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DARTS_LITE_FIGURES", str(tmp_path))
    fig = viz.plot_curves([{"epoch": 1, "train_loss": 1.0}])
    path = figures.savefig(fig, "curves")
    assert path == tmp_path / "curves.png" and path.read_bytes().startswith(PNG_MAGIC)
    assert figures.savefig(fig, "sub/curves.pdf", directory=tmp_path / "other").read_bytes().startswith(b"%PDF")
    with pytest.raises(TypeError, match="matplotlib Figure"):
        figures.savefig("not a figure", "x")


def test_savefig_graphviz_without_dot_explains(tmp_path, no_dot):
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        figures.savefig(viz.plot_genotype(DARTS_V2), "cell", directory=tmp_path)


@needs_dot
def test_savefig_graphviz(tmp_path):
    path = figures.savefig(viz.plot_genotype(DARTS_V2), "cell", directory=tmp_path)
    assert path.read_bytes().startswith(PNG_MAGIC)
