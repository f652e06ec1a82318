"""The measured latency table (HELP, 27 device settings): the committed file reads, and malformed ones are refused."""
import itertools
from pathlib import Path

import numpy as np
import pytest

from darts_lite.ground_truth import device_latency as dl
from darts_lite.ground_truth.device_latency import DeviceLatency, family, load_device_latency
from darts_lite.ground_truth.nasbench201 import NB201_OPS, NB201Table, arch_string, load_nb201

# Each device column of the committed table and its family, written out by hand.
GPUS = [f"{g}_{b}" for g in ("1080ti", "2080ti", "titan_rtx", "titanx", "titanxp") for b in (1, 32, 256)]
EXPECTED_FAMILY = {**{d: "gpu" for d in GPUS},
                   **{d: "cpu" for d in ("gold_6226", "gold_6240", "silver_4114", "silver_4210r")},
                   **{d: "phone" for d in ("pixel2", "pixel3", "samsung_a50", "samsung_s7", "essential_ph_1")},
                   **{d: "edge" for d in ("raspi4", "eyeriss", "fpga")}}

CELLS = [arch_string(ops) for ops in itertools.islice(itertools.product(NB201_OPS, repeat=6), 3)]
HEADER = "index,arch,pixel3,raspi4"


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def good_lines() -> list[str]:
    return [HEADER] + [f"{i},{a},{1.5 + i},{20.25 * (i + 1)}" for i, a in enumerate(CELLS)]


@pytest.fixture(scope="module")
def committed() -> DeviceLatency:
    return load_device_latency()


def test_the_committed_table_has_every_cell_on_27_devices_aligned_with_the_accuracies(committed):
    assert len(committed) == 15_625 and committed.ms.shape == (15_625, 27)
    assert sorted(committed.devices) == sorted(EXPECTED_FAMILY)
    assert np.isfinite(committed.ms).all() and (committed.ms > 0).all()
    committed.check_aligned(load_nb201("cifar10", "valid"))
    assert len(set(committed.arch)) == 15_625
    with pytest.raises(ValueError):
        committed.ms[0, 0] = 1.0  # frozen, its numbers too


def test_family_of_every_device(committed):
    assert {d: family(d) for d in committed.devices} == EXPECTED_FAMILY
    for unknown in ("titan", "gold_6226x", "pixel", "tpu_v4", ""):
        with pytest.raises(ValueError, match="not a known device"):
            family(unknown)


def test_a_small_table_reads_its_numbers_and_columns(tmp_path):
    table = load_device_latency(write(tmp_path / "ok.csv", good_lines()))
    assert table.arch == CELLS and table.devices == ("pixel3", "raspi4")
    np.testing.assert_array_equal(table.of("pixel3"), [1.5, 2.5, 3.5])
    np.testing.assert_array_equal(table.of("raspi4"), [20.25, 40.5, 60.75])
    with pytest.raises(ValueError, match="no device 'fpga'.*pixel3, raspi4"):
        table.of("fpga")


def replace_line(n: int, text: str):
    """The good lines with line `n` (1-based, as the reader counts) replaced."""
    lines = good_lines()
    lines[n - 1] = text
    return lines


@pytest.mark.parametrize("lines, match", [
    (replace_line(1, "idx,arch,pixel3,raspi4"), "header must be 'index,arch,<device>"),
    (["index,arch", f"0,{CELLS[0]}"], "header must be 'index,arch,<device>"),
    (replace_line(1, "index,arch,pixel3,pixel3"), "device column appears twice"),
    (replace_line(3, f"1,{CELLS[1]},2.5"), "line 3: 3 fields, the header has 4"),
    (replace_line(3, f"1,{CELLS[1]},2.5,4,5"), "line 3: 5 fields, the header has 4"),
    (replace_line(4, f"2,{CELLS[2]},fast,3.0"), "line 4: .*'fast'"),
    (replace_line(4, f"2,{CELLS[2]},3.0,"), "line 4: .*float"),
    (replace_line(2, f"zero,{CELLS[0]},1,2"), "line 2: .*'zero'"),
    (replace_line(3, f"1,{CELLS[1]},0,2.0"), "line 3: a latency is not a positive number"),
    (replace_line(3, f"1,{CELLS[1]},2.0,-1.5"), "line 3: a latency is not a positive number"),
    (replace_line(4, f"2,{CELLS[2]},nan,2.0"), "line 4: a latency is not a positive number"),
    (replace_line(4, f"2,{CELLS[2]},inf,2.0"), "line 4: a latency is not a positive number"),
    (replace_line(3, f"2,{CELLS[1]},1,2"), "line 3: index 2 in row 1: rows must be in index order"),
    (replace_line(2, f"1,{CELLS[0]},1,2"), "line 2: index 1 in row 0"),
    (replace_line(4, f"2,{CELLS[2]},1\x00,2"), "line 4: a NUL character"),
    (replace_line(3, f'1,"{CELLS[1]},2.5,3.5'), "line 3: one row runs over lines 3-4"),
    ([HEADER], "holds a header but no cell"),
])
def test_a_malformed_file_is_refused_naming_the_file_and_line(tmp_path, lines, match):
    path = write(tmp_path / "bad_table.csv", lines)
    with pytest.raises(ValueError, match=f"bad_table\\.csv.*{match}"):
        load_device_latency(path)


