"""The README, docs/ and the Colab path: every figure and local link resolves, every link points at the pinned release.

The README is a landing page (the course map, the commands, the headline the notebooks write, the library's
map); the rest of the documentation is in docs/, which the HTML book renders after the notebooks.
The repository URL is written once, `[project.urls] Repository` in pyproject.toml;
`make links` (tools/notebooks.py) writes each notebook's Colab badge and install
guard from it and from the release tag `v{project.version}`.
"""
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest
from test_notebooks import NOTEBOOKS, ROOT, notebooks_tool

import darts_lite

URL, TAG = notebooks_tool.project()
README = (ROOT / "README.md").read_text()
DOCS = sorted((ROOT / "docs").glob("*.md"))
# Pages that other tools write (tools/results.py) or other hands: linked before they exist, then checked like any.
WRITTEN_ELSEWHERE = {"docs/results.md", "docs/nas_overview.md"}
README_LINES = 150  # the landing page stays short; the rest goes to docs/
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")
# A GitHub address, directly or as Colab opens it (colab.research.google.com/github/OWNER/NAME/blob/REF/...).
GITHUB = re.compile(r"(?:github\.com|colab\.research\.google\.com/github)/([\w.-]+/[\w.-]+)([^\s)\"'>\]]*)")
SAVEFIG = re.compile(r"savefig\(\s*[\w\[\]\"']+\s*,\s*f?\"([^\"]+)\"")


def _texts():
    """(name, text) of every committed text a reader sees: README, docs, notebook cells."""
    for path in [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / "environment.yml",
                 *ROOT.glob("*/README.md"), *DOCS]:
        yield path.relative_to(ROOT).as_posix(), path.read_text()
    for path in NOTEBOOKS:
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            yield f"{path.name} cell {i}", cell.source


