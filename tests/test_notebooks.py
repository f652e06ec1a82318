"""Every notebook: committed executed and current, with a parameters cell, and executed by papermill.

`make notebooks` (tools/notebooks.py) executes the notebooks in place at their
defaults and records a hash of their code cells; the tests here fail when a code
cell changed since, or an error, a machine path or too many megabytes is committed.

Papermill runs each `notebooks/NN_slug.ipynb` top to bottom with the small
parameters of `SMALL` (nothing else in the notebook is changed), then the
recorded results are checked loosely. Cells tagged `keep_output` keep their
committed output, which nbval compares with a fresh run of the notebook at its
default parameters, up to its last kept cell.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from darts_lite.ground_truth.latency_model import HELP_TABLE3

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def load_tool(name: str):
    """A script of tools/ (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(f"tools_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


notebooks_tool = load_tool("notebooks")
code_hash, tags, GUARD_TAG = notebooks_tool.code_hash, notebooks_tool.tags, notebooks_tool.GUARD_TAG

# Small parameters for CI, per notebook (papermill injects them after the `parameters` cell).
SMALL = {
    "00_quickstart": dict(IMAGE_SIZE=8, LAYERS=3, CHANNELS=4, EPOCHS=1, BATCH_SIZE=64, TRAIN_LAYERS=3,
                          TRAIN_CHANNELS=4, TRAIN_EPOCHS=1),
    "01_data": dict(IMAGE_SIZE=32, LEAKAGE_SIZE=16, LEAKAGE_SEEDS=2, DOWNLOAD=False),
    "02_continuous_relaxation": dict(IMAGE_SIZE=8, LAYERS=3, CHANNELS=2, EPOCHS=1, BATCH_SIZE=128, PLANTED_SEEDS=1,
                                     PLANTED_STEPS=10, PLANTED_CHANNELS=4),
    "03_bilevel_approximation": dict(SEEDS=1, EPOCHS=1, TRAIN_EPOCHS=1, IMAGE_SIZE=8, LAYERS=3, CHANNELS=4,
                                     BATCH_SIZE=256, HG_BATCH=8, RADII=[0.01, 1e-6], REPEATS=1, PLANTED_SEEDS=1,
                                     PLANTED_EPOCHS=2, PLANTED_IMAGES=256, PLANTED_CHANNELS=2),
    "04_dag_dense_blocks": dict(SEEDS=2, IMAGE_SIZE=8, LAYERS=3, BLOCKS=2, WIDTH=16, ROUNDS=2, WEIGHT_STEPS=5,
                                ARCH_STEPS=2, TRAIN_EPOCHS=2, LAYERS_GRID=[3], BLOCKS_GRID=[2], SKIP_GRID=[0],
                                Q2_SEEDS=1, STUDY_DAGS=6, STUDY_LAYERS=4, SECOND_IMAGE_SIZE=8, LOCAL_IMAGE_SIZE=4),
    "05_meta_kernels": dict(BENCH_BATCH=4, BENCH_IMAGE=12, BENCH_CHANNELS=[8], REPEATS=2, IMAGE_SIZE=8, SEEDS=1,
                            EPOCHS=1, EVAL_EVERY=4, TARGET_ACC=0.3),
    "06_latency_constrained_search": dict(IMAGE_SIZE=16, WIDTHS=[8, 8], STRIDES=[1, 2], LATENCY_BATCH=2, WARMUP=1,
                                          REPEATS=3, VALIDATE_SAMPLES=5, EPOCHS=1, BETA_SCALES=[0.0, 1.0],
                                          BUDGET_FRACTIONS=[0.5], TRAIN_EPOCHS=1, BASELINES=["mobilenet_v3_small"],
                                          LUT_SAMPLES=[10, 30], LUT_DRAWS=2, BUDGET_QUERIES=20, BUDGET_RUNS=3,
                                          NB201_EPOCHS=1),
    "07_hand_gender_search": dict(IMAGE_SIZE=8, SPLITS=1, SEARCH_LAYERS=3, SEARCH_CHANNELS=4, SEARCH_EPOCHS=1,
                                  TRAIN_LAYERS=3, TRAIN_CHANNELS=4, TRAIN_EPOCHS=1, BATCH_SIZE=64,
                                  BASELINES=["mobilenet_v3_small", "random", "random_search"]),
    "08_ground_truth": dict(LIVE_METHODS=["params", "random_search"], LIVE_BUDGET=2.0, NB201_RUNS=3, NB201_QUERIES=30,
                            NB201_DARTS_SEEDS=[0], NB201_DARTS_DATA="digits", NB201_DARTS_EPOCHS=1, NB201_DARTS_CELLS=1),
    "09_training_free": dict(LIVE_CELLS=8, TRAINED_CELLS=4),
}
# Notebooks that need 11K Hands on disk (tests/conftest.py points HANDS11K_ROOT at the shared mini set).
NEEDS_HANDS = notebooks_tool.NEEDS_HANDS


def _ids(paths):
    return [p.stem for p in paths]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_slug.ipynb found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_has_the_course_structure(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    params = [i for i, c in enumerate(nb.cells) if "parameters" in tags(c)]
    assert len(params) == 1, f"{path.name}: needs exactly one cell tagged 'parameters', found {len(params)}"
    for i, cell in enumerate(nb.cells):
        if "keep_output" in tags(cell):
            assert "nbval-check-output" in tags(cell), f"{path.name} cell {i}: keep_output needs nbval-check-output"
    assert "Colab" in nb.cells[1].source, f"{path.name}: the second cell must hold the Colab badge"
    guards = [c for c in nb.cells if GUARD_TAG in tags(c)]
    assert len(guards) == 1, f"{path.name}: needs one install guard (a code cell tagged {GUARD_TAG!r})"
    assert any("## Summary" in c.source for c in nb.cells), f"{path.name}: no '## Summary' section"
    assert any("## Exercises" in c.source for c in nb.cells), f"{path.name}: no '## Exercises' section"
    # The course's shape: what it found (computed), the Summary restating it (generated), checkable exercises.
    heads = [next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and head in c.source), None)
             for head in ("## What we found", "## Summary", "## Exercises")]
    assert None not in heads and heads == sorted(heads), f"{path.name}: What we found, Summary, Exercises in order"
    found = nb.cells[heads[0] + 1]
    assert found.cell_type == "code" and f'what_we_found("{path.stem[:2]}", results)' in found.source
    summary = "".join(c.source for c in nb.cells[heads[1]:heads[2]])
    assert f"<!-- generated:findings/{path.stem[:2]} -->" in summary, f"{path.name}: the Summary restates its findings"
    checks = [c for c in nb.cells[heads[2]:] if c.cell_type == "code" and re.search(r"\.q\d+\.check\(", c.source)]
    assert len(checks) >= 2, f"{path.name}: at least two checkable exercises (cells calling nbNN.qK.check)"


# Committed executed (`make notebooks`): current, without errors, paths or bloat.
MAX_BYTES = 3_000_000  # figures at screen dpi keep each notebook well under this
MACHINE_PATH = re.compile(r"(/home/|/root/|/Users/|/tmp/|/var/folders/|/private/|/mnt/|/opt/|/usr/|"
                          r"/content/|[A-Za-z]:\\\\?(Users|Documents and Settings)\\)")


def _output_texts(nb):
    """(cell index, text) of every textual output: streams, tracebacks, text/* data."""
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if "text" in output:
                yield i, output["text"]
            for line in output.get("traceback", []):
                yield i, line
            for mime, value in output.get("data", {}).items():
                if mime.startswith("text/"):
                    yield i, value if isinstance(value, str) else "".join(value)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_committed_executed_from_its_current_code(path):
    nb = nbformat.read(path, as_version=4)
    record = nb.metadata.get("darts_lite")
    fix = f"run `make notebooks NB={path.stem[:2]}` and commit the result"
    assert record, f"{path.name} has no metadata.darts_lite: it was not executed by `make notebooks`; {fix}"
    assert record["code_sha256"] == code_hash(nb), f"{path.name}: code cells changed since it was executed; {fix}"
    assert record["parameters"] == notebooks_tool.parameters(nb), f"{path.name}: not executed at its defaults; {fix}"
    code = [c for c in nb.cells if c.cell_type == "code" and GUARD_TAG not in tags(c)]
    counts = [c.execution_count for c in code]
    assert counts == sorted(counts) and None not in counts, f"{path.name}: cells not executed in order: {counts}"
    assert any(c.outputs for c in code), f"{path.name}: no code cell has an output"
    guard = next(c for c in nb.cells if GUARD_TAG in tags(c))
    assert not guard.outputs, f"{path.name}: the install guard printed something where darts_lite is installed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_no_error_no_machine_path_and_a_bounded_size(path):
    nb = nbformat.read(path, as_version=4)
    errors = [i for i, c in enumerate(nb.cells) for o in c.get("outputs", []) if o.get("output_type") == "error"]
    errors += [i for i, text in _output_texts(nb) if "Traceback (most recent call last)" in text]
    assert not errors, f"{path.name}: error output committed in cell(s) {errors}"
    paths = [(i, m.group(0), text[max(0, m.start() - 40):m.end() + 40]) for i, text in _output_texts(nb)
             for m in [MACHINE_PATH.search(text)] if m]
    assert not paths, f"{path.name}: machine paths in outputs (cell, path, context): {paths[:3]}"
    metadata = json.dumps(nb.metadata) + json.dumps([c.metadata for c in nb.cells])
    assert not MACHINE_PATH.search(metadata), f"{path.name}: machine path in metadata"
    for personal in {str(Path.home()), str(ROOT)} - {"/"}:
        assert personal not in path.read_text(), f"{path.name}: {personal!r} committed"
    widgets = [i for i, c in enumerate(nb.cells) for o in c.get("outputs", [])
               if notebooks_tool.WIDGET in o.get("data", {})]
    assert not widgets, f"{path.name}: widget outputs (a progress bar GitHub shows frozen) in cells {widgets}"
    size = path.stat().st_size
    assert size <= MAX_BYTES, (f"{path.name} is {size / 1e6:.1f} MB (bound {MAX_BYTES / 1e6:.0f} MB): show "
                               "figures at screen dpi and print less")


def test_machine_path_pattern_finds_what_it_must():
    for text in ["/home/ana/x.py", "C:\\Users\\ana\\x", "/tmp/ipykernel_1/2.py", "/root/.cache", "/Users/bo/a"]:
        assert MACHINE_PATH.search(text), text
    for text in ["darts_lite/core/loop.py:12", "$HANDS11K_ROOT/Hands", "runs/05_meta", "1/2 done", "<cell>:2"]:
        assert not MACHINE_PATH.search(text), text


def _results(nb, tag: str = "results") -> dict:
    for cell in nb.cells:
        if tag in tags(cell):
            text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
            return json.loads(text.strip().splitlines()[-1])
    return {}


def _execute(path: Path, tmp_path: Path, monkeypatch, **params) -> dict:
    """Run a notebook with its small parameters (and `params`) by papermill; its results JSON."""
    import papermill as pm

    monkeypatch.setenv("DARTS_LITE_FIGURES", str(tmp_path / "figures"))
    params = dict(SMALL.get(path.stem, {}), RUN_DIR=str(tmp_path / "run"), **params)
    out = tmp_path / path.name
    pm.execute_notebook(str(path), str(out), parameters=params, cwd=str(path.parent), kernel_name="python3",
                        progress_bar=False)
    executed = nbformat.read(out, as_version=4)
    results = _results(executed)
    assert results, f"{path.name}: no cell tagged 'results' printed a JSON line of key results"
    unrendered = [cell.id for cell in executed.cells for o in cell.get("outputs", [])
                  if o.get("data", {}).get("text/plain", "").startswith("<Figure size")
                  and "image/png" not in o["data"]]
    assert not unrendered, f"{path.name}: figures shown as text, not as images, in {unrendered} (%matplotlib inline?)"
    return results


@pytest.mark.notebook
def test_application_notebook_without_hand_data_falls_back_to_digits(tmp_path, monkeypatch):
    """A user without 11K Hands still runs notebook 07 top to bottom (on the offline digits).

    DARTS alone: one model, trained in the notebook's process on one thread, as a worker process trains it (the
    run with hand data trains every model, in worker processes)."""
    monkeypatch.setenv("HANDS11K_ROOT", str(tmp_path / "no-data-here"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the kernel's torch threads
    path = next(p for p in NOTEBOOKS if p.stem == "07_hand_gender_search")
    results = _execute(path, tmp_path, monkeypatch, BASELINES=[], SEARCHES=["darts"])
    assert results["dataset"] == "digits"
    assert [line["model"] for line in results["table"]] == ["darts"]


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_with_small_parameters(path, tmp_path, monkeypatch):
    if path.stem in NEEDS_HANDS and not os.environ.get("HANDS11K_ROOT"):
        pytest.skip("11K Hands not found: set HANDS11K_ROOT (CI uses ../shared/data/11k-hands-mini)")
    results = _execute(path, tmp_path, monkeypatch)
    if path.stem == "00_quickstart":
        assert 0.0 <= results["test_acc"] <= 1.0 and results["derived_params"] > 0
        assert 0 <= results["skip_connections_normal"] <= 8
        assert 0.0 < results["kept_weight_normal"] <= 1.0
    if path.stem == "02_continuous_relaxation":
        assert 0.0 <= results["discretized_acc"] <= 1.0 and 0.0 <= results["supernet_acc"] <= 1.0
        assert results["gap"] == pytest.approx(results["supernet_acc"] - results["discretized_acc"])
        assert 0.0 <= results["planted_recovery"] <= 1.0 and len(results["planted_recoveries"]) == 1
        assert results["planted_chance"] == pytest.approx(0.0917, abs=1e-4)  # 0.733 of 8 pairs, computed exactly
        assert results["architectures"] > 1e17 and results["n_alpha"] == 2 * 14 * 8  # 4 nodes, 8 candidates
    if path.stem == "03_bilevel_approximation":
        # The finite difference converges to the exact hypergradient at a tiny radius (float64).
        assert results["rel_err_second_order_tiny_radius"] < 1e-4
        assert 0.0 <= results["planted_recovery_bilevel"] <= 1.0
        assert 0.0 <= results["planted_recovery_bilevel_paper"] <= 1.0
        assert all(0.0 < k <= 1.0 for o in (1, 2) for k in results[f"kept_weight_order{o}"])
        assert {len(v) for v in results["planted_recoveries"].values()} == {results["planted_seeds"]}
        if results["memory"] != "n/a":  # the double backward keeps a second graph alive
            assert results["peak_mib_exact"] > results["peak_mib_first"]
    if path.stem == "04_dag_dense_blocks":
        assert all(0.0 <= results[f"{key}_mean"] <= 1.0 for key in ("found", "random_block", "plain"))
        assert len(results["kept_weight"]) == results["seeds"]
        # the appendix's five research questions print their own JSON line, after the lesson's results
        appendix = _results(nbformat.read(tmp_path / path.name, as_version=4), "appendix-results")
        assert appendix["q5_toeplitz_max_err"] < 1e-12  # a dense layer with Toeplitz weights is the convolution
        assert 0.0 <= appendix["q5_local_alpha_mass"] <= 1.0
        if os.environ.get("HANDS11K_ROOT"):  # Q4 runs on the hand images where they are on disk
            assert appendix["second_dataset"] == "hands11k"
            assert set(appendix["q4_rho"]) == {"depth", "edges", "longest_skip"}
    if path.stem == "05_meta_kernels":
        assert results["additivity_max_err"] < 1e-12  # one merged convolution equals the three branches
        assert results["first_step_params_ratio"] > 1 and results["first_step_macs_ratio"] > 1
    if path.stem == "06_latency_constrained_search":
        assert results["budgets_met"]  # every derived network fits its latency budget
        assert -1 <= results["table_rho"] <= 1 and results["table_mape"] >= 0
        assert len(results["device_lut"]) == 27 and {h["device"] for h in results["help"]} == set(HELP_TABLE3)
        # HELP's FLOPs column, recomputed from the committed tables on its split (the data, not the settings)
        assert all(abs(h["flops_help_split"] - h["flops_published"]) < 0.03 for h in results["help"])
        assert [r["beta"] for r in results["nb201_latency"]] == [0.0, 1.0]
    if path.stem == "07_hand_gender_search":
        assert {line["model"] for line in results["table"]} == {"darts", "kernel", "mobilenet_v3_small",
                                                                 "random genotype", "random search"}
        assert all(n >= 2 for n in results["random_search_candidates"])
        assert results["chance_agreement_exact"] == pytest.approx(0.0917, abs=1e-4)
        assert results["kernel_within_budget"]
        assert all(0 <= line["balanced_acc_mean"] <= 1 for line in results["table"])
    if path.stem == "08_ground_truth":
        assert results["cells"] == 207 and results["enumerated"] == 243
        assert -1 <= results["noise_ceiling"]["kendall_tau"] <= 1 and len(results["all_skip"]) == 3
        assert {m["method"] for m in results["methods"]} >= {"darts_paper_o1", "random_search", "params", "naswot"}
        assert 0 < results["nb201_beats_all_skip"] < 1 and set(results["live"]) == {"params", "random_search"}
        assert [r["seed"] for r in results["nb201_darts"]] == [0] and 0 < results["nb201_darts"][0]["top_percent"] <= 100
        assert 0 < results["default_top_percent"] <= 100 and results["winner_5_seeds"]["seeds"] == [0, 1, 2, 3, 4]
        assert {r["method"] for r in results["collapse"]} >= {"darts_decisive", "beta_darts", "p_darts"}
        assert results["fresh_seeds"] == [7, 8, 9] and {r["method"] for r in results["fresh"]} >= {"random_search"}
        assert all(r["vs_median"]["word"] in ("beats", "ties", "loses to") and 0 <= r["bad_tail"] <= 1
                   for r in results["fresh"])
    if path.stem == "09_training_free":
        assert results["cells"] == 207 and set(results["proxies"]) >= {"naswot", "synflow", "grad_norm", "snip",
                                                                       "jacob_cov", "params", "flops"}
        assert all(-1 <= r["spearman"] <= 1 and -1 <= r["kendall"] <= 1 for r in results["proxies"].values())
        assert results["live"]["cells"] == 8 and set(results["live"]["spearman"]) == set(results["proxies"])
        assert results["after_training"]["cells"] == 4 and results["baseline"] in ("params", "flops")
        assert {r["method"] for r in results["top_k"]} == {"naswot_top_k", "synflow_top_k", "params_top_k"}
    if path.stem == "01_data":
        assert results["images_listed"] == 11076 and results["subjects"] == 189
        assert 0 < results["images_found"] <= 11076
        # Identity leaks through an image-level split: it must score above the subject-disjoint one.
        assert results["leakage_image_level"] > results["leakage_subject_disjoint"]
    assert list((tmp_path / "figures").glob("*.png")), "the notebook saved no figure"


KEPT = [p for p in NOTEBOOKS if any("keep_output" in tags(c) for c in nbformat.read(p, as_version=4).cells)]


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("path", KEPT, ids=_ids(KEPT))
def test_kept_outputs_reproduce_with_nbval(path, tmp_path):
    """nbval runs the notebook at its defaults up to its last kept cell: no later cell can change a kept output."""
    nb = nbformat.read(path, as_version=4)
    nb.cells = nb.cells[:1 + max(i for i, c in enumerate(nb.cells) if "keep_output" in tags(c))]
    head = tmp_path / path.name
    nbformat.write(nb, head)
    env = dict(os.environ, DARTS_LITE_FIGURES=str(tmp_path / "figures"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                           "--nbval-current-env", str(head)], cwd=tmp_path, env=env, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    cells = sum(c.cell_type == "code" for c in nb.cells)  # nbval runs each code cell as one test
    assert f"{cells} passed" in proc.stdout, proc.stdout[-4000:]


def test_code_hash_sees_code_cells_only_and_every_change_in_them():
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    before = code_hash(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
        else:
            cell.source += " (edited prose)"
    assert code_hash(nb) == before  # outputs and prose are not code
    code = [c for c in nb.cells if c.cell_type == "code" and GUARD_TAG not in tags(c)]
    code[-1].source += " "
    assert code_hash(nb) != before
    code[-1].source = code[-1].source[:-1]
    code[0], code[1] = code[1], code[0]  # same cells, another order
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or GUARD_TAG in tags(c)] + code
    assert code_hash(nb) != before


def test_scrub_leaves_no_machine_path(tmp_path):
    repo, data = tmp_path / "repo", tmp_path / "data" / "hands"
    text = (f"{repo}/darts_lite/core/loop.py:3: UserWarning\nsaved to {repo}\ndata folder: {data}/Hands\n"
            f"/tmp/ipykernel_4242/123456.py:2: RuntimeWarning\n{Path.home()}/.cache/torch")
    clean = notebooks_tool.scrub(text, {str(repo) + "/": "", str(repo): ".", str(data): "$HANDS11K_ROOT",
                                        str(Path.home()): "~"})
    assert not MACHINE_PATH.search(clean) and str(tmp_path) not in clean, clean
    assert "darts_lite/core/loop.py:3" in clean and "$HANDS11K_ROOT/Hands" in clean and "<cell>:2" in clean


def _tiny_notebook(path: Path, body: str) -> None:
    cells = [nbformat.v4.new_code_cell("N = 3  # a knob", metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell(body)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}), path)


@pytest.mark.slow
def test_execute_writes_outputs_and_the_record_back_and_leaves_a_failing_notebook_alone(tmp_path):
    repo = tmp_path / "repo"
    path = repo / "notebooks" / "98_tiny.ipynb"
    _tiny_notebook(path, "import os, warnings\nfrom tqdm.auto import tqdm\nprint(os.getcwd(), N * 2)\n"
                         "warnings.warn('look')\nsum(tqdm(range(3), disable=False))")
    record = notebooks_tool.execute(path, repo)
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["darts_lite"] == record and record["parameters"] == {"N": "3"}
    assert record["code_sha256"] == code_hash(nb)
    text = "".join(t for _, t in _output_texts(nb))
    assert "build/notebooks/98_tiny 6" in text and "<cell>:4: UserWarning: look" in text, text
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    raw = nbformat.read(repo / "build" / "notebooks" / path.name, as_version=4)  # papermill's own output
    assert any(notebooks_tool.WIDGET in o.get("data", {}) for c in raw.cells for o in c.get("outputs", []))
    assert not any(notebooks_tool.WIDGET in o.get("data", {}) for o in outputs)  # the bar is dropped
    assert any(o.get("data", {}).get("text/plain") == "3" for o in outputs)  # the result is kept
    assert "papermill" not in nb.metadata and not any("papermill" in c.metadata for c in nb.cells)
    assert str(tmp_path) not in path.read_text(), path.read_text()
    assert "DARTS_LITE_FIGURES" not in os.environ or os.environ["DARTS_LITE_FIGURES"] != str(repo / "figures")

    failing = repo / "notebooks" / "99_fails.ipynb"
    _tiny_notebook(failing, "raise ValueError('on purpose')")
    before = failing.read_text()
    with pytest.raises(SystemExit, match="raised ValueError.*unchanged"):
        notebooks_tool.execute(failing, repo)
    assert failing.read_text() == before
