"""Tables of results, written one way: aligned text, Markdown, CSV, and key-value summaries.

A table is a list of row dicts and its columns, each column a header and what to show:

* `"key"` or `"key:spec"`: the row's value under `key`, formatted with the format spec (`"acc:.3f"`,
  `"params:,"`); a missing value or None shows as "n/a";
* a function of the row, for a cell made of several values (`lambda r: f"{r['mean']:.3f} ± {r['std']:.3f}"`).

`text_table` aligns the columns for a terminal or a notebook (names left, numbers right),
`markdown_table` writes GitHub Markdown, `write_csv` keeps the raw values, and `key_value_table`
prints one summary dict as two columns.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Callable, Sequence, Union

Column = tuple[str, Union[str, Callable[[dict], str]]]


def cell(row: dict, what: str | Callable[[dict], str]) -> str:
    """The text of one cell: `what` is "key", "key:spec" or a function of the row."""
    if callable(what):
        return str(what(row))
    key, _, spec = what.partition(":")
    value = row.get(key)
    return "n/a" if value is None else format(value, spec)


def _cells(rows: Sequence[dict], columns: Sequence[Column]) -> tuple[list[str], list[list[str]]]:
    if not columns:
        raise ValueError("a table needs at least one column")
    return [header for header, _ in columns], [[cell(row, what) for _, what in columns] for row in rows]


def text_table(rows: Sequence[dict], columns: Sequence[Column], gap: int = 2, left: int = 1) -> str:
    """Aligned plain text: a header line, then one line per row; the first `left` columns aligned left
    (names, words), the others right (numbers)."""
    headers, body = _cells(rows, columns)
    widths = [max(len(line[c]) for line in [headers, *body]) for c in range(len(headers))]
    pad = " " * gap

    def line(values: list[str]) -> str:
        return pad.join(v.ljust(w) if c < left else v.rjust(w)
                        for c, (v, w) in enumerate(zip(values, widths))).rstrip()

    return "\n".join(line(values) for values in [headers, *body])


def markdown_table(rows: Sequence[dict], columns: Sequence[Column], caption: str | None = None) -> str:
    """A GitHub Markdown table (numbers right-aligned), with an optional caption line above it."""
    headers, body = _cells(rows, columns)
    align = ["---"] + ["---:"] * (len(headers) - 1)
    lines = ["| " + " | ".join(values) + " |" for values in [headers, align, *body]]
    return "\n".join(([caption, ""] if caption else []) + lines)


def write_csv(rows: Sequence[dict], path: str | Path) -> Path:
    """The rows with their raw values, one column per key of the first row."""
    if not rows:
        raise ValueError(f"no rows to write to {path}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def key_value_table(summary: dict) -> str:
    """A two-column `key : value` listing of one dict (multi-line values indented under their first line)."""
    width = max(len(str(k)) for k in summary)
    lines = []
    for key, value in summary.items():
        text = str(value).replace("\n", "\n" + " " * (width + 3))
        lines.append(f"{key!s:<{width}} : {text}")
    return "\n".join(lines)
