"""Tests for core.runs (the run setup and directory layout) and core.tables (the one table writer)."""
import csv
import json
from pathlib import Path

import pytest
import torch

from darts_lite.core.checkpoint import save_checkpoint
from darts_lite.core.config import ConfigError
from darts_lite.core.loop import checkpoint_dict
from darts_lite.core.runs import append_jsonl, claim, load_data, read_jsonl, resume_or_start, start_run, update_metrics
from darts_lite.core.tables import key_value_table, markdown_table, text_table, write_csv
from darts_lite.core.training import TrainConfig
from darts_lite.dag_blocks.config import DAGSearchConfig
from darts_lite.darts.config import SearchConfig


def test_start_run_seeds_picks_the_default_directory_and_loads_the_config_s_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = SearchConfig(name="r", image_size=8, seed=3, device="cpu")
    data = load_data(config)
    run = start_run(config, "search", data=data)
    after = torch.rand(3)
    torch.manual_seed(3)
    assert torch.equal(after, torch.rand(3))  # seeded with the config's seed, nothing drawn since
    assert run.dir == Path("runs") / "r" and run.data is data and run.device == torch.device("cpu")
    assert run.checkpoint == run.dir / "search_checkpoint.pt" and run.config_path == run.dir / "search_config.json"
    loaded = start_run(config, "search", run_dir=tmp_path / "elsewhere").data
    assert loaded.image_size == 8 and torch.equal(loaded.test.X, data.test.X) and run.dir != tmp_path / "elsewhere"


def test_load_data_averages_colour_where_the_config_asks():
    gray = load_data(DAGSearchConfig(dataset="digits", image_size=8, grayscale=True))
    assert gray.in_channels == 1 and gray.test.X.shape[1] == 1


def test_resume_or_start_restores_or_starts_and_saves_the_config(tmp_path):
    config = TrainConfig(epochs=2, device="cpu")
    run = start_run(SearchConfig(name="x", image_size=8, device="cpu"), "train", run_dir=tmp_path)
    net = torch.nn.Linear(2, 2)
    fresh = {"epoch": 0}
    assert resume_or_start(run, config, {"model": net}, fresh, resume=True) is fresh  # no checkpoint yet
    assert TrainConfig.load(run.config_path) == config
    save_checkpoint(checkpoint_dict({"epoch": 1}, config, {"model": net}), run.checkpoint)
    assert resume_or_start(run, config, {"model": net}, fresh, resume=True) == {"epoch": 1}
    assert resume_or_start(run, config, {"model": net}, fresh, resume=False) is fresh
    with pytest.raises(ValueError, match="differs in"):
        resume_or_start(run, config.replace(epochs=3), {"model": net}, fresh, resume=True)


def test_claim_refuses_other_settings_naming_them_and_fills_new_fields_with_defaults(tmp_path):
    claim(tmp_path, {"a": {"x": 1, "y": (1, 2)}, "n": 2})
    claim(tmp_path, {"a": {"x": 1, "y": [1, 2]}, "n": 2})  # tuples and lists are the same in JSON
    with pytest.raises(ConfigError, match=r"changed: a\.x, n"):
        claim(tmp_path, {"a": {"x": 2, "y": [1, 2]}, "n": 3})
    claim(tmp_path / "old", {"a": {"x": 1}})
    claim(tmp_path / "old", {"a": {"x": 1, "z": 0}}, defaults={"a": {"x": 1, "z": 0}})  # z added since, at default
    with pytest.raises(ConfigError, match=r"a\.z"):
        claim(tmp_path / "old", {"a": {"x": 1, "z": 5}}, defaults={"a": {"x": 1, "z": 0}})


def test_jsonl_and_metrics_round_trip(tmp_path):
    path = tmp_path / "rows.jsonl"
    assert read_jsonl(path) == []
    append_jsonl(path, {"k": 0})
    append_jsonl(path, {"k": 1, "v": [1.5]})
    assert read_jsonl(path) == [{"k": 0}, {"k": 1, "v": [1.5]}]
    update_metrics(tmp_path, search={"s": 1})
    update_metrics(tmp_path, train={"t": 2})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"search": {"s": 1}, "train": {"t": 2}}


ROWS = [{"model": "darts", "acc": 0.8994, "params": 50506, "gpu": None},
        {"model": "resnet18", "acc": 0.85, "params": 11177538, "gpu": 1.25}]
COLUMNS = [("model", "model"), ("accuracy", "acc:.3f"), ("params", "params:,"), ("GPU ms", "gpu:.2f"),
           ("both", lambda r: f"{r['acc']:.1f}/{r['params']}")]


def test_text_table_aligns_formats_and_says_n_a():
    lines = text_table(ROWS, COLUMNS).splitlines()
    assert lines[0].split() == ["model", "accuracy", "params", "GPU", "ms", "both"]
    assert lines[1].split() == ["darts", "0.899", "50,506", "n/a", "0.9/50506"]
    assert len({len(line) for line in lines}) == 1                   # right-aligned to one width
    assert lines[1].index("darts") == 0 and lines[2].endswith("0.8/11177538")


def test_markdown_table_and_csv_keep_every_row(tmp_path):
    md = markdown_table(ROWS, COLUMNS, caption="caption").splitlines()
    assert md[0] == "caption" and md[2] == "| model | accuracy | params | GPU ms | both |"
    assert md[3] == "| --- | ---: | ---: | ---: | ---: |" and md[4].startswith("| darts | 0.899 | 50,506 | n/a |")
    path = write_csv(ROWS, tmp_path / "t.csv")
    with open(path) as f:
        back = list(csv.DictReader(f))
    assert [r["model"] for r in back] == ["darts", "resnet18"] and back[0]["gpu"] == ""
    with pytest.raises(ValueError, match="no rows"):
        write_csv([], tmp_path / "e.csv")


def test_key_value_table_indents_multi_line_values():
    out = key_value_table({"a": 1, "longer key": "x\ny"}).splitlines()
    assert out == ["a          : 1", "longer key : x", "             y"]
