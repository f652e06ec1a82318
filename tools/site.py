"""Render the README, the executed notebooks and docs/ into a static HTML book, offline.

    python tools/site.py [OUT]     # `make site`; OUT defaults to build/site, open OUT/index.html

Jupyter Book 1.x (Sphinx with MyST-NB) builds the book from a staging folder,
build/site-src: README.md is the first page, the notebooks follow in their order, then
the pages of docs/ that exist (`DOCS` first, in that order, then any other page), with a
table of contents in the sidebar and previous/next links at the foot of each page.
figures/ holds the images; docs/ sits beside README.md and notebooks/, as in the
repository, so a page's `../figures/` links resolve. A link to a docs page that does not
exist (yet) is staged as its text. The notebooks are not executed: the book
shows their committed outputs (`make notebooks` refreshes them). Nothing is fetched
while building, and a reader offline sees every page, figure and formula: MathJax 3
comes from the `site` extra (the Sphinx extension sphinx-mathjax-offline), copied
into OUT/_static/mathjax/ and loaded by a relative URL. Without it the build warns
and the pages load MathJax from its CDN, so that offline the formulas stay TeX source.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# The pages of docs/ in the order of the book; a page is in the book only if its file exists.
DOCS = ["library", "glossary", "results", "nas_overview", "data", "benchmarks", "contributing"]
# A Markdown link or image: [text](target) or ![alt](target), the target without spaces.
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\(([^)]*)\)")
# MathJax 3.2.2 as a Sphinx extension (the `site` extra): it copies MathJax into OUT/_static/mathjax/ and
# points Sphinx's mathjax_path there (its tex-chtml.js component).
MATHJAX = "sphinx-mathjax-offline"
MATHJAX_MISSING = (f"warning: {MATHJAX} is not installed: the book's formulas load MathJax from its CDN and stay "
                   "TeX source offline. `make install-test` (pip install -e '.[site]') installs it.")


def notebooks(root: Path = ROOT) -> list[Path]:
    """The course notebooks, in reading order."""
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def docs(root: Path = ROOT) -> list[Path]:
    """The pages of docs/ that exist: those of `DOCS` in its order, then any other page, sorted."""
    pages = {path.stem: path for path in (root / "docs").glob("*.md")}
    return [pages.pop(name) for name in DOCS if name in pages] + [pages[name] for name in sorted(pages)]


def _unlink_missing(text: str, page: Path, pages: set[Path]) -> str:
    """`text` with each link to a Markdown file that is not a page of the book (`pages`) replaced by its text."""
    def replace(match: re.Match) -> str:
        bang, label, target = match.groups()
        path = target.split("#", 1)[0]
        if bang or not path.endswith(".md") or "://" in path:
            return match.group(0)
        return match.group(0) if (page.parent / path).resolve() in pages else label
    return LINK.sub(replace, text)


def _stage_markdown(page: Path, target: Path, pages: set[Path]) -> None:
    """Copy a Markdown page, its Colab badges as text links (offline) and links to no page of the book as text."""
    text = BADGE.sub(r"[Open in Colab](\1)", page.read_text(encoding="utf-8"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(_unlink_missing(text, page, pages), encoding="utf-8")


def local_mathjax() -> bool:
    """Whether MathJax is installed to be served from the book itself (else it comes from its CDN)."""
    return importlib.util.find_spec(MATHJAX) is not None


def _config(root: Path, mathjax: bool) -> str:
    meta = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    # JSON is YAML: the two files are written without a YAML library.
    return json.dumps({
        "title": f"{meta['name']} {meta['version']}",
        "author": "the darts-lite authors",
        "copyright": "",
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},
        "html": {"use_repository_button": False, "home_page_in_navbar": True},
        "sphinx": {"config": {"html_show_copyright": False, "html_last_updated_fmt": None,
                              "myst_heading_anchors": 3},  # the README's links to its own sections
                   "extra_extensions": [MATHJAX] if mathjax else []},
    }, indent=2)


def _toc(root: Path) -> str:
    parts = [{"caption": "The course", "chapters": [{"file": f"notebooks/{path.stem}"} for path in notebooks(root)]}]
    if docs(root):
        parts.append({"caption": "Reference", "chapters": [{"file": f"docs/{path.stem}"} for path in docs(root)]})
    return json.dumps({"format": "jb-book", "root": "README", "parts": parts}, indent=2)


def stage(source: Path, root: Path = ROOT) -> Path:
    """Copy the book's sources (README, notebooks, docs, figures) and its two config files into `source`."""
    shutil.rmtree(source, ignore_errors=True)
    (source / "notebooks").mkdir(parents=True)
    pages = {path.resolve() for path in [root / "README.md", *docs(root)]}
    _stage_markdown(root / "README.md", source / "README.md", pages)
    for page in docs(root):
        _stage_markdown(page, source / "docs" / page.name, pages)
    for path in notebooks(root):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:  # the badge image lives on Colab's server: a text link reads offline too
            if cell.cell_type == "markdown":
                cell.source = BADGE.sub(r"[Open in Colab](\1)", cell.source)
        nbformat.write(nb, source / "notebooks" / path.name)
    shutil.copytree(root / "figures", source / "figures", ignore=shutil.ignore_patterns("README.md"))
    mathjax = local_mathjax()
    if not mathjax:
        print(MATHJAX_MISSING, file=sys.stderr)
    (source / "_config.yml").write_text(_config(root, mathjax))
    (source / "_toc.yml").write_text(_toc(root))
    return source


def build(out: Path, root: Path = ROOT, quiet: bool = True) -> Path:
    """Build the book into `out` (replaced); the path of its index.html. Raises on any Sphinx warning."""
    source = stage(out.parent / (out.name + "-src"), root)
    jupyter_book = ["-c", "from jupyter_book.cli.main import main; main()"]  # its console script, by this Python
    command = [sys.executable, *jupyter_book, "build", str(source), "--builder", "html",
               "--warningiserror", "--keep-going"] + (["--quiet"] if quiet else [])
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"jupyter-book build failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n"
                           f"{proc.stderr[-3000:]}")
    shutil.rmtree(out, ignore_errors=True)
    shutil.move(source / "_build" / "html", out)
    shutil.rmtree(source / "_build", ignore_errors=True)
    return out / "index.html"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else ROOT / "build" / "site"
    index = build(out.resolve(), quiet=False)
    print(f"the book: {index}")


if __name__ == "__main__":
    main()
