"""Every way the CSV parser and the decoder under the course's text tables can fail, each a clear error.

Python's csv module raises `csv.Error` (a field past its size limit), decoding raises
`UnicodeDecodeError` (a subclass of ValueError whose message names no file), Python 3.11's csv
accepts NUL characters, and an unclosed quote makes one row swallow the lines after it. Each
failure below is triggered by a file made in the test (a few hundred bytes, or one long field)
and must end in the loader's own error, of exactly its type, naming the file and the line.
"""
import codecs
import warnings

import numpy as np
import pytest

from darts_lite.darts.null import FIELDS as NULL_FIELDS
from darts_lite.darts.null import read_nulls
from darts_lite.data.hands11k import MetadataWarning, read_metadata
from darts_lite.data.hands11k.dataset import load_hands11k
from darts_lite.ground_truth.build import read_partial
from darts_lite.ground_truth.device_latency import load_device_latency
from darts_lite.ground_truth.nasbench201 import load_nb201
from darts_lite.ground_truth.table import GroundTruth, TableError
from darts_lite.readers import FIELD_LIMIT, csv_rows, decode_utf8, line_of

HEADER = "id,age,gender,skinColor,accessories,nailPolish,aspectOfHand,imageName,irregularities"
ROW = '"0000000",27,"male","fair",0,0,"dorsal right","Hand_{:07d}.jpg",0'
LONG = "x" * (FIELD_LIMIT + 10)


def hand_info(rows=None, header=HEADER) -> bytes:
    rows = [ROW.format(i) for i in range(2, 6)] if rows is None else rows
    return ("\r\n".join([header, *rows]) + "\r\n").encode("utf-8")


def with_row(line: int, text: str) -> bytes:
    """The good file with its line `line` (1-based; the header is line 1) replaced by `text`."""
    rows = [ROW.format(i) for i in range(2, 6)]
    rows[line - 2] = text
    return hand_info(rows)


# Each failure of HandInfo.csv's parser, its trigger, and the start of the error it must give
# (after "<path>"). Every one is an error, not a skipped row: see data.hands11k.metadata.
HANDINFO_FAILURES = {
    "csv.Error: a field past the parser's limit (a quote never closed)":
        (with_row(3, f'"0000000",27,"male","fair",0,0,"dorsal right","{LONG}",0'),
         r", line 3: a field runs past 131,072 characters"),
    "an unclosed quote: one row over several lines":
        (with_row(3, '"0000000",27,"male","fair",0,0,"dorsal right,Hand_0000003.jpg,0'),
         r", line 3: one row runs over lines 3-"),
    "a NUL character (accepted by the parser since Python 3.11)":
        (with_row(4, ROW.format(4).replace("male", "ma\0le")), r", line 4: a NUL character"),
    "UnicodeDecodeError: a UTF-8 byte-order mark, then bytes that are not UTF-8":
        (codecs.BOM_UTF8 + hand_info().replace(b'"fair"', b'"f\xffir"'),
         r", line 2: starts as UTF-8 \(its byte-order mark\) but is not valid utf-8"),
    "UnicodeDecodeError: a UTF-16 byte-order mark, then an odd number of bytes":
        (codecs.BOM_UTF16_LE + hand_info().decode().encode("utf-16-le") + b"\0",
         r": starts as UTF-16 \(its byte-order mark\) but is not valid utf-16 \(truncated data"),
    "UnicodeDecodeError: neither UTF-8 nor Windows-1252 (byte 0x81 is undefined there)":
        (hand_info().replace(b'"fair"', b'"f\x81ir"'), r", line 2: byte 0x81 is in no encoding we know"),
    "fewer fields than the header (a comma lost)":
        (with_row(5, '"0000000",27,"male","fair",0,0,"dorsal right"'), r", line 5: 7 fields where the header has 9"),
    "extra non-empty fields (a comma too many)":
        (with_row(2, ROW.format(2) + ",1,2"), r", line 2: 11 fields where the header has 9"),
    "a published column named twice": (hand_info(header=HEADER + ",gender"), r": the column\(s\) gender appear twice"),
    "a number in digits int() reads but a table should not (underscore)":
        (with_row(3, ROW.format(3).replace(",27,", ",2_7,")), r", line 3, column age: cannot read '2_7'"),
    "a number in another script's digits": (with_row(3, ROW.format(3).replace(",27,", ",٢٧,")),
                                            r", line 3, column age: cannot read"),
    "a number past int()'s digit limit (its ValueError names no file)":
        (with_row(2, ROW.format(2).replace(",27,", "," + "9" * 5000 + ",")),
         r", line 2, column age: cannot read '9999.*\(5,000 characters\)"),
    "an age outside the plausible range": (with_row(4, ROW.format(4).replace(",27,", ",-3,")),
                                           r", line 4, column age: -3 is outside 0-120"),
    "a flag other than 0 or 1": (with_row(4, ROW.format(4).replace(",0,0,", ",2,0,")),
                                 r", line 4, column accessories: 2 is outside 0-1"),
    "an image name that is a path": (with_row(3, ROW.format(3).replace("Hand_", "../Hand_")),
                                     r", line 3, column imageName: '../Hand_0000003.jpg' is not a plain file name"),
    "an image name with a control character": (with_row(3, ROW.format(3).replace("Hand_", "Hand\x1b_")),
                                               r", line 3, column imageName: .* is not a plain file name"),
    "an empty file": (b"", r" is empty"),
}


