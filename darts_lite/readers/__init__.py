"""Bounded readers: the bottom layer. Every file a user hands the course is read through here.

`bounded` reads JSON, JSON lines, raw bytes and torch files at most a set number of bytes long,
checked for their kind, with errors that name the file and say what was expected. This package
imports nothing else of darts_lite, so every layer above may use it. `csv_text` reads CSV text with
every failure of the decoder and of the `csv` parser turned into an error naming the file and line.
"""
from .csv_text import FIELD_LIMIT, CsvRow, csv_rows, decode_utf8, line_of, read_csv, shorten, single_line
from .bounded import (
    MAX_JSON_BYTES, MAX_TORCH_BYTES, check_file, read_bytes, read_json, read_json_lines, torch_load,
)

__all__ = ["FIELD_LIMIT", "CsvRow", "csv_rows", "decode_utf8", "line_of", "read_csv", "shorten", "single_line",
           "MAX_JSON_BYTES", "MAX_TORCH_BYTES", "check_file", "read_bytes", "read_json", "read_json_lines",
           "torch_load"]
