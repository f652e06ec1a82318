"""The course modules (darts_lite.course): every notebook's findings and its checkable exercises.

Each notebook has a module with `findings(results)` and `headline(results)`, computed from the
results its committed execution recorded, and at least two exercises. Each exercise's check accepts
the answer of `solutions/NN_slug.py`, and rejects its own plausible wrong answer, no answer and an
answer that raises (a check that cannot fail would teach nothing). The solutions run as scripts
too, as a student would run them, each within the exercises' 2-minute CPU bound.
"""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from darts_lite import course
from darts_lite.course.exercise import Exercise
from test_notebooks import load_tool

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = ROOT / "solutions"
results = load_tool("results")


def _solutions(stem: str):
    path = SOLUTIONS / f"{stem}.py"
    assert path.exists(), f"no solutions/{stem}.py: each notebook's exercises have their solutions there"
    spec = importlib.util.spec_from_file_location(f"solutions_{stem[:2]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_notebook_has_a_course_module():
    assert {p.stem for p in NOTEBOOKS} == set(course.NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_findings_are_computed_from_the_committed_results(path):
    recorded = results.notebook_results(path)
    lines = course.findings(path.stem, recorded)
    assert lines and all(isinstance(s, str) and s.strip() for s in lines), f"{path.stem}: no findings"
    headline = course.module(path.stem).headline(recorded)
    assert headline is None or isinstance(headline, str)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_exercises_accept_the_solution_and_reject_wrong_answers(path, capsys):
    exercises = course.exercises(path.stem)
    assert len(exercises) >= 2, f"{path.stem}: at least two checkable exercises"
    answers = _solutions(path.stem).ANSWERS
    module = course.module(path.stem)
    for q in exercises:
        assert isinstance(q, Exercise) and getattr(module, q.name) is q, f"{path.stem}: {q.name} is not exported"
        assert q.name in answers, f"solutions/{path.stem}.py has no answer to {q.name}"
        reason = q.result(answers[q.name])
        assert reason is None, f"{path.stem} {q.name} rejects its solution: {reason}"
        assert q.wrong is not None and q.result(q.wrong) is not None, f"{path.stem} {q.name} accepts its wrong answer"
        assert q.result(None) is not None and q.result(...) is not None

        def raises(*args, **kwargs):
            raise RuntimeError("a student's bug")
        assert "raised RuntimeError" in q.result(raises) or q.result(raises) is not None
        assert q.cpu_seconds <= 120
    assert not q.passed(q.wrong) and "Not yet" in capsys.readouterr().out


# Every solutions/ script run as `python solutions/NN_slug.py` would run it, in one interpreter (one import of
# torch for all): its exit status, its output and its seconds, by notebook.
RUN_ALL = """
import contextlib, io, json, runpy, sys, time
out = {}
for path in sys.argv[1:]:
    buffer, start = io.StringIO(), time.perf_counter()
    with contextlib.redirect_stdout(buffer):
        try:
            runpy.run_path(path, run_name="__main__")
            code = 0
        except SystemExit as stop:
            code = stop.code or 0
    out[path] = {"code": code, "stdout": buffer.getvalue(), "seconds": time.perf_counter() - start}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def solutions_run():
    paths = [str(SOLUTIONS / f"{p.stem}.py") for p in NOTEBOOKS]
    proc = subprocess.run([sys.executable, "-c", RUN_ALL, *paths], capture_output=True, text=True, cwd=ROOT,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {Path(k).stem: v for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_solutions_run_as_scripts(path, solutions_run):
    run = solutions_run[path.stem]
    assert run["code"] == 0, f"solutions/{path.stem}.py exited {run['code']}:\n{run['stdout'][-2000:]}"
    assert run["stdout"].count("Correct.") == len(course.exercises(path.stem))
    assert run["seconds"] < 120 * len(course.exercises(path.stem)), "each exercise runs within 2 minutes"


def test_a_check_says_why_and_never_raises(capsys):
    q = Exercise("q9", "2 + 2?", lambda a: None if a == 4 else f"{a} is not 4.", "Arithmetic.", wrong=5)
    assert q.passed(4) and "Correct. Arithmetic." in capsys.readouterr().out
    assert not q.passed(5) and "5 is not 4." in capsys.readouterr().out
    assert not q.passed(None) and "no answer yet" in capsys.readouterr().out
    assert q.check(5) is None and "Not yet" in capsys.readouterr().out  # a notebook cell shows no True/False
    boom = Exercise("q8", "?", lambda a: a(), "", wrong=1)
    assert not boom.passed(lambda: 1 / 0) and "ZeroDivisionError" in capsys.readouterr().out


def test_a_function_left_as_the_placeholder_is_unanswered():
    def student(x):
        ...
    q = Exercise("q7", "double x", lambda f: None if f(2) == 4 else "no.", "", wrong=lambda x: x)
    assert "no answer yet" in q.result(student)
    assert q.result(lambda x: 2 * x) is None and q.result(lambda x: x) == "no."
