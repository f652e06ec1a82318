"""`python -m darts_lite`: search, train, evaluate and plot on tiny settings write what they promise."""
import json
import subprocess
import sys

import pytest
import torch

from darts_lite.cli import main
from darts_lite.darts.genotypes import Genotype

TINY = ["--dataset", "digits", "--image-size", "8", "--layers", "3", "--channels", "4", "--nodes", "2",
        "--multiplier", "2", "--epochs", "1", "--batch-size", "128", "--device", "cpu"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "tiny"
    assert main(["search", *TINY, "--name", "tiny", "--out", str(out)]) == 0
    return out


def test_search_writes_the_run_files(run_dir):
    for name in ("genotype.json", "alphas.pt", "metrics.json", "search_checkpoint.pt", "search_config.json"):
        assert (run_dir / name).is_file(), name
    genotype = Genotype.load(run_dir / "genotype.json")
    assert genotype.nodes == 2
    saved = torch.load(run_dir / "alphas.pt", weights_only=False)
    assert saved["alphas"]["normal"].shape == (5, 8)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert len(metrics["search"]["history"]) == 1
    figures = {p.name for p in (run_dir / "figures").glob("*.png")}
    assert {"cell_normal.png", "cell_reduce.png", "alphas_normal.png", "trajectory_normal.png",
            "curves_search.png"} <= figures


def test_train_evaluate_and_plot_on_the_search_run(run_dir, capsys):
    assert main(["train", "--genotype", str(run_dir / "genotype.json"), "--layers", "3", "--channels", "4",
                 "--epochs", "1", "--batch-size", "128", "--device", "cpu"]) == 0
    trained = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.0 <= trained["test"]["acc"] <= 1.0
    assert main(["evaluate", str(run_dir)]) == 0
    evaluated = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert evaluated["test"]["acc"] == pytest.approx(trained["test"]["acc"])
    assert main(["plot", str(run_dir)]) == 0
    assert (run_dir / "figures" / "curves_train.png").is_file()


@pytest.mark.parametrize("args,message", [
    (["search", "--layers", "2"], "--layers must be a number >= 3"),
    (["search", "--channels", "0"], "--channels must be a number >= 1"),
    (["search", "--arch-lr", "-1"], r"--arch-lr must be a number >= 0, got -1.0"),
    (["search", "--w-momentum", "2"], r"--w-momentum must be a number >= 0 and <= 1, got 2.0"),
    (["search", "--device", "tpu"], "unknown device 'tpu'"),
    (["search", "--dataset", "imagenet"], "imagenet"),
    (["train", "--genotype", "missing/genotype.json"], "missing/genotype.json does not exist"),
    (["plot", "nowhere"], "nowhere has no genotype.json"),
])
def test_bad_input_exits_2_with_a_message(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_config_file_sets_fields_and_flags_win(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"search": {"layers": 2}}))
    assert main(["search", "--config", str(config), "--out", str(tmp_path / "x")]) == 2
    assert "layers" in capsys.readouterr().err
    config.write_text(json.dumps({"search": {"lyers": 3}}))
    assert main(["search", "--config", str(config), "--out", str(tmp_path / "x")]) == 2
    assert "unknown SearchConfig key(s) ['lyers']" in capsys.readouterr().err


def test_module_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "darts_lite", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for command in ("search", "train", "evaluate", "plot", "demo", "dag-search"):
        assert command in out


def test_dag_search_writes_the_best_block_and_both_trainings(tmp_path, capsys):
    out = tmp_path / "dag"
    args = ["dag-search", "--image-size", "8", "--layers", "3", "--blocks", "2", "--width", "8", "--rounds", "2",
            "--weight-steps", "3", "--arch-steps", "1", "--train-epochs", "1", "--device", "cpu", "--out", str(out)]
    assert main(args) == 0
    result = json.loads((out / "dag_result.json").read_text())
    assert result["best"]["n"] == 3 and len(result["history"]) == 2
    weights = torch.softmax(torch.tensor(result["alphas"]), 0)  # the decision over the k blocks, by hand
    assert result["decision"]["kept_weight"] == pytest.approx(float(weights.max()))
    assert result["decision"]["margin"] == pytest.approx(float(weights.max() - weights.min()))  # k = 2
    assert result["best_block"]["params"] >= result["plain_dense"]["params"]  # the chain has the fewest edges
    assert (out / "figures" / "best_block.png").exists()
    assert main(["dag-search", "--sampling", "evolve", "--out", str(tmp_path / "bad")]) == 2
    assert "sampling" in capsys.readouterr().err


