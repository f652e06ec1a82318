"""The ground truth: the small space and its isomorphism classes, the bank of networks trained as one, the
resumable build (schema, provenance, a killed build continued), the null's shuffle and judgement."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from darts_lite.darts import Network
from darts_lite.darts.config import SearchConfig
from darts_lite.darts.null import append_nulls, judge, lookup_null, null_key, shuffled_labels
from darts_lite.data import load_dataset
from darts_lite.ground_truth.bank import BankNetwork, BankPointwise
from darts_lite.ground_truth.build import BenchConfig, build_table
from darts_lite.ground_truth.study import FIVE_SEED_STUDY
from darts_lite.ground_truth.space import (all_skip_cells, canonical, cell_string, enumerate_cells, genotype_of,
                                           parse_cell_string, unique_cells)
from darts_lite.ground_truth.table import GroundTruth

ROOT = Path(__file__).resolve().parents[1]


# --- the space -------------------------------------------------------------------------------------

def test_isomorphism_on_hand_made_cells():
    a = (("sep_conv_3x3", 0), ("skip_connect", 1), ("max_pool_3x3", 0), ("max_pool_3x3", 1))
    swapped_nodes = (("max_pool_3x3", 0), ("max_pool_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 1))
    swapped_edges = (("skip_connect", 1), ("sep_conv_3x3", 0), ("max_pool_3x3", 1), ("max_pool_3x3", 0))
    assert canonical(a) == canonical(swapped_nodes) == canonical(swapped_edges)
    # node 1 reading node 0 cannot be swapped with it, and which input an op reads matters
    chained = (("sep_conv_3x3", 0), ("skip_connect", 1), ("max_pool_3x3", 0), ("max_pool_3x3", 2))
    other_input = (("sep_conv_3x3", 1), ("skip_connect", 0), ("max_pool_3x3", 0), ("max_pool_3x3", 1))
    assert len({canonical(g) for g in (a, chained, other_input)}) == 3


def test_the_space_counts_243_cells_in_207_classes():
    cells = enumerate_cells()
    assert len(cells) == 9 * 27 == len(set(cells))
    # node 1 on (c_{k-2}, c_{k-1}): the two nodes swap, 9 x 9 cells in 9 * 10 / 2 classes; on node 0: 9 x 18, none
    assert len(unique_cells()) == 9 * 10 // 2 + 9 * 18 == 207
    assert len(all_skip_cells()) == 3  # node 1 on (c_{k-2}, c_{k-1}), (c_{k-2}, node 0) or (c_{k-1}, node 0)


def test_cell_string_round_trip_and_errors():
    for gene in unique_cells()[:20]:
        assert parse_cell_string(cell_string(gene)) == gene
    for bad in ("", "|skip_connect~0|", "|skip_connect~x|skip_connect~1|"):
        with pytest.raises(ValueError, match="cell string"):
            parse_cell_string(bad)


# --- the bank -------------------------------------------------------------------------------------

def _bank_and_networks(K=3, seed=0):
    genotypes = [genotype_of(g) for g in unique_cells()[::70][:K]]
    torch.manual_seed(seed)
    networks = [Network(g, C=4, num_classes=5, layers=3, in_channels=1).double() for g in genotypes]
    bank = BankNetwork.from_networks(networks, C=4, num_classes=5, layers=3, in_channels=1).double()
    return bank, networks


def test_bank_computes_each_network():
    bank, networks = _bank_and_networks()
    X = torch.randn(6, 1, 8, 8, dtype=torch.float64)
    for mode in ("train", "eval"):
        bank.train(mode == "train"), [n.train(mode == "train") for n in networks]
        expected = torch.stack([n(X) for n in networks], dim=1)
        assert torch.allclose(bank(X), expected, atol=1e-12)


def test_a_bank_step_is_each_network_step():
    bank, networks = _bank_and_networks()
    X, y = torch.randn(8, 1, 8, 8, dtype=torch.float64), torch.randint(0, 5, (8,))
    opt = torch.optim.SGD(bank.parameters(), lr=0.1, momentum=0.9, weight_decay=3e-4)
    bank.loss(bank(X), y).backward()
    bank.clip_per_network(0.5)  # small enough to clip every network
    opt.step()
    for k, net in enumerate(networks):
        net_opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=3e-4)
        F.cross_entropy(net(X), y).backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 0.5)
        net_opt.step()
        assert torch.allclose(bank.classifier_weight[k], net.classifier.weight, atol=1e-12)
        c = net.stem[0].out_channels
        assert torch.allclose(bank.stem[0].weight[k * c:(k + 1) * c], net.stem[0].weight, atol=1e-12)
    bank.eval(), [n.eval() for n in networks]
    assert torch.allclose(bank(X), torch.stack([n(X) for n in networks], dim=1), atol=1e-10)


@pytest.mark.parametrize("stride,side", [(1, 6), (2, 7)])
def test_bank_pointwise_is_the_grouped_1x1_convolution(stride, side):
    torch.manual_seed(0)
    ours = BankPointwise(3, 4, 2, stride).double()
    conv = torch.nn.Conv2d(12, 6, 1, stride, 0, groups=3, bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(ours.weight)
    x = torch.randn(5, 12, side, side, dtype=torch.float64, requires_grad=True)
    g = torch.randn_like(conv(x))
    (a,), (b,) = [torch.autograd.grad(layer(x), x, g) for layer in (ours, conv)]
    assert torch.allclose(ours(x), conv(x), atol=1e-12) and torch.allclose(a, b, atol=1e-12)
    (wa,), (wb,) = [torch.autograd.grad(layer(x), layer.weight, g) for layer in (ours, conv)]
    assert torch.allclose(wa, wb, atol=1e-12)


def test_bank_refuses_an_operation_it_has_no_grouped_version_of():
    with pytest.raises(ValueError, match="no grouped version of 'dil_conv_3x3'"):
        BankNetwork([genotype_of((("dil_conv_3x3", 0), ("skip_connect", 1)))], C=4, num_classes=2, layers=3)


# --- the build ------------------------------------------------------------------------------------

TINY = dict(image_size=8, layers=3, channels=4, epochs=1, limit=4, cells_per_step=2, workers=1, seeds=(0, 1))


def test_build_writes_the_schema_and_provenance(tmp_path):
    out = build_table(BenchConfig(**TINY), tmp_path / "t.csv", progress=False)
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["index", "cell", "canonical", "skips", "params", "macs", "acc_seed0", "acc_seed1"]
    assert [int(r["index"]) for r in rows] == [0, 1, 2, 3]
    for r in rows:
        gene = parse_cell_string(r["cell"])
        assert r["canonical"] == canonical(gene) and int(r["skips"]) == sum(op == "skip_connect" for op, _ in gene)
        assert int(r["params"]) > 0 and int(r["macs"]) > 0 and 0 <= float(r["acc_seed0"]) <= 1
    prov = json.loads(out.with_suffix(".json").read_text())
    assert {"space", "data", "recipe", "seeds", "device", "seconds", "code_version", "torch", "date"} <= set(prov)
    assert prov["recipe"]["epochs"] == 1 and prov["seeds"] == [0, 1] and prov["space"]["cells"] == 207
    assert not out.with_suffix(".partial.jsonl").exists()
    table = GroundTruth.load(out)  # what the scoring reads
    assert len(table) == 4 and table.provenance["recipe"]["limit"] == 4


def test_a_cell_trains_the_same_in_any_bank():
    """The math of a network does not depend on its bank: float64 training alone and beside another agree."""
    from darts_lite.core.training import training_images
    from darts_lite.data import iterate_batches
    from darts_lite.ground_truth.build import build_networks, load_bench_data
    config = BenchConfig(**TINY)
    data = load_bench_data(config)

    def train(indices, steps=15):
        bank = BankNetwork.from_networks(build_networks(config, indices, 0, data), C=4, num_classes=10,
                                         layers=3, in_channels=1).double()
        opt = torch.optim.SGD(bank.parameters(), lr=0.05, momentum=0.9, weight_decay=3e-4)
        batches = iterate_batches(training_images(data), 32, generator=torch.Generator().manual_seed(0))
        for _, (X, y) in zip(range(steps), batches):
            opt.zero_grad()
            bank.loss(bank(X.double()), y).backward()
            bank.clip_per_network(5.0)
            opt.step()
        return bank.classifier_weight[0].detach()

    assert torch.allclose(train([0]), train([0, 1]), atol=1e-12)


@pytest.mark.slow
def test_a_killed_build_continues_where_it_stopped(tmp_path):
    out = tmp_path / "t.csv"
    partial = out.with_suffix(".partial.jsonl")
    cmd = [sys.executable, "-m", "darts_lite", "bench", "--image-size", "8", "--layers", "3", "--epochs", "1",
           "--limit", "4", "--cells-per-step", "1", "--workers", "1", "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and (not partial.exists() or len(partial.read_text().splitlines()) < 3):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = [json.loads(line) for line in partial.read_text().splitlines() if line.strip()]
    assert 3 <= len(before) < 8 and not out.exists()
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"resuming: {len(before)} of 8 trainings done" in done.stderr + done.stdout
    table = GroundTruth.load(out)
    assert len(table) == 4
    for r in before:  # kept, not trained again
        assert abs(table.accuracies[r["cell"], table.seeds.index(r["seed"])] - r["accuracy"]) < 1e-6
    whole = tmp_path / "whole.csv"  # the same build, never interrupted
    assert subprocess.run(cmd[:-1] + [str(whole)], cwd=tmp_path, capture_output=True, timeout=300).returncode == 0
    assert (table.accuracies == GroundTruth.load(whole).accuracies).all()


def test_bench_config_refuses_bad_values():
    with pytest.raises(ValueError, match="at least 2 different seeds"):
        BenchConfig(seeds=(0,))
    with pytest.raises(ValueError, match="channels must be even"):
        BenchConfig(channels=5)
    with pytest.raises(ValueError, match="unknown operation"):
        BenchConfig(primitives=("skip_connect", "conv_9x9"))


# --- the null -------------------------------------------------------------------------------------

def test_shuffled_labels_permute_within_the_search_splits_only():
    data = load_dataset("digits", image_size=8)
    null = shuffled_labels(data, seed=3)
    for name in ("search_train", "search_val"):
        before, after = getattr(data, name), getattr(null, name)
        assert torch.equal(before.X, after.X)
        assert torch.equal(before.y.sort().values, after.y.sort().values)  # same labels, other images
        assert (before.y != after.y).float().mean() > 0.5
    assert torch.equal(null.test.y, data.test.y)
    assert torch.equal(shuffled_labels(data, seed=3).search_train.y, null.search_train.y)
    assert not torch.equal(shuffled_labels(data, seed=4).search_train.y, null.search_train.y)


def _decision(normal, reduce):
    cell = dict(entropy_ratio=0.5, margin=0.1, uniform_kept_weight=1 / 3)
    return {"normal": {**cell, "kept_weight": normal, "decided": normal >= 0.5},
            "reduce": {**cell, "kept_weight": reduce, "decided": reduce >= 0.5}, "decided": min(normal, reduce) >= 0.5}


def test_judge_reads_decided_against_the_measured_null(tmp_path):
    config = SearchConfig(epochs=3, nodes=2, multiplier=2)
    path = tmp_path / "nulls.csv"
    rows = [{"key": null_key(config.replace(seed=s)), "seed": s, "dataset": "digits", "sampling": "softmax",
             "epochs": 3, "kept_weight_normal": kw, "kept_weight_reduce": 0.4, "train_acc": 0.1, "val_acc": 0.1}
            for s, kw in ((0, 0.6), (1, 0.7))]
    append_nulls(rows, path)
    null = lookup_null(config.replace(name="other", seed=9, device="cpu"), path)  # the same configuration
    assert null["seeds"] == 2 and null["normal"]["max"] == 0.7 and abs(null["normal"]["mean"] - 0.65) < 1e-12
    judged = judge(_decision(0.65, 0.8), config, path)
    assert not judged["normal"]["decided"] and judged["normal"]["threshold"] == 0.7  # above 0.5, below the null
    assert judged["reduce"]["decided"] and judged["reduce"]["threshold"] == 0.5  # null 0.4: the fixed 0.5 holds
    assert not judged["decided"] and judged["null"]["measured"]
    assert judge(_decision(0.75, 0.8), config, path)["decided"]
    unmeasured = judge(_decision(0.65, 0.8), config.replace(epochs=4), path)
    assert unmeasured["decided"] and unmeasured["null"]["measured"] is False
    assert "no null measured" in unmeasured["null"]["why"]


def test_null_rows_of_one_configuration_and_seed_are_replaced(tmp_path):
    path = tmp_path / "nulls.csv"
    row = {"key": "k", "seed": 0, "dataset": "digits", "sampling": "gumbel", "epochs": 2, "kept_weight_normal": 0.3,
           "kept_weight_reduce": 0.3, "train_acc": 0.1, "val_acc": 0.1}
    append_nulls([row], path)
    append_nulls([{**row, "kept_weight_normal": 0.9}, {**row, "seed": 1}], path)
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["seed"], r["kept_weight_normal"]) for r in rows] == [("0", "0.9"), ("1", "0.3")]


def test_null_key_is_the_configuration_without_name_seed_device_and_data_folder():
    config = SearchConfig()
    assert null_key(config) == null_key(config.replace(name="x", seed=5, device="cpu", data_root="/elsewhere"))
    assert null_key(config) != null_key(config.replace(epochs=11))


# --- the methods' formulas ------------------------------------------------------------------------

def _table(genes, accuracies):
    return GroundTruth(cells=[cell_string(g) for g in genes], canonical=[canonical(g) for g in genes],
                       skips=[0] * len(genes), params=[1] * len(genes), macs=[1] * len(genes),
                       accuracies=accuracies, seeds=[0, 1])


def test_alpha_scores_are_the_cells_log_probability_without_none():
    from darts_lite.darts.genotypes import edge_index
    from darts_lite.ground_truth.methods import alpha_scores
    genes = unique_cells()[:6]
    table = _table(genes, [[0.5, 0.5]] * 6)
    primitives = ("none", "skip_connect", "sep_conv_3x3", "max_pool_3x3")
    alphas = torch.randn(5, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    rows = {edge: r for r, edge in enumerate(edge_index(2))}
    for gene, score in zip(genes, alpha_scores(table, alphas, primitives)):
        expected = 0.0
        for pos, (op, j) in enumerate(gene):  # by hand: softmax over the three real operations of the edge
            row = alphas[rows[(j, 2 + pos // 2)], 1:]
            expected += float(row[primitives.index(op) - 1] - torch.logsumexp(row, 0))
        assert score == pytest.approx(expected, abs=1e-12)


def test_every_method_is_registered_and_scored_by_one_function():
    from darts_lite.darts.remedies import REMEDIES
    from darts_lite.ground_truth import METHODS
    from darts_lite.ground_truth.proxy_methods import TOP_K
    from darts_lite.proxies import PROXIES
    # the schedules, and one method per remedy that declares how it is scored (its Study)
    supernets = {"darts_paper_o1", "darts_paper_o2", "darts_decisive", "single_path", "darts_travel",
                 *(r.study.name for r in REMEDIES.values() if r.study is not None)}
    proxies = set(PROXIES) | {f"{n}_top_k" for n in TOP_K}  # naswot and params among them
    assert set(METHODS) == supernets | {"random_search"} | proxies
    assert {m for m in METHODS if getattr(METHODS[m].fn, "supernet", False)} == supernets


def test_methods_whose_steps_cost_the_same_share_one_probe_of_the_budget(monkeypatch, tmp_path):
    from darts_lite.ground_truth import methods
    from darts_lite.ground_truth.build import BenchConfig as Bench
    bench = Bench(**TINY)
    base = methods.supernet_config(bench, 0, "paper", arch_travel=20.0)
    assert methods.cost_signature(base) == methods.cost_signature(base.replace(skip_cap=2, aux_skip=1.0, seed=3))
    assert methods.cost_signature(base) != methods.cost_signature(base.replace(order=2))
    assert methods.cost_signature(methods.supernet_config(bench, 0, "decisive")) != methods.cost_signature(base)
    probes = []
    monkeypatch.setattr(methods, "SHARED_EPOCHS", {})
    monkeypatch.setattr(methods, "epochs_for_budget", lambda config, data, budget: probes.append(config) or 2)
    monkeypatch.setattr(methods, "search", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("stop")))
    table = GroundTruth.load(build_table(bench, tmp_path / "t.csv", progress=False))
    for fn in (methods.supernet_method("paper", arch_travel=20.0), methods.supernet_method("paper", arch_travel=20.0,
                                                                                         beta_decay=5.0)):
        with pytest.raises(RuntimeError, match="stop"):
            fn(table, 0, 7.0)
        assert fn.epochs == {7.0: 2}
    assert len(probes) == 1


def test_a_study_written_as_it_goes_continues_where_it_stopped(tmp_path, monkeypatch):
    from darts_lite.ground_truth import scoring
    from darts_lite.ground_truth.study import load_study, run_study
    table = GroundTruth.load(build_table(BenchConfig(**TINY), tmp_path / "t.csv", progress=False))
    calls = []

    def fake(table, seed, budget_seconds, data=None):
        calls.append(seed)
        if len(calls) == 2 and seed == 1:
            raise KeyboardInterrupt  # stopped during the second run
        return scoring.SearchOutcome(pick=table.cells[seed], seconds=0.1, scores=[0.0] * len(table))

    monkeypatch.setattr(scoring, "METHODS", {})
    scoring.register_method("fake", fake)
    monkeypatch.setattr("darts_lite.ground_truth.study.METHODS", scoring.METHODS)
    path = tmp_path / "study.json"
    with pytest.raises(KeyboardInterrupt):
        run_study(table, ["fake"], seeds=[0, 1, 2], budget_seconds=1.0, progress=False, path=path)
    assert [r["seed"] for r in load_study(path)["methods"]["fake"]["runs"]] == [0]
    calls.clear()
    record = run_study(table, ["fake"], seeds=[0, 1, 2], budget_seconds=1.0, progress=False, path=path)
    assert calls == [1, 2] and [r["seed"] for r in record["methods"]["fake"]["runs"]] == [0, 1, 2]


# --- what is committed ------------------------------------------------------------------------------

def test_the_committed_table_and_study_are_complete_and_agree():
    from darts_lite.ground_truth import default_table, load_study, study_table
    table = default_table()
    assert len(table) == 207 and table.seeds == [0, 1]
    prov = table.provenance
    assert prov["space"]["cells"] == 207 and prov["recipe"] == BenchConfig().to_dict() | {"primitives": list(
        BenchConfig().primitives), "seeds": list(BenchConfig().seeds)}, "the table was built with another recipe"
    assert prov["seconds"] > 0 and prov["code_version"] and prov["device"]
    study = load_study()
    rows = study_table(table, study)
    from darts_lite.ground_truth import METHODS
    assert [r["method"] for r in rows] == list(METHODS), "a registered method has no runs: `make score`"
    assert all(len(m["runs"]) == len(study["seeds"]) >= 3 for m in study["methods"].values())
    five = load_study(default=FIVE_SEED_STUDY)
    assert five["seeds"] == [0, 1, 2, 3, 4] and set(five["methods"]) == {"beta_darts", "random_search", "sdarts_rs"}
    assert all(len(m["runs"]) == 5 for m in five["methods"].values())


def test_the_demo_and_the_studys_searches_have_a_measured_null():
    from darts_lite.cli.options import DEMO_SCHEDULE, DEMO_SEARCH
    from darts_lite.ground_truth import load_study
    demo = SearchConfig(**DEMO_SEARCH).with_schedule(DEMO_SCHEDULE)
    assert lookup_null(demo)["seeds"] >= 3, "the demo's configuration changed: run `make nulls` and commit"
    keys = {r["details"]["null_key"] for study in (load_study(), load_study(default=FIVE_SEED_STUDY))
            for m in study["methods"].values() for r in m["runs"] if "null_key" in r["details"]}
    from darts_lite.darts.null import read_nulls
    measured = {r["key"] for r in read_nulls(ROOT / "data" / "decision_null" / "nulls.csv")}
    assert keys and keys <= measured


def test_study_and_null_files_of_the_wrong_kind_are_named_errors(tmp_path, monkeypatch):
    from darts_lite.darts import null as null_module
    from darts_lite.darts.null import read_nulls
    from darts_lite.ground_truth import study as study_module
    from darts_lite.ground_truth.study import load_study
    bad = tmp_path / "study.json"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not json")
    with pytest.raises(ValueError, match=r"study\.json is not a study file"):
        load_study(bad)
    bad.write_text(json.dumps({"runs": []}))
    with pytest.raises(ValueError, match="no 'methods' section"):
        load_study(bad)
    monkeypatch.setattr(study_module, "MAX_BYTES", 10)
    with pytest.raises(ValueError, match="over the 10-byte limit"):
        load_study(bad)
    nulls = tmp_path / "nulls.csv"
    nulls.write_text("key,seed\nk,0\n")
    with pytest.raises(ValueError, match=r"nulls\.csv lacks the column\(s\)"):
        read_nulls(nulls)
    monkeypatch.setattr(null_module, "MAX_BYTES", 5)
    with pytest.raises(ValueError, match=r"nulls\.csv is not a null table file: .* over the 5-byte limit"):
        read_nulls(nulls)
