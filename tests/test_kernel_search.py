"""Tests for darts_lite.meta_kernels.search: the search runs, respects budgets, resumes exactly."""
import pytest
import torch

from darts_lite.core.config import ConfigError
from darts_lite.data import load_dataset
from darts_lite.meta_kernels import cost_table as latency
from darts_lite.meta_kernels.config import KernelSearchConfig
from darts_lite.meta_kernels.search import build_supernet, search_kernels, steps_to_reach

TINY = dict(image_size=8, widths=(4, 6), strides=(1, 2), stem_channels=4, stem_kernel=5, epochs=2, batch_size=64,
            eval_every=3, eval_samples=64, device="cpu")


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits", image_size=8, seed=0)


@pytest.fixture(scope="module")
def table(data):
    cfg = KernelSearchConfig(**TINY)
    return latency.build_cost_table(build_supernet(cfg, data), (1, 1, 8, 8), "cpu", warmup=1, repeats=3,
                                    progress=False)


def test_search_returns_kernels_history_and_curve(data, tmp_path):
    r = search_kernels(KernelSearchConfig(**TINY), data, run_dir=tmp_path, progress=False)
    assert len(r.kernels) == 2 and all(k in (3, 5, 7) for k in r.kernels)
    assert len(r.history) == 2 and r.alphas.shape == (2, 3)
    assert r.curve and all(0 <= acc <= 1 for _, acc in r.curve)
    assert (tmp_path / "kernel_checkpoint.pt").exists()


def test_budget_is_met_by_the_derived_network(data, table, tmp_path):
    budget = table.predict((3, 3))["params"] + 1
    cfg = KernelSearchConfig(**TINY, params_budget=budget)
    r = search_kernels(cfg, data, table, run_dir=tmp_path, progress=False)
    assert table.predict(r.kernels)["params"] <= budget
    assert "expected" in r.history[-1]


def test_latency_weight_pushes_expected_latency_down(data, table, tmp_path):
    one_epoch = KernelSearchConfig(**{**TINY, "epochs": 1})
    base = search_kernels(one_epoch, data, table, run_dir=tmp_path / "a", progress=False)
    cfg = KernelSearchConfig(**{**TINY, "epochs": 1}, latency_weight=10.0 / max(map(max, table.costs["latency_us"])))
    heavy = search_kernels(cfg, data, table, run_dir=tmp_path / "b", progress=False)
    e = lambda r: table.expected(r.alphas)["latency_us"].item()  # noqa: E731
    assert e(heavy) < e(base)


def _replica_kernels(run_dir):
    """The meta-kernels of each copy, from the search's checkpoint: {copy index: {name: tensor}}."""
    saved = torch.load(run_dir / "kernel_checkpoint.pt", weights_only=False)["replicas"]
    copies = {}
    for name, tensor in saved.items():
        if ".kernels." in name:
            index, _, rest = name.partition(".")
            copies.setdefault(int(index), {})[rest] = tensor
    return copies


@pytest.mark.parametrize("feedback", [True, False])
def test_feedback_copies_share_kernels_after_a_blend(data, tmp_path, feedback):
    """With a blend every step the copies end with the same meta-kernels; without feedback they do not."""
    cfg = KernelSearchConfig(**{**TINY, "epochs": 1}, replicas=2, feedback=feedback, feedback_period=1)
    r = search_kernels(cfg, data, run_dir=tmp_path, progress=False)
    assert len(r.history[-1]["replica_val_acc"]) == 2
    copies = _replica_kernels(tmp_path)
    assert copies[0] and copies[0].keys() == copies[1].keys()
    same = [torch.equal(copies[0][k], copies[1][k]) for k in copies[0]]
    assert all(same) if feedback else not any(same)


def test_the_copies_do_not_reseed_the_global_rng(data, tmp_path):
    """Each copy draws its initial weights from a seed of its own without moving the run's RNG stream:
    after a search of 1 or 3 copies the global RNG is where the run's seed put it."""
    states = []
    for replicas in (1, 3):
        search_kernels(KernelSearchConfig(**{**TINY, "epochs": 1}, replicas=replicas), data,
                       run_dir=tmp_path / str(replicas), progress=False)
        states.append(torch.get_rng_state())
    assert torch.equal(states[0], states[1])


def test_needs_a_table_for_latency_or_budgets(data, tmp_path):
    with pytest.raises(ConfigError, match="cost table"):
        search_kernels(KernelSearchConfig(**TINY, macs_budget=1e6), data, run_dir=tmp_path, progress=False)


def test_interrupted_search_resumes_to_the_same_alphas(data, tmp_path):
    cfg = KernelSearchConfig(**TINY, replicas=2)
    full = search_kernels(cfg, data, run_dir=tmp_path / "full", progress=False)

    def stop(info):
        if info["epoch"] == 1 and info["step"] == 2:
            info["stop"]()

    with pytest.raises(KeyboardInterrupt):
        search_kernels(cfg, data, run_dir=tmp_path / "cut", progress=False, callback=stop)
    resumed = search_kernels(cfg, data, run_dir=tmp_path / "cut", resume=True, progress=False)
    torch.testing.assert_close(resumed.alphas, full.alphas)
    assert resumed.curve == full.curve


def test_steps_to_reach():
    curve = [(10, 0.3), (20, 0.6), (30, 0.9)]
    assert steps_to_reach(curve, 0.5) == 20 and steps_to_reach(curve, 0.95) is None


def test_config_checks():
    with pytest.raises(ConfigError, match="odd"):
        KernelSearchConfig(kernel_sizes=(3, 4))
    with pytest.raises(ConfigError, match="one entry per layer"):
        KernelSearchConfig(widths=(8, 8), strides=(1,))
    assert KernelSearchConfig(widths=[8, 8], strides=[1, 2]).widths == (8, 8)
    assert KernelSearchConfig(macs_budget=5.0).budgets() == {"macs": 5.0}
