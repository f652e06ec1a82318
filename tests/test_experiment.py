"""Tests for hands.experiment: one config runs the comparison; an interrupted run resumes to the same rows."""
import json
import warnings

import pytest

from darts_lite.cli import main
from darts_lite.core.config import ConfigError
from darts_lite.core.training import TrainConfig
from darts_lite.darts.config import SearchConfig
from darts_lite.hands.config import ExperimentConfig, load_config
from darts_lite.hands.experiment import load_split, run_experiment
from darts_lite.meta_kernels.config import KernelSearchConfig

SEARCH = SearchConfig(layers=3, channels=4, nodes=2, multiplier=2, epochs=1, batch_size=128, device="cpu")
TRAIN = TrainConfig(layers=3, channels=4, epochs=2, batch_size=128, device="cpu")
EXP = ExperimentConfig(name="t", dataset="digits", image_size=8, splits=1,
                       baselines=("mobilenet_v3_small", "random"), random_genotypes=1)


def test_interrupted_run_resumes_to_the_same_rows(tmp_path):
    # in this process, as a callback requires: the same threads in all three runs (their count moves the last bits)
    full = run_experiment(EXP, SEARCH, TRAIN, run_dir=tmp_path / "full", progress=False, workers=1)
    calls = {"n": 0}

    def stop_during_a_training(info):
        calls["n"] += 1
        if calls["n"] == 25:  # past the 1-epoch search (12 steps), inside the first training
            info["stop"]()

    with pytest.raises(KeyboardInterrupt):
        run_experiment(EXP, SEARCH, TRAIN, run_dir=tmp_path / "cut", progress=False, callback=stop_during_a_training)
    resumed = run_experiment(EXP, SEARCH, TRAIN, run_dir=tmp_path / "cut", progress=False, workers=1)
    keys = ("split", "model", "acc", "balanced_acc", "confusion", "params", "macs")
    assert [{k: r[k] for k in keys} for r in resumed["rows"]] == [{k: r[k] for k in keys} for r in full["rows"]]
    assert [r["model"] for r in full["rows"]] == ["darts", "mobilenet_v3_small", "random0"]
    table = {line["model"]: line for line in full["table"]}
    assert set(table) == {"darts", "mobilenet_v3_small", "random genotype"}
    assert table["darts"]["search_hours"] > 0 and table["mobilenet_v3_small"]["search_hours"] == 0
    assert all(line["latency_cpu_ms"] > 0 for line in full["table"])
    md = (tmp_path / "full" / "results.md").read_text()
    assert "| darts |" in md and "balanced acc." in md
    assert (tmp_path / "full" / "results.csv").read_text().count("\n") == 4
    with pytest.raises(ConfigError, match="another config.*train.epochs"):  # rows of two configs never mix
        run_experiment(EXP, SEARCH, TRAIN.replace(epochs=3), run_dir=tmp_path / "full", progress=False)


def test_splits_in_parallel_processes_give_the_rows_of_one_thread_in_sequence(tmp_path, one_thread):
    exp = EXP.replace(splits=2, baselines=("random",))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parallel = run_experiment(exp, SEARCH, TRAIN.replace(epochs=1), run_dir=tmp_path / "parallel",
                                  progress=False, workers=2)
    # what the workers warned is warned here too (each split's undecided 1-epoch search)
    said = " ".join(str(w.message) for w in caught)
    assert "t_split0" in said and "t_split1" in said
    with one_thread():  # what each worker runs on
        sequence = run_experiment(exp, SEARCH, TRAIN.replace(epochs=1), run_dir=tmp_path / "sequence",
                                  progress=False, workers=1)
    keys = ("split", "model", "genotype", "acc", "confusion", "params")
    assert [[r[k] for k in keys] for r in parallel["rows"]] == [[r[k] for k in keys] for r in sequence["rows"]]
    assert [(r["split"], r["model"]) for r in parallel["rows"]] == [(0, "darts"), (0, "random0"),
                                                                   (1, "darts"), (1, "random0")]
    # a finished run has nothing left to do: it returns the same rows without starting a worker
    again = run_experiment(exp, SEARCH, TRAIN.replace(epochs=1), run_dir=tmp_path / "parallel", progress=False)
    assert again["rows"] == parallel["rows"]


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
    from darts_lite.core.cost import count_macs
    from darts_lite.data import load_dataset
    from darts_lite.meta_kernels.search import build_kernel_net
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


