"""Reading HandInfo.csv, whatever saved it: encodings, byte-order marks, line endings, case, duplicates.

The published file is ASCII with CRLF line endings, quoted strings, ids with leading zeros and one
id with a trailing space. A copy opened and saved again (Excel, a text editor, pandas) may come
back in UTF-8 with a byte-order mark, UTF-16, Windows-1252, with LF or CR line endings, with its
categorical values in another case or with stray spaces, with rows repeated, or with extra
columns. `read_metadata` reads all of these to the same records, and says what it did:

* categorical values (gender, skin colour, aspect and side) are trimmed, lower-cased and checked
  against the published categories, so "Dorsal Right " is "dorsal right", never a new aspect;
  a value outside them is an error naming its line, column and value;
* a row repeated identically is kept once, with a warning naming the repeated images; the same
  image listed with different values is an error naming the image and both lines;
* a number that is not a whole number in ASCII digits, an age outside `AGE_RANGE` or a flag
  (accessories, nail polish, irregularities) other than 0 or 1 is an error naming its line, column
  and value;
* an image name that is not a plain file name (a path separator, a control character) is an error;
* columns other than the published ones are ignored; a published column named twice is an error.

The parser's own failures are errors of the same kind, each naming the file and the line
(`readers.csv_text`): bytes in no known encoding, a quote never closed (a field past the parser's
limit, or a row running over several lines), a NUL character, a row with fewer fields than the
header or with extra non-empty ones. Every one of them is an error, not a skipped row: each means
the file was damaged or mis-edited, and a silently shorter dataset would change every split. Rows
that are blank, or only commas, are skipped; they hold no image.
"""
from __future__ import annotations

import codecs
import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from ...readers import csv_rows, line_of, read_bytes, shorten, single_line

MAX_CSV_BYTES = 64 * 2**20  # the published HandInfo.csv is 0.8 MB (11,076 rows)
COLUMNS = ("id", "age", "gender", "skinColor", "accessories", "nailPolish", "aspectOfHand", "imageName",
           "irregularities")
#: The published categories (after trimming and lower-casing).
CATEGORIES = {"gender": ("female", "male"), "skinColor": ("very fair", "fair", "medium", "dark"),
              "aspect": ("dorsal", "palmar"), "side": ("left", "right")}
AGE_GROUPS = ("<20", "20-29", "30+")
AGE_RANGE = (0, 120)  # the published ages are 18 to 75
FLAGS = ("accessories", "nailPolish", "irregularities")  # 0 or 1
HOW_TO_GET = ("Get the data with darts_lite.data.download_hands11k('data/11k-hands') (or download Hands.zip "
              "and HandInfo.csv from the 11K Hands project page), then put HandInfo.csv and Hands/ in "
              "data/11k-hands/ or set the environment variable HANDS11K_ROOT to the folder holding them.")


class MetadataWarning(UserWarning):
    """HandInfo.csv was read, but something in it was repaired or left out (the message says what)."""


@dataclass(frozen=True)
class HandRecord:
    """One row of HandInfo.csv; `aspectOfHand` is split into `aspect` and `side`."""

    id: str  # 7 digits with leading zeros, trailing space stripped: one id per person
    age: int
    gender: str
    skin_color: str
    accessories: int
    nail_polish: int
    aspect: str  # dorsal | palmar
    side: str  # left | right
    image_name: str
    irregularities: int

    @property
    def subject(self) -> str:
        """The person this image shows (the id)."""
        return self.id

    @property
    def age_group(self) -> str:
        """The age bin: <20, 20-29 or 30+."""
        return AGE_GROUPS[0] if self.age < 20 else AGE_GROUPS[1] if self.age < 30 else AGE_GROUPS[2]


def decode(raw: bytes, path: Path) -> tuple[str, str]:
    """The text of the file and the encoding it was read with: a BOM decides, else UTF-8, else Windows-1252."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            try:
                return raw.decode(encoding), encoding
            except UnicodeDecodeError as err:
                where = err.start if encoding == "utf-8-sig" else None
                raise ValueError(f"{path}"
                                 + (f", line {line_of(raw, where)}" if where is not None else "")
                                 + f": starts as {encoding.upper().replace('-SIG', '')} (its byte-order mark) but is "
                                 f"not valid {encoding.replace('-sig', '')} ({err.reason} at byte {err.start:,}); "
                                 "the file is damaged or cut short: save it again as UTF-8 CSV") from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}, line {line_of(raw, err.start)}: byte 0x{raw[err.start]:02x} is in no encoding we "
                         "know (not UTF-8, UTF-16 with a byte-order mark or Windows-1252); is it HandInfo.csv? "
                         "If so, save it again as UTF-8 CSV") from None


def _category(value: str, column: str, line: int, path: Path) -> str:
    text = " ".join(value.split()).lower()
    allowed = CATEGORIES[column]
    if text not in allowed:
        raise ValueError(f"{path}, line {line}, column {column}: unknown value {shorten(value)}; expected one of "
                         f"{', '.join(allowed)} (case and spaces do not matter)")
    return text


def _number(row: dict, column: str, line: int, path: Path, low: int, high: int) -> int:
    """A whole number in ASCII digits within [low, high] (`int` alone would take '2_7' and other scripts' digits)."""
    value = (row.get(column) or "").strip()
    digits = value[1:] if value[:1] in "+-" else value
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 6):
        raise ValueError(f"{path}, line {line}, column {column}: cannot read {shorten(value)} as a whole number "
                         f"(image {shorten(row.get('imageName') or '?')})")
    number = int(value)
    if not low <= number <= high:
        raise ValueError(f"{path}, line {line}, column {column}: {number} is outside {low}-{high} "
                         f"(image {shorten(row.get('imageName') or '?')}); correct the value")
    return number