def test_schedule_option_applies_the_schedule_and_explicit_options_win(tmp_path):
    from darts_lite.cli import build_parser
    from darts_lite.cli.options import config_from as _config
    from darts_lite.darts.config import SCHEDULES, SearchConfig
    args = build_parser().parse_args(["search", "--schedule", "decisive", "--epochs", "10", "--tau-min", "0.5"])
    config = _config(SearchConfig, args)
    assert config.sampling == SCHEDULES["decisive"]["sampling"] and not config.fast
    assert config.warmup_epochs == 3 and config.epochs == 10   # 30% of the epochs given
    assert config.tau_min == 0.5                                # given explicitly: wins over the schedule
    paper = _config(SearchConfig, build_parser().parse_args(["search", "--schedule", "paper"]))
    assert (paper.sampling, paper.arch_lr, paper.warmup_epochs) == ("softmax", 3e-4, 0)


CONFIGS = ["darts_lite.darts.config:SearchConfig", "darts_lite.core.training:TrainConfig",
           "darts_lite.dag_blocks.config:DAGSearchConfig", "darts_lite.meta_kernels.config:KernelSearchConfig",
           "darts_lite.hands.config:ExperimentConfig", "darts_lite.ground_truth.build:BenchConfig"]


@pytest.mark.parametrize("spec", CONFIGS, ids=lambda s: s.split(":")[1])
def test_every_config_field_says_what_it_is(spec):
    import dataclasses
    import importlib

    from darts_lite.core.config import field_help
    module, name = spec.split(":")
    cls = getattr(importlib.import_module(module), name)
    described = field_help(cls)
    vague = [f.name for f in dataclasses.fields(cls) if len(described.get(f.name, "").split()) < 3]
    assert not vague, f"{name} fields without a one-line description (a comment ending the line): {vague}"


@pytest.mark.parametrize("command", ["search", "train", "dag-search", "bench"])
def test_help_gives_every_option_its_description(command, capsys):
    from darts_lite.core.config import field_help
    from darts_lite.core.training import TrainConfig
    from darts_lite.dag_blocks.config import DAGSearchConfig
    from darts_lite.darts.config import SearchConfig
    from darts_lite.ground_truth.build import BenchConfig
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    cls = {"search": SearchConfig, "train": TrainConfig, "dag-search": DAGSearchConfig, "bench": BenchConfig}[command]
    for field, description in field_help(cls).items():
        assert f"--{field.replace('_', '-')}" in text and " ".join(description.split()) in text, field


def test_top_level_help_lists_every_command_with_one_line(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    lines = capsys.readouterr().out.splitlines()
    for command in ("search", "train", "evaluate", "plot", "demo", "dag-search", "run", "bench", "score", "null"):
        at = next(i for i, line in enumerate(lines) if line.split()[:1] == [command])
        said = " ".join(lines[at].split()[1:] or lines[at + 1].split())  # argparse puts a long name's help below
        assert len(said.split()) >= 4, (command, said)


@pytest.mark.slow
def test_demo_shows_one_progress_bar_per_phase_and_says_where_everything_is(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--fast", "--name", "d", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    bars = {frame.split(":")[0].strip() for frame in captured.err.replace("\r", "\n").splitlines()
            if "step" in frame and "%|" in frame}
    assert bars == {"search d", "train"}, bars
    last = captured.out.strip().splitlines()[-2:]
    assert last[0].startswith("results: runs/d/metrics.json") and last[1].startswith("figures: runs/d/figures/")
    named = last[1].split("PNG files: ")[1].rstrip(")").split(", ")
    assert named and all((tmp_path / "runs" / "d" / "figures" / name).is_file() for name in named)


def test_bench_score_and_null_on_a_tiny_table(tmp_path, capsys):
    table = tmp_path / "t.csv"
    assert main(["bench", "--image-size", "8", "--layers", "3", "--epochs", "1", "--limit", "4", "--workers", "1",
                 "--out", str(table)]) == 0
    assert "noise ceiling" in capsys.readouterr().out and table.with_suffix(".json").is_file()
    nulls = tmp_path / "nulls.csv"
    assert main(["score", "--table", str(table), "--methods", "params,naswot", "--seeds", "0,1", "--budget", "1",
                 "--nulls", str(nulls)]) == 0
    out = capsys.readouterr().out
    assert "params" in out and "naswot" in out and "top %" in out
    study = json.loads(table.with_suffix(".study.json").read_text())
    assert [len(study["methods"][m]["runs"]) for m in ("params", "naswot")] == [2, 2]
    assert not nulls.exists()  # neither method has a supernet: no null to measure
    assert main(["null", "--image-size", "8", "--layers", "3", "--channels", "4", "--epochs", "1", "--seeds", "0",
                 "--device", "cpu", "--nulls", str(nulls)]) == 0
    assert "kept weight normal" in capsys.readouterr().out and len(nulls.read_text().splitlines()) == 2
