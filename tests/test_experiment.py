"""Tests for darts_lite.experiment: one config runs the comparison; an interrupted run resumes to the same rows."""
import json

import pytest

from darts_lite.cli import main
from darts_lite.config import ConfigError, KernelSearchConfig, SearchConfig, TrainConfig
from darts_lite.experiment import ExperimentConfig, load_config, load_split, run_experiment

SEARCH = SearchConfig(layers=3, channels=4, nodes=2, multiplier=2, epochs=1, batch_size=128, device="cpu")
TRAIN = TrainConfig(layers=3, channels=4, epochs=2, batch_size=128, device="cpu")
EXP = ExperimentConfig(name="t", dataset="digits", image_size=8, splits=1, baselines=("resnet18", "random"),
                       random_genotypes=1)


def test_interrupted_run_resumes_to_the_same_rows(tmp_path):
    full = run_experiment(EXP, SEARCH, TRAIN, run_dir=tmp_path / "full", progress=False)
    calls = {"n": 0}

    def stop_during_a_training(info):
        calls["n"] += 1
        if calls["n"] == 25:  # past the 1-epoch search (12 steps), inside the first training
            info["stop"]()

    with pytest.raises(KeyboardInterrupt):
        run_experiment(EXP, SEARCH, TRAIN, run_dir=tmp_path / "cut", progress=False, callback=stop_during_a_training)
    resumed = run_experiment(EXP, SEARCH, TRAIN, run_dir=tmp_path / "cut", progress=False)
    keys = ("split", "model", "acc", "balanced_acc", "confusion", "params", "macs")
    assert [{k: r[k] for k in keys} for r in resumed["rows"]] == [{k: r[k] for k in keys} for r in full["rows"]]
    assert [r["model"] for r in full["rows"]] == ["darts", "resnet18", "random0"]
    table = {line["model"]: line for line in full["table"]}
    assert set(table) == {"darts", "resnet18", "random genotype"}
    assert table["darts"]["search_hours"] > 0 and table["resnet18"]["search_hours"] == 0
    assert all(line["latency_cpu_ms"] > 0 for line in full["table"])
    md = (tmp_path / "full" / "results.md").read_text()
    assert "| darts |" in md and "balanced acc." in md
    assert (tmp_path / "full" / "results.csv").read_text().count("\n") == 4
    with pytest.raises(ConfigError, match="another config.*train.epochs"):  # rows of two configs never mix
        run_experiment(EXP, SEARCH, TRAIN.replace(epochs=3), run_dir=tmp_path / "full", progress=False)


def test_per_aspect_results_on_hands(tmp_path, hands11k_root):
    if hands11k_root is None:
        pytest.skip("11K Hands not available")
    exp = ExperimentConfig(name="h", image_size=8, splits=1, baselines=())
    out = run_experiment(exp, SEARCH, TRAIN.replace(epochs=1), run_dir=tmp_path, progress=False)
    row = out["rows"][0]
    assert set(row["acc_per_aspect"]) == {"dorsal", "palmar"}
    test_records = load_split(exp, 0).records["test"]
    dorsal = sum(r.aspect == "dorsal" for r in test_records)
    assert 0 < dorsal < len(test_records) == sum(map(sum, row["confusion"]))
    assert sum(map(sum, row["confusion"])) > 0 and 0 <= row["balanced_acc"] <= 1


def test_config_file_and_cli(tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"experiment": {**EXP.to_dict(), "baselines": []}, "search": SEARCH.to_dict(),
                                "train": TRAIN.replace(epochs=1).to_dict()}))
    exp, s, t, k = load_config(path)
    assert exp.dataset == "digits" and s.layers == 3 and t.epochs == 1 and k == KernelSearchConfig()
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    assert "| darts |" in capsys.readouterr().out
    path.write_text(json.dumps({"experimnt": {}}))
    assert main(["run", str(path)]) == 2
    assert "unknown section" in capsys.readouterr().err


def test_bad_experiment_settings():
    with pytest.raises(ConfigError, match="aspect"):
        ExperimentConfig(aspect="side")
    with pytest.raises(ConfigError, match="unknown baselines"):
        ExperimentConfig(baselines=("lenet",))
    with pytest.raises(ConfigError, match="searches"):
        ExperimentConfig(searches=("enas",))


def test_kernel_search_under_a_macs_budget(tmp_path):
    """The meta-kernel search runs inside the application; its derived network meets the MACs budget."""
    exp = EXP.replace(searches=("kernel",), baselines=())
    kernel = KernelSearchConfig(widths=(8, 8), strides=(1, 2), stem_channels=4, stem_kernel=3, epochs=1,
                                batch_size=128, device="cpu")
    from darts_lite.data import load_dataset
    from darts_lite.kernel_search import build_kernel_net
    from darts_lite.latency import count_macs
    data = load_dataset("digits", image_size=8, seed=0)
    shape = (1, data.in_channels, 8, 8)
    smallest = count_macs(build_kernel_net(kernel, data, (3, 3)), shape)
    largest = count_macs(build_kernel_net(kernel, data, (7, 7)), shape)
    budget = (smallest + largest) / 2
    out = run_experiment(exp, SEARCH, TRAIN.replace(epochs=1), kernel.replace(macs_budget=budget),
                         run_dir=tmp_path, progress=False)
    row = out["rows"][0]
    assert row["model"] == "kernel" and row["search_seconds"] > 0
    assert row["macs"] <= budget and row["macs"] == count_macs(build_kernel_net(kernel, data, row["kernels"]), shape)
    assert (tmp_path / "cost_table.json").exists()
    assert [line["model"] for line in out["table"]] == ["kernel"]