def _candidates(path):
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in lines if "k" in r], [r for r in lines if "final" in r]


def test_random_search_at_the_darts_budget(tmp_path):
    """Random search (Li & Talwalkar, 2019) spends the DARTS search's seconds, keeps its best search-val candidate."""
    from darts_lite.darts.genotypes import Genotype
    exp = EXP.replace(baselines=("random_search",))
    out = run_experiment(exp, SEARCH, TRAIN.replace(epochs=1), run_dir=tmp_path, progress=False)
    darts, row = out["rows"]
    assert (darts["model"], row["model"]) == ("darts", "random_search")
    assert [line["model"] for line in out["table"]] == ["darts", "random search"]
    records, final = _candidates(tmp_path / "split0" / "random_search" / "candidates.jsonl")
    n = row["candidates"]
    assert n >= 2 and [r["k"] for r in records] == list(range(n)) and final[0]["candidates"] == n
    # (a) the chosen genotype is the first candidate with the best search-val accuracy
    best = max(records, key=lambda r: (r["val_acc"], -r["k"]))
    chosen = Genotype.load(tmp_path / "split0" / "random_search" / "genotype.json")
    assert chosen == Genotype.from_dict(best["genotype"]) and row["genotype"] == str(chosen)
    # (b) the budget: N is the fewest candidates (at least 2) whose seconds reach the DARTS search's
    seconds, budget = [r["seconds"] for r in records], darts["search_seconds"]
    assert sum(seconds) >= budget or n == 2
    assert n == 2 or sum(seconds[:-1]) < budget
    assert row["search_seconds"] == pytest.approx(sum(seconds))


def test_random_search_resumes_to_the_same_choice(tmp_path):
    """An interrupted random search, run again, records the same candidates and chooses the same genotype."""
    from darts_lite.darts.random_search import random_search
    from darts_lite.data import load_dataset
    data = load_dataset("digits", image_size=8, seed=0)
    kwargs = dict(budget_seconds=None, candidate_epochs=1, progress=False, candidates=3)  # N fixed: no timing noise
    full = random_search(SEARCH, TRAIN, data, run_dir=tmp_path / "full", **kwargs)
    calls = {"n": 0}

    def stop_in_the_second_candidate(info):
        calls["n"] += 1
        if calls["n"] == 7:  # 5 steps per candidate epoch (719 images, batches of 128)
            info["stop"]()

    with pytest.raises(KeyboardInterrupt):
        random_search(SEARCH, TRAIN, data, run_dir=tmp_path / "cut", callback=stop_in_the_second_candidate, **kwargs)
    assert [r["k"] for r in _candidates(tmp_path / "cut" / "candidates.jsonl")[0]] == [0]
    resumed = random_search(SEARCH, TRAIN, data, run_dir=tmp_path / "cut", **kwargs)
    keys = ("k", "genotype", "val_acc")
    assert [{k: r[k] for k in keys} for r in resumed.candidates] == [{k: r[k] for k in keys} for r in full.candidates]
    assert resumed.genotype == full.genotype and resumed.best == full.best and len(full.candidates) == 3
    assert len({json.dumps(r["genotype"]) for r in full.candidates}) == 3  # distinct draws
    assert _candidates(tmp_path / "cut" / "candidates.jsonl")[1][0]["candidates"] == 3


def test_random_search_needs_the_darts_search():
    with pytest.raises(ConfigError, match="needs the 'darts' search.*add 'darts' to ExperimentConfig.searches"):
        ExperimentConfig(searches=("kernel",), baselines=("random_search",))
    with pytest.raises(ConfigError, match="random_search_epochs"):
        ExperimentConfig(baselines=("random_search",), random_search_epochs=0)


def test_a_run_of_an_older_version_resumes(tmp_path):
    """A settings.json written before a field existed (random_search_epochs) still claims its run at the default."""
    from darts_lite.hands.config import RunConfig
    from darts_lite.hands.experiment import claim_run
    run = RunConfig(EXP, SEARCH, TRAIN, KernelSearchConfig())
    claim_run(tmp_path, run)
    old = json.loads((tmp_path / "settings.json").read_text())
    del old["experiment"]["random_search_epochs"]
    (tmp_path / "settings.json").write_text(json.dumps(old))
    claim_run(tmp_path, run)
    with pytest.raises(ConfigError, match="changed: experiment.random_search_epochs"):
        claim_run(tmp_path, run._replace(experiment=EXP.replace(random_search_epochs=2)))
