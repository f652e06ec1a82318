"""The README and the Colab path: every figure named exists, every link points at the pinned release.

The repository URL is written once, `[project.urls] Repository` in pyproject.toml;
`make links` (tools/notebooks.py) writes each notebook's Colab badge and install
guard from it and from the release tag `v{project.version}`.
"""
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from test_notebooks import NOTEBOOKS, ROOT, notebooks_tool

import darts_lite

URL, TAG = notebooks_tool.project()
README = (ROOT / "README.md").read_text()
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)|<img [^>]*src=\"([^\"]+)\"")
# A GitHub address, directly or as Colab opens it (colab.research.google.com/github/OWNER/NAME/blob/REF/...).
GITHUB = re.compile(r"(?:github\.com|colab\.research\.google\.com/github)/([\w.-]+/[\w.-]+)([^\s)\"'>\]]*)")
SAVEFIG = re.compile(r"savefig\(\s*[\w\[\]\"']+\s*,\s*f?\"([^\"]+)\"")


def _texts():
    """(name, text) of every committed text a reader sees: README, docs, notebook cells."""
    for path in [ROOT / "README.md", ROOT / "pyproject.toml", ROOT / "environment.yml",
                 *ROOT.glob("*/README.md")]:
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
    return [a or b for a, b in IMAGE.findall(README)]


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


def test_readme_says_how_a_fork_changes_the_url():
    section = README[README.index("## Run in Colab"):README.index("## The notebooks")]
    assert "make links" in section and "[project.urls] Repository" in section
