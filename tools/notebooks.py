"""Keep the committed notebooks executed, clean and pointing at one pinned release.

    python tools/notebooks.py execute [NN_slug ...]   # `make notebooks`: run in place at the CPU defaults
    python tools/notebooks.py links                   # `make links`: badges and install guards from pyproject

`execute` runs each notebook top to bottom with papermill at the defaults of its
`parameters` cell (nothing injected), then writes it back with its outputs and a
record in `metadata.darts_lite`: the parameters it ran with, the data it saw, the
versions, and `code_sha256`, a hash of its code cells. `tests/test_notebooks.py`
recomputes that hash, so a code cell edited after the outputs were made fails CI
until the notebook is executed again. A notebook that raises is not written back.

`links` rewrites each notebook's Colab badge and install guard from the one
repository URL (`[project.urls] Repository` in pyproject.toml) and the release tag
`v{project.version}`. The guard cell is left out of the hash: it does nothing where
darts_lite is installed, so a fork that changes its URL keeps its executed outputs.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import sys
import sysconfig
import time
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
GUARD_TAG = "install-guard"  # the install guard's cell tag
WIDGET = "application/vnd.jupyter.widget-view+json"  # an ipywidgets output (tqdm's bars in a notebook)
# Where tests and CI find the real 11K Hands mini set (beside the repository, never copied in).
HANDS_MINI = ROOT.parent / "shared" / "data" / "11k-hands-mini"
NEEDS_HANDS = {"01_data", "07_hand_gender_search"}


def project() -> tuple[str, str]:
    """The repository URL (`[project.urls] Repository`) and the release tag `v{version}` of pyproject.toml."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return meta["urls"]["Repository"].rstrip("/"), f"v{meta['version']}"


def badge(name: str, url: str, tag: str) -> str:
    """The Colab badge of notebook `name` (NN_slug), opening the notebook of release `tag`."""
    repo = url.removeprefix("https://github.com/")
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{repo}/blob/{tag}/notebooks/{name}.ipynb)")


def guard(url: str, tag: str) -> str:
    """The install guard: quiet, pinned to release `tag`, a no-op wherever darts_lite imports."""
    return ("# Install guard: does nothing where darts_lite is installed (locally, in CI).\n"
            "try:\n"
            "    import darts_lite  # noqa: F401\n"
            "except ImportError:  # e.g. on Colab: Graphviz's `dot` for the drawings, then the pinned release\n"
            "    !apt-get update -qq > /dev/null && apt-get install -y -qq graphviz > /dev/null\n"
            f'    %pip install -q "darts-lite @ git+{url}@{tag}"')


def tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def code_hash(nb) -> str:
    """SHA-256 of the notebook's code cells (in order), the install guard excepted."""
    sources = [c.source for c in nb.cells if c.cell_type == "code" and GUARD_TAG not in tags(c)]
    return hashlib.sha256(json.dumps(sources).encode()).hexdigest()


def parameters(nb) -> dict[str, str]:
    """The knobs of the cell tagged `parameters`: each assigned name and the source of its value."""
    cell = next(c for c in nb.cells if "parameters" in tags(c))
    tree = ast.parse(cell.source)
    return {node.targets[0].id: ast.get_source_segment(cell.source, node.value) for node in tree.body
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)}


def links(paths) -> list[Path]:
    """Rewrite the badge line and the guard of each notebook from pyproject.toml; the notebooks changed."""
    import nbformat

    url, tag = project()
    changed = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        header = nb.cells[1]
        header.source = re.sub(r"^\[!\[Open In Colab\].*$", badge(path.stem, url, tag), header.source, count=1,
                               flags=re.M)
        for cell in nb.cells:
            if GUARD_TAG in tags(cell):
                cell.source = guard(url, tag)
        if nbformat.writes(nb) != before:
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def scrub(text: str, replacements: dict[str, str]) -> str:
    """Replace each machine-specific prefix (longest first) by a portable name, a cell's temp file by <cell>."""
    for prefix in sorted(replacements, key=len, reverse=True):
        text = text.replace(prefix, replacements[prefix])
    return re.sub(r"\S*ipykernel_\d+[/\\]\d+\.py", "<cell>", text)


def _clean_outputs(nb, replacements: dict[str, str]) -> None:
    """Drop papermill's per-cell metadata, progress-bar widgets and the machine's paths from the outputs.

    A widget's state is not saved by papermill, so GitHub would show a progress bar frozen at 0%;
    the library's own bars are widgets in a notebook whatever TQDM_DISABLE says (`disable=False`).
    """
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if WIDGET not in o.get("data", {})]
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = scrub(output["text"], replacements)
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    output["data"][mime] = scrub(value, replacements)


