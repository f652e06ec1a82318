"""Reading the files users hand each other: bounded in size, checked for their kind, named in every error.

Genotypes, configurations, run records and cost tables travel between people (a course's shared
folder, a colleague's run directory). A file of the wrong kind (an image saved as genotype.json,
a directory, /dev/zero) or one far too large must stop with an error that names it and says what
was expected, never with a traceback from deep inside `json` or `pickle`, and never after reading
gigabytes: `read_bytes` reads at most `max_bytes + 1` bytes, whatever the file system says.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

MAX_JSON_BYTES = 16 * 2**20     # configs, genotypes, metrics, cost tables: a few kB to a few MB
MAX_TORCH_BYTES = 2 * 2**30     # checkpoints and saved tensors of the course's networks: a few MB
TORCH_MAGIC = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")  # zip (torch.save), pickle


def check_file(path: str | Path, what: str, max_bytes: int, error: type[Exception] = ValueError,
               hint: str = "") -> Path:
    """`path` if it is a regular file of at most `max_bytes`; else FileNotFoundError or `error`, naming it."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} file {path} does not exist{'; ' + hint if hint else ''}")
    if not path.is_file():
        raise error(f"{path} is not a {what} file: it is not a regular file (a directory, device or pipe)")
    size = path.stat().st_size
    if size > max_bytes:
        raise error(f"{path} is not a {what} file: {size:,} bytes, over the {max_bytes:,}-byte limit of one")
    return path


def read_bytes(path: str | Path, what: str, max_bytes: int, error: type[Exception] = ValueError,
               hint: str = "") -> bytes:
    """The bytes of a checked file (`check_file`), reading at most `max_bytes + 1` even if it grows meanwhile."""
    path = check_file(path, what, max_bytes, error, hint)
    try:
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as e:  # no permission, a disk error, a file removed meanwhile
        raise error(f"{path}: the {what} file cannot be read ({e.strerror or e}); check its permissions") from e
    if len(raw) > max_bytes:
        raise error(f"{path} is not a {what} file: over the {max_bytes:,}-byte limit of one")
    return raw


def read_json(path: str | Path, what: str, error: type[Exception] = ValueError, expect: type = dict,
              max_bytes: int = MAX_JSON_BYTES, hint: str = "") -> Any:
    """The JSON value of a `what` file, of type `expect` (None: any); a clear `error` for any other file."""
    raw = read_bytes(path, what, max_bytes, error, hint)
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError; so is a too-deep nesting
        raise error(f"{path} is not a {what} file (JSON text expected): {e}") from e
    except RecursionError as e:
        raise error(f"{path} is not a {what} file: its JSON is nested too deeply to read") from e
    if expect is not None and not isinstance(value, expect):
        raise error(f"{path} is not a {what} file: it holds a JSON {type(value).__name__}, "
                    f"a {what} file holds a JSON {'object' if expect is dict else expect.__name__}")
    return value


def read_json_lines(path: str | Path, what: str, error: type[Exception] = ValueError,
                    max_bytes: int = MAX_JSON_BYTES) -> list[dict]:
    """The records of a .jsonl `what` file, one JSON object per line (none if the file does not exist)."""
    if not Path(path).exists():
        return []
    raw = read_bytes(path, what, max_bytes, error)
    try:
        records = [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise error(f"{path} is not a {what} file (one JSON object per line expected): {e}") from e
    if not all(isinstance(r, dict) for r in records):
        raise error(f"{path} is not a {what} file: a line holds something other than a JSON object")
    return records


def torch_load(path: str | Path, what: str, error: type[Exception] = ValueError,
               map_location: str | torch.device = "cpu", weights_only: bool = True,
               max_bytes: int = MAX_TORCH_BYTES, hint: str = "") -> Any:
    """`torch.load` of a `what` file, after checking its size and that it starts as torch.save writes files."""
    path = check_file(path, what, max_bytes, error, hint)
    with open(path, "rb") as f:
        head = f.read(4)
    if not head.startswith(TORCH_MAGIC):
        raise error(f"{path} is not a {what} file: it was not written by torch.save")
    try:
        return torch.load(path, map_location=map_location, weights_only=weights_only)
    except Exception as e:  # torch raises several types for a damaged or foreign file
        raise error(f"{path} is not a readable {what} file ({type(e).__name__}: {e})") from e
