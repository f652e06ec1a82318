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
* a number that does not parse is an error naming its line, column and value;
* columns other than the published ones are ignored.
"""
from __future__ import annotations

import codecs
import csv
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from ...readers import read_bytes

MAX_CSV_BYTES = 64 * 2**20  # the published HandInfo.csv is 0.8 MB (11,076 rows)
COLUMNS = ("id", "age", "gender", "skinColor", "accessories", "nailPolish", "aspectOfHand", "imageName",
           "irregularities")
#: The published categories (after trimming and lower-casing).
CATEGORIES = {"gender": ("female", "male"), "skinColor": ("very fair", "fair", "medium", "dark"),
              "aspect": ("dorsal", "palmar"), "side": ("left", "right")}
AGE_GROUPS = ("<20", "20-29", "30+")
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
            return raw.decode(encoding), encoding
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is in no encoding we know (not UTF-8, UTF-16 with a byte-order mark or "
                         f"Windows-1252: {err}); save it again as UTF-8 CSV") from None


def _category(value: str, column: str, line: int, path: Path) -> str:
    text = " ".join(value.split()).lower()
    allowed = CATEGORIES[column]
    if text not in allowed:
        raise ValueError(f"{path}, line {line}, column {column}: unknown value {value!r}; expected one of "
                         f"{', '.join(allowed)} (case and spaces do not matter)")
    return text


def _number(row: dict, column: str, line: int, path: Path) -> int:
    value = (row.get(column) or "").strip()
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{path}, line {line}, column {column}: cannot read {value!r} as a whole number "
                         f"(image {row.get('imageName', '?')!r})") from None


def parse_row(row: dict, line: int, path: Path) -> HandRecord:
    """One record from one CSV row, its values checked and normalised (module docstring)."""
    words = (row.get("aspectOfHand") or "").split()
    if len(words) != 2:
        raise ValueError(f"{path}, line {line}, column aspectOfHand: expected '<dorsal|palmar> <left|right>', "
                         f"got {row.get('aspectOfHand')!r}")
    image = (row.get("imageName") or "").strip()
    if not image:
        raise ValueError(f"{path}, line {line}, column imageName: empty")
    return HandRecord(
        id=(row.get("id") or "").strip(), age=_number(row, "age", line, path),
        gender=_category(row.get("gender") or "", "gender", line, path),
        skin_color=_category(row.get("skinColor") or "", "skinColor", line, path),
        accessories=_number(row, "accessories", line, path), nail_polish=_number(row, "nailPolish", line, path),
        aspect=_category(words[0], "aspect", line, path), side=_category(words[1], "side", line, path),
        image_name=image, irregularities=_number(row, "irregularities", line, path))


def read_metadata(csv_path) -> list[HandRecord]:
    """Read HandInfo.csv (or the one inside a root folder) into one HandRecord per image."""
    path = Path(csv_path)
    if path.is_dir():
        path = path / "HandInfo.csv"
    if not path.exists():
        raise FileNotFoundError(f"HandInfo.csv not found at {path}. {HOW_TO_GET}")
    text, encoding = decode(read_bytes(path, "HandInfo.csv", MAX_CSV_BYTES), path)
    reader = csv.DictReader(io.StringIO(text, newline=""))  # the csv module reads CRLF, LF and CR itself
    if not reader.fieldnames:
        raise ValueError(f"{path} is empty; re-download it. {HOW_TO_GET}")
    reader.fieldnames = [name.strip() for name in reader.fieldnames]
    missing = [c for c in COLUMNS if c not in reader.fieldnames]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {', '.join(missing)} (found {reader.fieldnames}); "
                         f"is it the 11K Hands HandInfo.csv? {HOW_TO_GET}")
    records, first_line, repeated = {}, {}, []
    for line, row in enumerate(reader, start=2):
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # a blank line (an editor's trailing newlines)
        record = parse_row(row, line, path)
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