def _hands_root(name: str) -> str | None:
    root = os.environ.get("HANDS11K_ROOT") or (str(HANDS_MINI) if HANDS_MINI.is_dir() else None)
    if name in NEEDS_HANDS and not root:
        raise SystemExit(f"{name} needs 11K Hands on disk: set HANDS11K_ROOT to its folder (the committed "
                         "notebooks ran on the 1,108-image mini set), or execute the other notebooks by name")
    return root


@contextlib.contextmanager
def _environment(**values: str):
    """Set environment variables (the kernel inherits them) for the block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def execute(path: Path, repo: Path = ROOT) -> dict:
    """Run one notebook of `repo` in place at its defaults; its `metadata.darts_lite` record."""
    import nbformat
    import papermill as pm
    import torch

    import darts_lite
    from darts_lite.core.host import host_record

    root = _hands_root(path.stem)
    env = {"TQDM_DISABLE": "1",  # fewer progress bars (those that pass disable=False are dropped afterwards)
           "DARTS_LITE_FIGURES": str(repo / "figures")}
    if root:
        env["HANDS11K_ROOT"] = str(Path(root).resolve())
    # A fresh working folder, so that no earlier run directory (runs/...) is resumed instead of run.
    work = repo / "build" / "notebooks" / path.stem
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for stale in (repo / "figures").glob(f"{path.stem[:2]}_*.png"):  # the notebook writes its figures afresh
        stale.unlink()
    out = work.parent / path.name
    start = time.perf_counter()
    try:
        with _environment(**env):
            pm.execute_notebook(str(path), str(out), cwd=str(work), kernel_name="python3", progress_bar=True)
    except pm.PapermillExecutionError as error:
        raise SystemExit(f"{path.name} raised {error.ename} in cell {error.exec_count}; the committed notebook "
                         f"is unchanged, the failed run is {out.relative_to(repo)}") from None
    seconds = time.perf_counter() - start
    nb = nbformat.read(out, as_version=4)
    replacements = {str(repo) + "/": "", str(repo): ".", str(Path.home()): "~",
                    sysconfig.get_paths()["purelib"]: "<site-packages>", sys.prefix: "<python>"}
    if root:
        replacements[env["HANDS11K_ROOT"]] = "$HANDS11K_ROOT"
        replacements[root] = "$HANDS11K_ROOT"
    _clean_outputs(nb, replacements)
    record = {
        "code_sha256": code_hash(nb),
        "parameters": parameters(nb),
        "data": ({"HANDS11K_ROOT": f"{sum(1 for _ in Path(root).rglob('*.jpg'))} .jpg files"}
                 if root and path.stem in NEEDS_HANDS else {}),
        "ran_on": {"device": "cpu" if not torch.cuda.is_available() else torch.cuda.get_device_name(),
                   **host_record(), "seconds": round(seconds), "date": time.strftime("%Y-%m-%d")},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "darts_lite": darts_lite.__version__, "papermill": pm.__version__},
    }
    nb.metadata["darts_lite"] = record
    nbformat.write(nb, path)
    return record


def _load(name: str):
    """A sibling script of tools/ as a module."""
    spec = importlib.util.spec_from_file_location(f"tools_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _select(names: list[str]) -> list[Path]:
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return paths
    chosen = [p for p in paths if p.stem in names or p.stem[:2] in names]
    unknown = set(names) - {p.stem for p in chosen} - {p.stem[:2] for p in chosen}
    if unknown:
        raise SystemExit(f"no notebook named {sorted(unknown)}; choose from {[p.stem for p in paths]}")
    return chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("execute", help="execute notebooks in place at their defaults (all, or those named)")
    run.add_argument("names", nargs="*", help="NN_slug or NN; none: every notebook")
    sub.add_parser("links", help="rewrite Colab badges and install guards from pyproject.toml")
    args = parser.parse_args(argv)
    if args.command == "links":
        changed = links(_select([]))
        print(f"{len(changed)} notebook(s) updated" + "".join(f"\n  {p.name}" for p in changed))
        return
    paths = _select(args.names)
    for path in paths:  # before the first half hour is spent: does every notebook have its data?
        _hands_root(path.stem)
    for path in paths:
        print(f"executing {path.name} ...", flush=True)
        record = execute(path)
        print(f"  {record['ran_on']['seconds']} s, code {record['code_sha256'][:12]}", flush=True)
    # The prose that quotes these results: the notebooks' Summaries, the README, docs/ (`make results`).
    results = _load("results")
    for page, key in results.update():
        print(f"rewrote {page}: {key}")


if __name__ == "__main__":
    sys.exit(main())
