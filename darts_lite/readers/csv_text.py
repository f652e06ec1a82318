"""CSV text with the parser's own failures turned into errors that name the file, the line and the fix.

Python's `csv` module fails in its own ways, and decoding fails before it:

| failure | trigger | here |
| --- | --- | --- |
| `UnicodeDecodeError` | bytes that are not UTF-8 (a file saved in another encoding, a binary file) | `decode_utf8`: the line and byte, and "save it as UTF-8" |
| `csv.Error`: field larger than field limit | a field over `FIELD_LIMIT` characters, almost always a quote opened and never closed, which swallows the rest of the file | `csv_rows`: the line where the row began, and where to look |
| `csv.Error`, any other message | malformed input the parser refuses (none is known at the course's dialect; kept for safety) | `csv_rows`: the line and the parser's message |
| a NUL character | a binary or damaged file (Python 3.11's parser accepts NUL inside fields) | `csv_rows`: refused, with the line |
| a row over several lines | a quote opened and closed lines later: fields with line breaks | `CsvRow.last_line`; tables without such fields refuse it (`single_line`) |

No limit is raised: no table the course reads has a field near the parser's 131,072 characters
(`FIELD_LIMIT`), so a longer one is refused as the sign of a broken quote it is.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

#: The csv module's default field size limit, kept: a longer field means an unclosed quote, not data.
FIELD_LIMIT = 131_072


@dataclass(frozen=True)
class CsvRow:
    """One row: the line it starts on (1-based, the header is line 1), the line it ends on, its fields."""

    line: int
    last_line: int
    fields: list[str]


def line_of(raw: bytes, offset: int) -> int:
    """The 1-based line of a byte offset in `raw`."""
    return raw.count(b"\n", 0, offset) + 1


def decode_utf8(raw: bytes, path, what: str, error: type[Exception] = ValueError) -> str:
    """The text of UTF-8 bytes (a UTF-8 byte-order mark dropped); other bytes are an `error` naming line and byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise error(f"{path}, line {line_of(raw, e.start)}: byte 0x{raw[e.start]:02x} (offset {e.start:,}) is not "
                    f"UTF-8 text; is it the {what}? If it was saved in another encoding, save it again as "
                    "UTF-8 CSV") from None


def shorten(value: str, limit: int = 40) -> str:
    """`repr(value)`, cut to about `limit` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(value):,} characters)"


def csv_rows(text: str, path, what: str, error: type[Exception] = ValueError) -> list[CsvRow]:
    """Every row of CSV text (blank lines included as empty rows), or an `error` naming the line that failed."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, start = [], 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return rows
        except csv.Error as e:
            if "field limit" in str(e):
                raise error(f"{path}, line {start}: a field runs past {FIELD_LIMIT:,} characters. A quote opened on "
                            f"or after this line is probably never closed: find it in the {what} and close or "
                            "remove it") from None
            raise error(f"{path}, line {start}: not readable as CSV ({e}); is it the {what}?") from None
        if any("\0" in f for f in fields):
            raise error(f"{path}, line {start}: a NUL character; the {what} is binary or damaged: get a fresh copy")
        rows.append(CsvRow(start, reader.line_num, fields))
        start = reader.line_num + 1


def single_line(row: CsvRow, path, what: str, error: type[Exception] = ValueError) -> CsvRow:
    """`row`, refused if it spans lines: the tables the course reads have no line breaks inside a field."""
    if row.last_line != row.line:
        raise error(f"{path}, line {row.line}: one row runs over lines {row.line}-{row.last_line}; a quote "
                    f"opened on line {row.line} is probably not closed. The {what} has no line breaks inside fields")
    return row


def read_csv(raw: bytes, path, what: str, error: type[Exception] = ValueError) -> tuple[list[str], list[CsvRow]]:
    """(header, rows) of a UTF-8 CSV file's bytes: every parser failure an `error`, every row on one line.

    Blank lines are dropped. An empty file is an `error`.
    """
    rows = [single_line(r, path, what, error) for r in csv_rows(decode_utf8(raw, path, what, error), path, what, error)
            if r.fields]
    if not rows:
        raise error(f"{path} is empty; is it the {what}?")
    return rows[0].fields, rows[1:]

