"""Write the measured results into the prose: the generated blocks of the README, docs/ and the notebooks.

    python tools/results.py          # `make results`: fill every block from the committed notebooks
    python tools/results.py --check  # list the blocks that disagree with the results (exit 1 if any)

A block is Markdown between `<!-- generated:KEY -->` and `<!-- /generated -->`. Its body is
computed from the results that each committed notebook recorded (the JSON line printed by its
cell tagged `results`), by the notebook's course module (`darts_lite.course.nbNN`):

- `findings/NN`: the notebook's findings, one bullet each (its Summary, docs/results.md);
- `headline`: one bullet per notebook that has a headline, each linking to it (the README);
- `course-results`: every notebook's findings under its title (docs/results.md).

`make notebooks` runs it after executing, so that re-executing a notebook rewrites its prose too,
and `tests/test_prose.py` fails when a block is stale.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(<!-- generated:(?P<key>[\w/.-]+) -->\n)(?P<body>.*?)(<!-- /generated -->)", re.S)


def notebook_results(path: Path) -> dict:
    """The results a committed notebook recorded: the last line its `results` cell printed, as JSON."""
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if "results" in cell.get("metadata", {}).get("tags", []):
            text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", [])
                           if o.get("output_type") == "stream")
            if text.strip():
                return json.loads(text.strip().splitlines()[-1])
    raise ValueError(f"{path.name}: no output of a cell tagged 'results': execute it with `make notebooks`")


def _notebooks(root: Path) -> dict[str, Path]:
    return {p.stem[:2]: p for p in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))}


def _title(path: Path) -> str:
    nb = json.loads(path.read_text())
    first = "".join(nb["cells"][0]["source"]).strip().splitlines()[0]
    return first.lstrip("# ").strip()


def render(key: str, page: Path, root: Path = ROOT) -> str:
    """The Markdown body of block `key` on `page` (links are made relative to the page)."""
    from darts_lite import course

    books = _notebooks(root)
    rel = os.path.relpath(root / "notebooks", page.parent).replace(os.sep, "/")

    def bullets(lines):
        return "".join(f"- {line}\n" for line in lines)

    if key.startswith("findings/"):
        number = key.split("/", 1)[1]
        return bullets(course.findings(number, notebook_results(books[number])))
    if key == "headline":
        lines = []
        for number, path in books.items():
            line = course.module(number).headline(notebook_results(path))
            if line:
                lines.append(f"{line} ([{number}]({rel}/{path.name}))")
        return bullets(lines)
    if key == "course-results":
        parts = []
        for number, path in books.items():
            parts.append(f"## [{_title(path)}]({rel}/{path.name})\n\n"
                         + bullets(course.findings(number, notebook_results(path))))
        return "\n".join(parts)
    raise KeyError(f"{page.name}: unknown generated block {key!r} (findings/NN, headline, course-results)")


def pages(root: Path = ROOT) -> list[Path]:
    return ([root / "README.md"] + sorted((root / "docs").glob("*.md"))
            + sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")))


def _fill(text: str, page: Path, root: Path, stale: list) -> str:
    def one(m):
        body = render(m.group("key"), page, root)
        if body != m.group("body"):
            stale.append((page.relative_to(root).as_posix(), m.group("key")))
        return m.group(1) + body + m.group(4)
    return BLOCK.sub(one, text)


def update(root: Path = ROOT, write: bool = True, only: list[Path] | None = None) -> list[tuple[str, str]]:
    """Fill every generated block (of `only`, or of every page); the (page, key) pairs that were stale."""
    stale: list[tuple[str, str]] = []
    for page in only or pages(root):
        if page.suffix == ".ipynb":
            nb = nbformat.read(page, as_version=4)
            before = len(stale)
            for cell in nb.cells:
                if cell.cell_type == "markdown":
                    cell.source = _fill(cell.source, page, root, stale)
            if write and len(stale) > before:
                nbformat.write(nb, page)
        else:
            text = page.read_text()
            new = _fill(text, page, root, stale)
            if write and new != text:
                page.write_text(new)
    return stale


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = update(write=not check)
    for page, key in stale:
        print(f"{'stale' if check else 'rewrote'}: {page} block {key}")
    if check and stale:
        print("run `make results` (or `make notebooks NB=NN`, which runs it) and commit the pages")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