def _image_name(row: dict, line: int, path: Path) -> str:
    """The image's file name: a plain name inside Hands/, never a path or a name with control characters."""
    image = (row.get("imageName") or "").strip()
    if not image:
        raise ValueError(f"{path}, line {line}, column imageName: empty")
    if "/" in image or "\\" in image or image in (".", "..") or any(ord(c) < 32 or ord(c) == 127 for c in image):
        raise ValueError(f"{path}, line {line}, column imageName: {shorten(image)} is not a plain file name "
                         "(a path separator or a control character); image names look like Hand_0000002.jpg")
    return image


def parse_row(row: dict, line: int, path: Path) -> HandRecord:
    """One record from one CSV row, its values checked and normalised (module docstring)."""
    words = (row.get("aspectOfHand") or "").split()
    if len(words) != 2:
        raise ValueError(f"{path}, line {line}, column aspectOfHand: expected '<dorsal|palmar> <left|right>', "
                         f"got {shorten(row.get('aspectOfHand') or '')}")
    image = _image_name(row, line, path)
    flag = {c: _number(row, c, line, path, 0, 1) for c in FLAGS}
    return HandRecord(
        id=(row.get("id") or "").strip(), age=_number(row, "age", line, path, *AGE_RANGE),
        gender=_category(row.get("gender") or "", "gender", line, path),
        skin_color=_category(row.get("skinColor") or "", "skinColor", line, path),
        accessories=flag["accessories"], nail_polish=flag["nailPolish"],
        aspect=_category(words[0], "aspect", line, path), side=_category(words[1], "side", line, path),
        image_name=image, irregularities=flag["irregularities"])


def read_metadata(csv_path) -> list[HandRecord]:
    """Read HandInfo.csv (or the one inside a root folder) into one HandRecord per image."""
    path = Path(csv_path)
    if path.is_dir():
        path = path / "HandInfo.csv"
    if not path.exists():
        raise FileNotFoundError(f"HandInfo.csv not found at {path}. {HOW_TO_GET}")
    text, encoding = decode(read_bytes(path, "HandInfo.csv", MAX_CSV_BYTES), path)
    rows = [r for r in csv_rows(text, path, "HandInfo.csv") if r.fields]  # blank lines dropped
    if not rows:
        raise ValueError(f"{path} is empty; re-download it. {HOW_TO_GET}")
    header = [name.strip() for name in single_line(rows[0], path, "HandInfo.csv").fields]
    rows = [rows[0]] + [r for r in rows[1:] if any(f.strip() for f in r.fields)]  # and rows of only commas
    twice = sorted({c for c in COLUMNS if header.count(c) > 1})
    if twice:
        raise ValueError(f"{path}: the column(s) {', '.join(twice)} appear twice in the header; keep one of each")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {', '.join(missing)} (found {header[:12]}); "
                         f"is it the 11K Hands HandInfo.csv? {HOW_TO_GET}")
    records, first_line, repeated = {}, {}, []
    for r in rows[1:]:
        line, fields = single_line(r, path, "HandInfo.csv").line, r.fields
        if len(fields) < len(header) or any(f.strip() for f in fields[len(header):]):
            raise ValueError(f"{path}, line {line}: {len(fields)} fields where the header has {len(header)}; a "
                             "comma or a quote is missing or extra on this line")
        record = parse_row(dict(zip(header, fields)), line, path)
        seen = records.get(record.image_name)
        if seen is None:
            records[record.image_name], first_line[record.image_name] = record, line
        elif seen == record:
            repeated.append(f"{record.image_name} (line {line} repeats line {first_line[record.image_name]})")
        else:
            raise ValueError(f"{path}: image {record.image_name} is listed twice with different values, on lines "
                             f"{first_line[record.image_name]} and {line} ({seen} vs {record}); keep the right row")
    if not records:
        raise ValueError(f"{path} has a header but no rows; re-download it. {HOW_TO_GET}")
    if repeated:
        warnings.warn(f"{path}: {len(repeated)} row(s) repeat an earlier row identically and were read once: "
                      f"{'; '.join(repeated[:10])}{' ...' if len(repeated) > 10 else ''}", MetadataWarning,
                      stacklevel=2)
    if encoding == "cp1252":
        warnings.warn(f"{path} is neither UTF-8 nor marked by a byte-order mark; it was read as Windows-1252",
                      MetadataWarning, stacklevel=2)
    return list(records.values())
