"""Bounded readers: the bottom layer. Every file a user hands the course is read through here.

`bounded` reads JSON, JSON lines, raw bytes and torch files at most a set number of bytes long,
checked for their kind, with errors that name the file and say what was expected. This package
imports nothing else of darts_lite, so every layer above may use it.
"""
from .bounded import (
    MAX_JSON_BYTES, MAX_TORCH_BYTES, check_file, read_bytes, read_json, read_json_lines, torch_load,
)

__all__ = ["MAX_JSON_BYTES", "MAX_TORCH_BYTES", "check_file", "read_bytes", "read_json", "read_json_lines",
           "torch_load"]
