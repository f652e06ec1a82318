"""NAS-Bench-201 at 12 epochs: the reader, the cell strings, the ranks and the two search baselines."""
import hashlib
import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from darts_lite.ground_truth import nasbench201 as nb
from darts_lite.ground_truth.nasbench201 import (
    NB201_OPS, NB201Table, all_skip_index, arch_ops, arch_string, beats_all_skip, load_nb201, mutate,
    nb201_path, percentile_of, random_search_curve, random_search_indices, rank_summary,
    regularized_evolution_curve)

HEADER = "index,arch,cifar10-test,cifar10-val,cifar100-test,cifar100-val,imagenet-test,imagenet-val"
EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
POOL = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
# (arch, cifar10-test, cifar10-val); the other columns are cifar10-test + 1, + 2, + 3, + 4.
TINY = [(POOL, 69.55, 63.0), (EXAMPLE, 89.16, 84.0), (ALL_SKIP, 36.84, 40.0), (ALL_NONE, 10.0, 10.0),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
         36.84, 80.0)]


def write_csv(path: Path, header: str = HEADER, rows=TINY) -> Path:
    lines = [header] + [f"{i},{a},{t},{v},{t + 1},{t + 2},{t + 3},{t + 4}" for i, (a, t, v) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_csv(tmp_path / "tiny.csv")


def test_load_reads_the_requested_column(tiny):
    table = load_nb201("cifar10", "test", tiny)
    assert table.arch == [a for a, _, _ in TINY] and len(table) == 5
    np.testing.assert_array_equal(table.accuracy, [t for _, t, _ in TINY])
    np.testing.assert_array_equal(load_nb201("cifar10", "valid", tiny).accuracy, [v for _, _, v in TINY])
    np.testing.assert_allclose(load_nb201("cifar100", "valid", tiny).accuracy, [t + 2 for _, t, _ in TINY])
    np.testing.assert_allclose(load_nb201("ImageNet16-120", "test", tiny).accuracy, [t + 3 for _, t, _ in TINY])
    with pytest.raises(ValueError):
        table.accuracy[0] = 0.0  # the table is frozen, its numbers too


def test_load_rejects_unknown_names_and_missing_columns(tiny, tmp_path):
    with pytest.raises(ValueError, match="ImageNet16-120"):
        load_nb201("imagenet", "test", tiny)
    with pytest.raises(ValueError, match="'test', 'valid'"):
        load_nb201("cifar10", "val", tiny)
    bad = write_csv(tmp_path / "bad.csv", header="index,arch,cifar10-test")
    with pytest.raises(ValueError, match=r"bad\.csv.*cifar10-val.*\['index', 'arch', 'cifar10-test'\]"):
        load_nb201("cifar10", "valid", bad)


def test_load_rejects_rows_out_of_index_order_and_bad_numbers(tmp_path):
    path = write_csv(tmp_path / "shuffled.csv")
    path.write_text(path.read_text().replace("\n1,", "\n7,"))
    with pytest.raises(ValueError, match="line 3.*index order"):
        load_nb201(path=path)
    path = write_csv(tmp_path / "nan.csv", rows=[(ALL_SKIP, 1.0, 1.0)])
    path.write_text(path.read_text().replace(",1.0,1.0,", ",n/a,1.0,"))
    with pytest.raises(ValueError, match="line 2.*n/a"):
        load_nb201("cifar10", "test", path)


def test_load_refuses_a_file_over_the_size_limit(tiny, monkeypatch):
    monkeypatch.setattr(nb, "MAX_CSV_BYTES", 100)
    with pytest.raises(ValueError, match="limit"):
        load_nb201(path=tiny)


def test_path_honours_the_environment_first_and_says_how_to_fix_a_missing_file(tmp_path, monkeypatch):
    (tmp_path / "nasbench201").mkdir()
    write_csv(tmp_path / "nasbench201" / "nb201_12epoch_accuracies.csv")
    monkeypatch.setenv("DARTS_LITE_DATA", str(tmp_path))
    assert nb201_path() == tmp_path / "nasbench201" / "nb201_12epoch_accuracies.csv"
    assert len(load_nb201()) == 5
    monkeypatch.setattr(nb, "CSV_NAME", Path("nasbench201") / "absent.csv")
    with pytest.raises(FileNotFoundError, match=r"absent\.csv.*clone.*DARTS_LITE_DATA"):
        nb201_path()


def test_cell_strings_round_trip():
    assert arch_ops(EXAMPLE) == ("nor_conv_3x3", "nor_conv_1x1", "nor_conv_3x3", "skip_connect", "none",
                                 "nor_conv_3x3")
    assert arch_string(arch_ops(EXAMPLE)) == EXAMPLE
    rng = np.random.default_rng(0)
    for _ in range(50):
        ops = tuple(rng.choice(NB201_OPS, size=6))
        assert arch_ops(arch_string(ops)) == ops


@pytest.mark.parametrize("arch", [
    "", None, EXAMPLE.replace("+", "", 1), EXAMPLE + "+|none~0|", EXAMPLE.replace("none~1", "none~2"),
    EXAMPLE.replace("none~1", "conv~1"), EXAMPLE.replace("none~1", "none1"), EXAMPLE[1:], EXAMPLE[:-1],
    EXAMPLE.replace("|+|", "|+||", 1), "|none~0|+|none~0|+|none~0|none~1|none~2|"])
def test_malformed_cell_strings_are_refused(arch):
    with pytest.raises(ValueError):
        arch_ops(arch)


def test_malformed_operation_lists_are_refused():
    with pytest.raises(ValueError):
        arch_string(("none",) * 5)
    with pytest.raises(ValueError):
        arch_string(("none",) * 5 + ("sep_conv_3x3",))


def test_ranks_match_a_hand_count(tiny):
    test = load_nb201("cifar10", "test", tiny)  # 69.55, 89.16, 36.84 (all skip), 10.0, 36.84
    assert all_skip_index(test) == 2
    assert percentile_of(test, 89.16) == pytest.approx(20.0)
    assert percentile_of(test, 36.84) == pytest.approx(80.0)  # ties count as at least as good
    assert percentile_of(test, 99.0) == 0.0 and percentile_of(test, 0.0) == 100.0
    assert beats_all_skip(test) == pytest.approx(2 / 5)  # strictly better: the tie does not beat it
    assert rank_summary(test) == pytest.approx({"best": 89.16, "median": 36.84, "worst": 10.0,
                                                "all_skip": 36.84, "all_skip_top_percent": 80.0})
    valid = load_nb201("cifar10", "valid", tiny)  # 63, 84, 40 (all skip), 10, 80
    assert beats_all_skip(valid) == pytest.approx(3 / 5) and percentile_of(valid, 40.0) == pytest.approx(80.0)
    with pytest.raises(ValueError, match="all-skip"):
        all_skip_index(NB201Table([EXAMPLE], np.array([1.0])))


def full_table(choices=("skip_connect", "nor_conv_3x3"), seed=0) -> NB201Table:
    """Every cell of the space of `choices` (2^6 = 64 cells), with distinct random accuracies."""
    cells = list(itertools.product(choices, repeat=6))
    acc = np.random.default_rng(seed).permutation(len(cells)).astype(float)
    return NB201Table([arch_string(c) for c in cells], acc)


def test_random_search_is_the_running_best_of_distinct_samples():
    table = full_table()
    idx = random_search_indices(len(table), 30, 4, seed=3)
    assert idx.shape == (4, 30) and all(len(set(row)) == 30 for row in idx)
    curve = random_search_curve(table, 30, 4, seed=3)
    np.testing.assert_array_equal(curve, np.maximum.accumulate(table.accuracy[idx], axis=1))
    assert np.all(np.diff(curve, axis=1) >= 0)
    assert np.all(random_search_curve(table, 64, 2, seed=1)[:, -1] == table.accuracy.max())  # saw every cell
    with pytest.raises(ValueError):
        random_search_curve(table, 65, 1, seed=0)


def test_mutation_changes_exactly_one_edge_to_another_operation():
    rng = np.random.default_rng(0)
    ops = arch_ops(EXAMPLE)
    edges, new_ops = set(), set()
    for _ in range(500):
        child = mutate(ops, rng)
        changed = [e for e in range(6) if child[e] != ops[e]]
        assert len(changed) == 1 and child[changed[0]] in NB201_OPS
        edges.add(changed[0])
        new_ops.add((changed[0], child[changed[0]]))
    assert edges == set(range(6)) and len(new_ops) == 6 * 4  # every edge, every other op, reached
    assert all(op in ("none", "skip_connect") for op in mutate(("none",) * 6, rng, ("none", "skip_connect")))


def test_evolution_improves_monotonically_and_finds_the_best_of_a_small_space():
    table = full_table()
    curve = regularized_evolution_curve(table, 300, 5, seed=0, population=10, sample=3)
    assert curve.shape == (5, 300) and np.all(np.diff(curve, axis=1) >= 0)
    assert set(np.unique(curve)) <= set(table.accuracy)
    assert np.all(curve[:, -1] == table.accuracy.max())
    np.testing.assert_array_equal(curve, regularized_evolution_curve(table, 300, 5, 0, 10, 3))
    assert regularized_evolution_curve(table, 4, 2, seed=1, population=10).shape == (2, 4)


def test_evolution_refuses_a_table_that_is_not_a_whole_space():
    table = full_table()
    partial = NB201Table(table.arch[:-1], table.accuracy[:-1])
    with pytest.raises(ValueError, match="every cell"):
        regularized_evolution_curve(partial, 10, 1, seed=0, population=5, sample=2)
    with pytest.raises(ValueError):
        regularized_evolution_curve(table, 10, 1, seed=0, population=5, sample=6)


def test_the_committed_table_matches_its_readme():
    try:
        path = nb201_path()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    readme = (path.parent / "README.md").read_text()
    sha = re.search(r"sha256 of the CSV: ([0-9a-f]{64})", readme).group(1)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == sha
    test, valid = load_nb201("cifar10", "test"), load_nb201("cifar10", "valid")
    assert len(test) == 15_625 and len({arch_ops(a) for a in test.arch}) == 15_625
    assert all_skip_index(test) == 1835 and test.arch[1835] == ALL_SKIP
    assert test.accuracy[1835] == pytest.approx(36.84) and valid.accuracy[1835] == pytest.approx(33.944)
    assert test.accuracy.max() == pytest.approx(89.16) and test.arch[int(test.accuracy.argmax())] == EXAMPLE
    assert regularized_evolution_curve(test, 30, 2, seed=0).shape == (2, 30)  # the whole space: mutation closes


def test_incumbent_curve_reports_the_other_metric_of_the_best_so_far():
    from darts_lite.ground_truth.nasbench201 import NB201Table, incumbent_curve
    search = NB201Table(arch=["a", "b", "c"], accuracy=np.array([1.0, 3.0, 2.0]))
    report = NB201Table(arch=["a", "b", "c"], accuracy=np.array([10.0, 5.0, 30.0]))
    curve = incumbent_curve(np.array([[0, 1, 2], [2, 0, 1]]), search, report)
    assert curve.tolist() == [[10.0, 5.0, 5.0], [30.0, 30.0, 5.0]]


# DARTS in the benchmark's own space (nb201_search)

def _one_hot_cell(ops):
    """A search cell whose alphas put all weight on `ops` (one per edge, in the cell string's order)."""
    import torch
    from darts_lite.ground_truth.nb201_search import NB201SearchCell
    cell = NB201SearchCell(3).double().eval()
    weights = torch.zeros(6, len(NB201_OPS), dtype=torch.float64)
    weights[torch.arange(6), [NB201_OPS.index(op) for op in ops]] = 1.0
    return cell, weights


def test_the_search_cell_is_the_benchmarks_dag():
    import torch
    import torch.nn.functional as F
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    cell, w = _one_hot_cell(arch_ops(ALL_SKIP))  # node1 = x, node2 = x + x, node3 = x + x + 2x
    assert torch.allclose(cell(x, w), 4 * x)
    cell, w = _one_hot_cell(arch_ops(ALL_NONE))
    assert torch.equal(cell(x, w), torch.zeros_like(x))
    # node1 = x; node2 = node1; node3 = avg_pool(node2): only the path 0 -> 1 -> 2 -> 3 carries x
    chain = "|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|"
    cell, w = _one_hot_cell(arch_ops(chain))
    assert torch.allclose(cell(x, w), F.avg_pool2d(x, 3, 1, 1, count_include_pad=False))


def test_the_derived_cell_is_the_argmax_of_each_edge_and_a_benchmark_cell():
    import torch
    from darts_lite.ground_truth.nb201_search import NB201SearchNetwork
    net = NB201SearchNetwork(C=4, cells_per_stage=1, num_classes=10, in_channels=1)
    with torch.no_grad():
        net.alphas.zero_()
        net.alphas[torch.arange(6), [NB201_OPS.index(op) for op in arch_ops(EXAMPLE)]] = 1.0
    assert net.arch() == EXAMPLE and net.arch() in load_nb201().arch
    assert net(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    assert [p.data_ptr() for p in net.arch_parameters()] == [net.alphas.data_ptr()]
    assert len(net.weight_parameters()) == len(list(net.parameters())) - 1


def test_search_nb201_runs_darts_and_its_pick_is_looked_up(tmp_path):
    from darts_lite.darts import SearchConfig
    from darts_lite.data import load_dataset
    from darts_lite.ground_truth.nb201_search import look_up, search_nb201
    config = SearchConfig(name="nb201", dataset="digits", channels=4, batch_size=64, epochs=2, seed=0)
    data = load_dataset("digits", image_size=8)
    out = search_nb201(config, data, cells_per_stage=1, run_dir=tmp_path / "a", progress=False)
    assert len(out["history"]) == 2 and out["arch"] == out["history"][-1]["arch"]
    assert np.allclose(np.sum(out["alphas"], axis=1), 1.0) and np.ptp(out["alphas"]) > 0
    found = look_up(load_nb201("cifar10", "test"), out["arch"])
    assert 0 < found["accuracy"] < 100 and 0 < found["top_percent"] <= 100
    again = search_nb201(config, data, cells_per_stage=1, run_dir=tmp_path / "b", progress=False)
    assert again["alphas"] == out["alphas"]  # seeded
    resumed = search_nb201(config, data, cells_per_stage=1, run_dir=tmp_path / "a", resume=True, progress=False)
    assert resumed["alphas"] == out["alphas"] and resumed["history"] == out["history"]  # from its checkpoint
    with pytest.raises(ValueError, match="is not a cell of the table"):
        look_up(load_nb201("cifar10", "test"), "|skip_connect~0|")