def test_blank_lines_between_and_after_rows_are_read_past(tmp_path):
    lines = good_lines()
    table = load_device_latency(write(tmp_path / "blank.csv", lines[:2] + [""] + lines[2:] + ["", ""]))
    assert table.arch == CELLS


def test_an_empty_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.csv is empty; is it the device latency table\?"):
        load_device_latency(path)


def test_bytes_that_are_not_utf8_are_refused_naming_the_file(tmp_path):
    path = tmp_path / "latin1.csv"
    raw = "\n".join(good_lines()).encode("utf-8")
    path.write_bytes(raw.replace(b"raspi4", b"rasp\xe94"))
    with pytest.raises(ValueError, match=rf"latin1\.csv, line 1: byte 0xe9 \(offset {raw.index(b'raspi4') + 4}\) "
                                         r"is not UTF-8 text"):
        load_device_latency(path)


def test_a_field_over_the_csv_limit_is_a_value_error_not_a_csv_error(tmp_path):
    lines = good_lines()
    lines[2] = f"1,{'x' * 200_000},1,2"  # csv's field_size_limit is 131,072 characters
    path = write(tmp_path / "huge_field.csv", lines)
    with pytest.raises(ValueError, match=r"huge_field\.csv, line 3: a field runs past 131,072 characters\. A quote"):
        load_device_latency(path)


def test_the_byte_limit_is_the_name_the_reader_uses(tmp_path, monkeypatch):
    path = write(tmp_path / "big.csv", good_lines())
    size = path.stat().st_size
    monkeypatch.setattr(dl, "MAX_CSV_BYTES", size)
    assert len(load_device_latency(path)) == 3  # exactly at the limit: read
    monkeypatch.setattr(dl, "MAX_CSV_BYTES", size - 1)
    with pytest.raises(ValueError, match=rf"big\.csv is not a device latency table file: {size:,} bytes, over the "
                                         rf"{size - 1:,}-byte limit"):
        load_device_latency(path)


def test_a_missing_file_is_a_file_not_found_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.csv"):
        load_device_latency(tmp_path / "nowhere.csv")


def test_check_aligned_refuses_a_shuffled_or_shorter_table(tmp_path):
    latency = load_device_latency(write(tmp_path / "ok.csv", good_lines()))
    latency.check_aligned(NB201Table(list(CELLS), [1.0, 2.0, 3.0]))
    shuffled = NB201Table([CELLS[0], CELLS[2], CELLS[1]], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="disagree from row 1 .3 against 3 cells"):
        latency.check_aligned(shuffled)
    with pytest.raises(ValueError, match="disagree from row 2 .3 against 2 cells"):
        latency.check_aligned(NB201Table(CELLS[:2], [1.0, 2.0]))
    swapped_rows = DeviceLatency(CELLS[::-1], latency.devices, latency.ms[::-1])
    with pytest.raises(ValueError, match="disagree from row 0"):
        swapped_rows.check_aligned(NB201Table(list(CELLS), [1.0, 2.0, 3.0]))


def test_the_committed_table_refuses_a_shuffled_accuracy_table(committed):
    acc = load_nb201("cifar10", "valid")
    order = np.random.default_rng(0).permutation(len(acc))
    shuffled = NB201Table([acc.arch[i] for i in order], acc.accuracy[order])
    first = int(np.flatnonzero(order != np.arange(len(order)))[0])
    with pytest.raises(ValueError, match=f"disagree from row {first} "):
        committed.check_aligned(shuffled)


def test_a_table_whose_shape_disagrees_with_its_names_is_refused():
    with pytest.raises(ValueError, match=r"3 cells x 2 devices but latencies of shape \(3, 3\)"):
        DeviceLatency(list(CELLS), ("a", "b"), np.ones((3, 3)))
