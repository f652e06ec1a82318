"""Tests for darts_lite.dag_blocks.search: the alternating search, sampling with feedback, resume, training a block."""
import pytest
import torch

from darts_lite.core.config import ConfigError
from darts_lite.core.runs import load_data
from darts_lite.dag_blocks.config import DAGSearchConfig
from darts_lite.dag_blocks.dag import DAG
from darts_lite.dag_blocks.search import block_accuracies, search_dags, train_dag
from darts_lite.data import as_grayscale

TINY = dict(image_size=8, layers=3, blocks=3, width=16, rounds=3, weight_steps=4, arch_steps=2,
            weight_batch=32, arch_batch=32, device="cpu")


@pytest.fixture(scope="module")
def data():
    return load_data(DAGSearchConfig(**TINY))


def test_search_records_every_round_and_returns_its_best_block(data, tmp_path):
    result = search_dags(DAGSearchConfig(**TINY), data, run_dir=tmp_path, progress=False)
    assert len(result.history) == 3
    assert all(len(row["alphas"]) == 3 and len(row["block_val_acc"]) == 3 for row in result.history)
    assert result.best in result.dags
    assert result.best == result.dags[max(range(3), key=result.alphas.__getitem__)]
    assert all(d.is_valid() for d in result.dags)
    assert (tmp_path / "dag_checkpoint.pt").exists() and (tmp_path / "dag_config.json").exists()
    assert result.edge_probs.shape == (3, 3)


def test_fixed_sampling_keeps_the_blocks_and_feedback_moves_the_sampler(data, tmp_path):
    fixed = search_dags(DAGSearchConfig(**TINY, sampling="fixed"), data, run_dir=tmp_path / "f", progress=False)
    assert all(row["dags"] == fixed.history[0]["dags"] for row in fixed.history)
    assert torch.all(fixed.edge_probs[fixed.edge_probs > 0] == 0.5)
    cfg = DAGSearchConfig(**{**TINY, "layers": 4, "blocks": 4})
    fed = search_dags(cfg, load_data(cfg), run_dir=tmp_path / "fb", progress=False)
    assert not torch.all(fed.edge_probs[fed.edge_probs > 0] == 0.5)


def test_given_dags_stay_with_fixed_sampling(data, tmp_path):
    given = [DAG.chain(3), DAG(3, [(0, 1), (1, 2), (0, 2)]), DAG.chain(3)]
    result = search_dags(DAGSearchConfig(**TINY, sampling="fixed"), data, run_dir=tmp_path, progress=False, dags=given)
    assert result.dags == given
    with pytest.raises(ConfigError, match="dags must be 3 DAGs of 3 layers"):
        search_dags(DAGSearchConfig(**TINY), data, run_dir=tmp_path, progress=False, dags=given[:2])


def test_elite_block_survives_resampling(data, tmp_path):
    cfg = DAGSearchConfig(**{**TINY, "layers": 4, "blocks": 4, "sampling": "random", "elite": 1})
    result = search_dags(cfg, load_data(cfg), run_dir=tmp_path, progress=False)
    for before, after in zip(result.history, result.history[1:]):
        best = max(range(4), key=before["alphas"].__getitem__)
        assert after["dags"][best] == before["dags"][best]


def test_interrupted_search_resumes_to_the_same_result(data, tmp_path):
    cfg = DAGSearchConfig(**TINY)
    full = search_dags(cfg, data, run_dir=tmp_path / "full", progress=False)

    def stop_in_round_two(info):
        if info["epoch"] == 1 and info["step"] == 3:
            info["stop"]()

    with pytest.raises(KeyboardInterrupt, match="resume=True"):
        search_dags(cfg, data, run_dir=tmp_path / "cut", progress=False, callback=stop_in_round_two)
    resumed = search_dags(cfg, data, run_dir=tmp_path / "cut", resume=True, progress=False)
    assert resumed.dags == full.dags
    torch.testing.assert_close(torch.tensor(resumed.alphas), torch.tensor(full.alphas))
    torch.testing.assert_close(resumed.model.weight, full.model.weight)


def test_same_seed_same_search(data, tmp_path):
    a = search_dags(DAGSearchConfig(**TINY), data, run_dir=tmp_path / "a", progress=False)
    b = search_dags(DAGSearchConfig(**TINY), data, run_dir=tmp_path / "b", progress=False)
    assert a.alphas == b.alphas and a.dags == b.dags


def test_block_accuracies_match_one_hot_mixtures(data, tmp_path):
    result = search_dags(DAGSearchConfig(**{**TINY, "rounds": 1}), data, run_dir=tmp_path, progress=False)
    model, val = result.model, data.search_val
    accs = block_accuracies(model, val)
    for b in range(3):
        one_hot = torch.zeros(3)
        one_hot[b] = 1
        with torch.no_grad():
            acc = (model(val.X, weights=one_hot).argmax(1) == val.y).float().mean().item()
        assert accs[b] == pytest.approx(acc)


def test_train_dag_learns_and_counts_parameters(data):
    out = train_dag(DAG.chain(3), data, width=16, epochs=8, lr=3e-3, device="cpu")
    assert out["test_acc"] > 0.5  # 10 classes: chance is 0.1
    assert out["params"] == 64 * 16 + 16 + 2 * 16 * 16 + 3 * 16 + 16 * 10 + 10
    assert out["depth"] == 2 and out["edges"] == 2


def test_bad_settings_fail_with_the_field_name(data, tmp_path):
    with pytest.raises(ConfigError, match="sampling"):
        DAGSearchConfig(sampling="evolve")
    with pytest.raises(ConfigError, match="elite"):
        DAGSearchConfig(blocks=2, elite=2)
    with pytest.raises(ConfigError, match="weight_batch"):
        search_dags(DAGSearchConfig(**{**TINY, "weight_batch": 10_000}), data, run_dir=tmp_path, progress=False)


def test_grayscale_keeps_labels_and_averages_channels():
    from darts_lite.data import DataSplits, Split
    X = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2)
    s = Split(X, torch.tensor([0, 1]))
    d = DataSplits("x", s, s, s, 2, 3, 2, ["a", "b"], [0.0] * 3, [1.0] * 3)
    g = as_grayscale(d)
    assert g.in_channels == 1 and g.search_train.X.shape == (2, 1, 2, 2)
    torch.testing.assert_close(g.test.X[:, 0], X.mean(1))