@pytest.mark.parametrize("name", list(HANDINFO_FAILURES))
def test_each_parser_failure_of_hand_info_is_a_clear_error(tmp_path, name):
    raw, message = HANDINFO_FAILURES[name]
    path = tmp_path / "HandInfo.csv"
    path.write_bytes(raw)
    with pytest.raises(ValueError) as caught:
        read_metadata(path)
    assert type(caught.value) is ValueError, f"{name}: a bare {type(caught.value).__name__} escaped"
    assert caught.match("^" + str(path).replace("\\", "\\\\").replace(".", r"\.") + message)


def test_the_failures_reach_the_loader_as_the_same_clear_errors(tmp_path):
    from test_hands11k import make_root

    root = make_root(tmp_path / "hands")
    raw = (root / "HandInfo.csv").read_bytes()
    (root / "HandInfo.csv").write_bytes(raw.replace(b'"fair"', b'"fa' + LONG.encode() + b'ir"', 1))
    with pytest.raises(ValueError, match=r"HandInfo\.csv, line 2: a field runs past") as caught:
        load_hands11k(8, root=root, verbose=False)
    assert type(caught.value) is ValueError


def test_a_file_that_cannot_be_opened_is_the_loaders_error_too(tmp_path, monkeypatch):
    """Permission denied (root reads anything, so the refusal is simulated where the reader opens the file)."""
    from darts_lite.readers import bounded

    path = tmp_path / "HandInfo.csv"
    path.write_bytes(hand_info())

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(bounded, "open", refuse, raising=False)
    with pytest.raises(ValueError, match=r"HandInfo\.csv: the HandInfo\.csv file cannot be read \(Permission denied\)"):
        read_metadata(path)


def test_blank_rows_rows_of_commas_and_trailing_empty_fields_are_read_past(tmp_path):
    """Where a row holds no image, it is skipped; the rows around it all load."""
    rows = [ROW.format(2), "", ",,,,,,,,", ROW.format(3) + ",,", " , , ", ROW.format(4)]
    path = tmp_path / "HandInfo.csv"
    path.write_bytes(hand_info(rows))
    names = [r.image_name for r in read_metadata(path)]
    assert names == ["Hand_0000002.jpg", "Hand_0000003.jpg", "Hand_0000004.jpg"]


def test_random_damage_to_hand_info_ends_only_in_the_loaders_error(tmp_path):
    """A few hundred seeded mutations (a byte-order mark put first; bytes flipped, inserted, cut) of a good file:
    read, or a clear ValueError of exactly that type naming the file."""
    good = hand_info()
    rng = np.random.default_rng(0)
    special = [ord(c) for c in '",\r\n\0\x81\xff'] + [0xEF, 0xBB, 0xBF, 0xFE]
    path = tmp_path / "HandInfo.csv"
    outcomes = {"read": 0, "refused": 0}
    boms = [b"", b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE]  # as editors save it again
    for _ in range(400):
        raw = bytearray(boms[int(rng.integers(len(boms)))] + good)
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(len(raw)))
            byte = int(rng.choice(special)) if rng.random() < 0.7 else int(rng.integers(256))
            kind = rng.integers(3)
            if kind == 0:
                raw[at] = byte
            elif kind == 1:
                raw.insert(at, byte)
            else:
                del raw[at:at + int(rng.integers(1, 20))]
        path.write_bytes(bytes(raw))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MetadataWarning)
                read_metadata(path)
            outcomes["read"] += 1
        except ValueError as e:
            assert type(e) is ValueError and str(e).startswith(str(path)), f"{type(e).__name__}: {e}"
            outcomes["refused"] += 1
    assert outcomes["read"] > 0 and outcomes["refused"] > 0  # both paths exercised


# ---------------------------------------------------------------- the other text tables

def latency_table(rows: list[str]) -> bytes:
    arch = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    return "\n".join(["index,arch,pixel3", *[r.format(arch=arch) for r in rows]]).encode() + b"\n"


def nb201_table(rows: list[str]) -> bytes:
    return "\n".join(["index,arch,cifar10-valid", *rows]).encode() + b"\n"


def null_table(rows: list[str]) -> bytes:
    return "\n".join([",".join(NULL_FIELDS), *rows]).encode() + b"\n"


NULL_ROW = "k,0,digits,softmax,10,0.5,0.4,0.9,0.8"

