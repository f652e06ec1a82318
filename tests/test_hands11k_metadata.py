"""HandInfo.csv as editors save it again: one self-made file per class of messy input (data.hands11k.metadata)."""
import codecs
import warnings

import pytest

from darts_lite.data.hands11k import MetadataWarning, filter_records, read_metadata

HEADER = "id,age,gender,skinColor,accessories,nailPolish,aspectOfHand,imageName,irregularities"
ROWS = ['"0000000",27,"male","fair",0,0,"dorsal right","Hand_0000002.jpg",0',
        '"0000000",27,"male","fair",0,0,"palmar left","Hand_0000003.jpg",0',
        '"1200000 ",23,"female","very fair",1,0,"dorsal left","Hand_0000004.jpg",1']


def write(tmp_path, rows=ROWS, header=HEADER, newline="\r\n", encoding="ascii", bom=b""):
    path = tmp_path / "HandInfo.csv"
    path.write_bytes(bom + (newline.join([header, *rows]) + newline).encode(encoding))
    return path


@pytest.fixture
def published(tmp_path_factory):
    """The records of the file as published: ASCII, CRLF, quoted, a trailing space in one id."""
    return read_metadata(write(tmp_path_factory.mktemp("published")))


@pytest.mark.parametrize("encoding, bom", [("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE),
                                           ("utf-16-be", codecs.BOM_UTF16_BE), ("utf-8", b"")])
def test_encodings_and_byte_order_marks_read_the_same_records(tmp_path, published, encoding, bom):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_metadata(write(tmp_path, encoding=encoding, bom=bom)) == published


def test_windows_1252_is_read_and_said(tmp_path, published):
    rows = [r + ',"Müller"' for r in ROWS]  # an extra column holding a non-ASCII note
    with pytest.warns(MetadataWarning, match="Windows-1252"):
        assert read_metadata(write(tmp_path, rows, HEADER + ",note", encoding="cp1252")) == published


def test_bytes_of_no_known_encoding_are_a_clear_error(tmp_path):
    path = write(tmp_path)
    path.write_bytes(path.read_bytes().replace(b'"fair"', b'"f\x81ir"'))  # 0x81: undefined in Windows-1252
    with pytest.raises(ValueError, match="no encoding we know.*save it again as UTF-8"):
        read_metadata(path)


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"])
def test_line_endings_read_the_same_records(tmp_path, published, newline):
    assert read_metadata(write(tmp_path, newline=newline)) == published


def test_case_and_stray_spaces_are_normalised_not_new_categories(tmp_path, published):
    rows = [r.replace('"dorsal right"', '"Dorsal Right "').replace('"male"', '" MALE"') for r in ROWS[:1]] + \
        [ROWS[1].replace('"palmar left"', '"palmar   LEFT"'), ROWS[2].replace('"very fair"', '"Very Fair"')]
    records = read_metadata(write(tmp_path, rows))
    assert records == published
    assert len(filter_records(records, aspect="dorsal")) == 2  # none vanishes from a filter


def test_identical_duplicate_rows_are_read_once_with_a_warning_naming_them(tmp_path, published):
    with pytest.warns(MetadataWarning, match=r"Hand_0000003.jpg \(line 5 repeats line 3\)"):
        records = read_metadata(write(tmp_path, ROWS + [ROWS[1]]))
    assert records == published


def test_conflicting_duplicates_are_an_error_naming_the_image(tmp_path):
    other = ROWS[1].replace('"male"', '"female"')
    with pytest.raises(ValueError, match=r"Hand_0000003.jpg is listed twice with different values, on lines 3 and 5"):
        read_metadata(write(tmp_path, ROWS + [other]))


@pytest.mark.parametrize("bad, message", [
    (ROWS[2].replace('"female"', '"f"'), r"line 4, column gender: unknown value 'f'"),
    (ROWS[2].replace(",23,", ",twenty,"), r"line 4, column age: cannot read 'twenty'.*Hand_0000004.jpg"),
    (ROWS[2].replace('"dorsal left"', '"dorsal"'), r"line 4, column aspectOfHand"),
    (ROWS[2].replace('"dorsal left"', '"back left"'), r"line 4, column aspect: unknown value 'back'"),
    (ROWS[2].replace('"very fair"', '"pale"'), r"line 4, column skinColor: unknown value 'pale'"),
])
def test_a_value_that_cannot_be_read_is_named_with_line_column_and_value(tmp_path, bad, message):
    with pytest.raises(ValueError, match=message):
        read_metadata(write(tmp_path, ROWS[:2] + [bad]))


def test_unknown_extra_columns_and_blank_lines_are_ignored(tmp_path, published):
    rows = [r + ",x" for r in ROWS]
    assert read_metadata(write(tmp_path, rows + [""] * 2, HEADER + ",comment")) == published