def test_the_version_is_one_and_the_url_is_a_github_repository():
    assert darts_lite.__version__ == TAG.removeprefix("v"), "darts_lite.__version__ differs from pyproject.toml"
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", URL), f"[project.urls] Repository: {URL!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_badge_and_install_guard_are_the_pinned_ones(path):
    nb = nbformat.read(path, as_version=4)
    assert notebooks_tool.badge(path.stem, URL, TAG) in nb.cells[1].source, (
        f"{path.name}: its Colab badge is not the release {TAG}'s of {URL}; run `make links`")
    guard = next(c for c in nb.cells if notebooks_tool.GUARD_TAG in notebooks_tool.tags(c))
    assert guard.source == notebooks_tool.guard(URL, TAG), f"{path.name}: stale install guard; run `make links`"


def test_every_github_link_is_the_repository_at_the_release_tag():
    """No badge, guard or link anywhere points at a branch or at another address."""
    repo = URL.removeprefix("https://github.com/")
    found = []
    for name, text in _texts():
        for match in GITHUB.finditer(text):
            found.append(match.group(0))
            assert match.group(1) == repo, f"{name}: {match.group(0)} is not {URL} (pyproject's [project.urls])"
            assert not re.search(r"/(blob|tree)/(?!" + re.escape(TAG) + r"/)|@(?!" + re.escape(TAG) + r"\b)",
                                 match.group(2)), f"{name}: {match.group(0)} does not point at the release tag {TAG}"
    colab = [link for link in found if link.startswith("colab")]
    assert len(colab) >= len(NOTEBOOKS) and len(found) - len(colab) >= len(NOTEBOOKS)  # badges, guards


def test_the_guard_updates_apt_first_and_every_command_is_quiet():
    commands = [line.strip().lstrip("!%") for line in notebooks_tool.guard(URL, TAG).splitlines()
                if line.strip().startswith(("!", "%"))]
    shell = [part.split(">")[0].split() for line in commands for part in line.split("&&")]
    assert [words[:2] for words in shell] == [["apt-get", "update"], ["apt-get", "install"], ["pip", "install"]]
    assert all({"-q", "-qq"} & set(words) for words in shell), shell
    assert f"@{TAG}" in commands[-1] and URL in commands[-1]


def test_links_rewrites_a_stale_badge_and_guard(tmp_path):
    path = tmp_path / NOTEBOOKS[0].name
    shutil.copy(NOTEBOOKS[0], path)
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace(f"/blob/{TAG}/", "/blob/main/")
    guard = next(c for c in nb.cells if notebooks_tool.GUARD_TAG in notebooks_tool.tags(c))
    guard.source = guard.source.replace(f"@{TAG}", "@main")
    nbformat.write(nb, path)
    before = notebooks_tool.code_hash(nb)
    assert notebooks_tool.links([path]) == [path]
    fixed = nbformat.read(path, as_version=4)
    assert notebooks_tool.badge(path.stem, URL, TAG) in fixed.cells[1].source
    assert notebooks_tool.code_hash(fixed) == before  # the guard is outside the hash: outputs stay valid
    assert notebooks_tool.links([path]) == []  # idempotent


def readme_images() -> list[str]:
    """The README's figures (the Colab badge, an image on Colab's server, left out)."""
    return [a or b for a, b in IMAGE.findall(README) if not urlsplit(a or b).scheme]


def test_the_readme_shows_figures_and_every_one_exists():
    images = readme_images()
    assert len(images) >= 4, f"the README shows {len(images)} figures; it should show 4-6"
    missing = [image for image in images if not (ROOT / image).is_file()]
    assert not missing, f"README names figures that are not committed: {missing} (run `make notebooks`)"


def test_every_readme_figure_is_written_by_its_notebook():
    """figures/NN_name.png comes from notebook NN's `savefig(..., "NN_name")` (f-string parts match anything)."""
    by_number = {path.stem[:2]: path for path in NOTEBOOKS}
    for image in readme_images():
        stem = Path(image).stem
        assert Path(image).parent.as_posix() == "figures" and stem[:2] in by_number, image
        source = "".join(c.source for c in nbformat.read(by_number[stem[:2]], as_version=4).cells)
        names = SAVEFIG.findall(source)
        patterns = [re.sub(r"\\\{[^}]*\\\}", ".+", re.escape(name)) for name in names]
        assert any(re.fullmatch(p, stem) for p in patterns), f"{image}: no savefig in notebook {stem[:2]} writes it"


def test_the_committed_figures_are_the_notebooks_and_at_screen_size():
    pngs = sorted((ROOT / "figures").glob("*.png"))
    assert pngs, "figures/ holds no PNG: run `make notebooks`"
    numbers = {path.stem[:2] for path in NOTEBOOKS}
    strays = [p.name for p in pngs if p.stem[:2] not in numbers]
    assert not strays, f"figures/ holds PNGs no notebook writes: {strays}"
    big = [(p.name, p.stat().st_size) for p in pngs if p.stat().st_size > 1_000_000]
    assert not big, f"figures over 1 MB (save at screen dpi): {big}"


def _section(text: str, heading: str) -> str:
    """The section under `heading` (a whole heading line), up to the next heading of its level or above."""
    level = heading.split()[0]
    body = text.index(heading + "\n") + len(heading) + 1
    end = re.search(r"^#{1,%d} " % len(level), text[body:], flags=re.M)
    return text[body - len(heading) - 1:body + end.start() if end else len(text)]


def test_readme_says_how_a_fork_changes_the_url():
    colab = _section(README, "### Run in Colab")
    assert "make links" in colab and "docs/contributing.md#colab-links-and-forks" in colab
    fork = _section((ROOT / "docs" / "contributing.md").read_text(), "## Colab links and forks")
    assert "make links" in fork and "[project.urls] Repository" in fork


def test_the_readme_is_a_landing_page():
    """Short; the course map names every notebook; the commands; the headline block the results tool fills."""
    lines = README.splitlines()
    assert len(lines) <= README_LINES, f"README.md has {len(lines)} lines; keep it to {README_LINES}, the rest in docs/"
    course = _section(README, "## The course")
    for path in NOTEBOOKS:
        assert f"(notebooks/{path.name})" in course, f"the course map does not link {path.name}"
    for command in ("make demo", "make test", "make site"):
        assert command in README, f"the README does not say `{command}`"
    finds = _section(README, "## What the course finds")
    assert finds.count("<!-- generated:headline -->") == 1 and finds.count("<!-- /generated -->") == 1
    for page in DOCS:
        assert f"(docs/{page.name})" in README, f"the README does not link docs/{page.name}"


def _slug(heading: str) -> str:
    """A heading's anchor, as GitHub and MyST (myst_heading_anchors) write it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower().replace(" ", "-"))


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)  # no headings inside code
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,3} (.+)$", text, flags=re.M)}


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("path", [ROOT / "README.md", *DOCS], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_local_link_resolves(path):
    """Every relative link and image of the README and docs/ names a file, and an anchor a heading of its page."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    broken = []
    for target in LINK.findall(text):
        parts = urlsplit(target)
        if parts.scheme or target.startswith("//"):
            continue
        file = (path.parent / parts.path).resolve() if parts.path else path
        name = file.relative_to(ROOT).as_posix() if file.is_relative_to(ROOT) else str(file)
        if not file.exists():
            if name not in WRITTEN_ELSEWHERE:
                broken.append(target)
        elif parts.fragment and file.suffix == ".md" and parts.fragment not in _anchors(file):
            broken.append(target)
    assert not broken, f"{path.name}: links to nothing: {broken}"


def test_the_glossary_defines_each_term_briefly():
    """One `## term` per term (its anchor, #kept-weight), each defined in 1-3 short sentences."""
    text = (ROOT / "docs" / "glossary.md").read_text()
    terms = re.split(r"^## ", text, flags=re.M)[1:]
    assert len(terms) >= 20
    anchors = _anchors(ROOT / "docs" / "glossary.md")
    for term in ("kept-weight", "decided", "null", "noise-ceiling", "random-genotype", "collapse", "health"):
        assert term in anchors, f"the glossary defines no {term}"
    for entry in terms:
        title, _, body = entry.partition("\n")
        body = re.sub(r"\]\([^)]*\)", "]", body)  # link targets
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", body.strip()) if s]
        assert 1 <= len(sentences) <= 3, f"glossary, {title}: {len(sentences)} sentences"