# Each reader, a file that trips the parser, and the error it must give.
OTHER_FAILURES = {
    "latency: csv.Error (field limit)": (load_device_latency, ValueError,
                                         latency_table(["0,{arch},1.0", f"1,{LONG},2.0"]),
                                         r", line 3: a field runs past"),
    "latency: not UTF-8": (load_device_latency, ValueError, latency_table(["0,{arch},1.0"]).replace(b"pixel3", b"p\xe9"),
                           r", line 1: byte 0xe9 .* is not UTF-8 text"),
    "latency: unclosed quote": (load_device_latency, ValueError, latency_table(['0,"{arch},1.0', "1,{arch},2.0"]),
                                r", line 2: one row runs over lines 2-3"),
    "nb201: csv.Error (field limit)": (load_nb201, ValueError, nb201_table(["0,a,1.0", f'1,"{LONG}",2.0']),
                                       r", line 3: a field runs past"),
    "nb201: not UTF-8": (load_nb201, ValueError, nb201_table(["0,a,1.0", "1,\xe9,2.0"]).replace(b"\xc3\xa9", b"\xe9"),
                         r", line 3: byte 0xe9"),
    "nb201: NUL": (load_nb201, ValueError, nb201_table(["0,a,1.0", "1,b\0,2.0"]), r", line 3: a NUL character"),
    "ground truth: csv.Error (field limit)": (GroundTruth.load, TableError, f"index,cell\n0,{LONG}\n".encode(),
                                              r", line 2: a field runs past"),
    "ground truth: not UTF-8": (GroundTruth.load, TableError, b"index,cell\n0,\xff\n", r", line 2: byte 0xff"),
    "nulls: csv.Error (field limit)": (read_nulls, ValueError, null_table([NULL_ROW, LONG]), r", line 3: a field runs"),
    "nulls: not UTF-8": (read_nulls, ValueError, null_table([NULL_ROW.replace("k,", "\xe9,")]).replace(b"\xc3\xa9", b"\xe9"),
                         r", line 2: byte 0xe9"),
    "nulls: a short row": (read_nulls, ValueError, null_table([NULL_ROW, "k,1"]), r", line 3: 2 fields"),
    "nulls: a number that is not one (it failed later, in the lookup, without a file)":
        (read_nulls, ValueError, null_table([NULL_ROW.replace("0.5", "half")]),
         r", line 2, column kept_weight_normal: 'half' is not a number"),
}


@pytest.mark.parametrize("name", list(OTHER_FAILURES))
def test_each_parser_failure_of_the_other_tables_is_a_clear_error(tmp_path, name):
    reader, error, raw, message = OTHER_FAILURES[name]
    path = tmp_path / "table.csv"
    path.write_bytes(raw)
    with pytest.raises(error) as caught:
        reader(path=path) if reader is load_nb201 else reader(path)
    assert type(caught.value) is error, f"{name}: a bare {type(caught.value).__name__} escaped"
    assert caught.match("^" + str(path).replace(".", r"\.") + message)


def test_a_ground_truth_provenance_that_is_not_utf8_is_a_table_error(tmp_path):
    from test_ground_truth_table import ACCS, GENES, row, write  # a valid table, as that module writes one

    table = write(tmp_path / "table.csv", [row(i, g, a) for i, (g, a) in enumerate(zip(GENES, ACCS))])
    side = tmp_path / "table.json"
    side.write_bytes(b"{\"seconds\": \xff}")
    with pytest.raises(TableError, match=r"table\.json is not a ground-truth provenance file"):
        GroundTruth.load(table)


def test_a_build_log_line_that_is_not_utf8_is_skipped_like_a_torn_one(tmp_path):
    log = tmp_path / "partial.jsonl"
    log.write_bytes(b'{"seed": 0, "index": 1, "acc": 0.5}\n{"seed": 0, "index": \xff2}\n{"seed": 1, "index": 1, "acc": 0.6}\n')
    assert [r["seed"] for r in read_partial(log)] == [0, 1]


# ---------------------------------------------------------------- the helpers themselves

def test_line_of_counts_newlines_before_the_offset():
    raw = b"a,b\nc,d\ne,\xff\n"
    assert [line_of(raw, i) for i in (0, 3, 4, 9)] == [1, 1, 2, 3]
    with pytest.raises(ValueError, match=r"x\.csv, line 3: byte 0xff \(offset 10\)"):
        decode_utf8(raw, "x.csv", "table")


def test_csv_rows_gives_each_rows_first_and_last_line():
    rows = csv_rows('a,b\n"x\ny",z\n\nw,v\n', "x.csv", "table")
    assert [(r.line, r.last_line, r.fields) for r in rows] == [(1, 1, ["a", "b"]), (2, 3, ["x\ny", "z"]),
                                                               (4, 4, []), (5, 5, ["w", "v"])]
