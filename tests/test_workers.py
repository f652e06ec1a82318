"""Tests for darts_lite.core.workers: jobs in one-thread processes, in dependency order, warnings brought back."""
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch

from darts_lite.core.workers import default_workers, map_in_processes, run_in_processes


def _job(job: tuple[str, float]) -> dict:
    """Sleep, warn, and say when it started and ended and on how many threads it ran."""
    name, seconds = job
    start = time.time()
    time.sleep(seconds)
    warnings.warn(f"job {name} warns", UserWarning)
    return {"name": name, "start": start, "end": time.time(), "threads": torch.get_num_threads()}


def _job_until(job: tuple[str, str, str | None]) -> dict:
    """Say it started (a file), then end only once job `until` has started: an order no scheduling can change."""
    name, folder, until = job
    start = time.time()
    (Path(folder) / f"{name} started").touch()
    deadline = start + 60
    while until is not None and not (Path(folder) / f"{until} started").exists() and time.time() < deadline:
        time.sleep(0.05)
    warnings.warn(f"job {name} warns", UserWarning)
    return {"name": name, "start": start, "end": time.time(), "threads": torch.get_num_threads()}


def test_jobs_run_in_one_thread_processes_after_what_they_wait_for_and_warn_here(tmp_path):
    jobs = [("a", str(tmp_path), "c"), ("b", str(tmp_path), None), ("c", str(tmp_path), None)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = dict(run_in_processes(_job_until, jobs, workers=2, after={1: 0}))
    assert sorted(r["name"] for r in results.values()) == ["a", "b", "c"]
    assert all(r["threads"] == 1 for r in results.values())
    assert results[1]["start"] >= results[0]["end"]  # b waited for a, though a worker was free
    assert results[2]["start"] < results[0]["end"]   # c did not (a ran until c had started)
    assert sorted(str(w.message) for w in caught) == ["job a warns", "job b warns", "job c warns"]
    assert all(w.filename == __file__ for w in caught)  # shown where the job raised it, not in the pool


def test_a_job_that_waited_starts_in_its_place_in_the_list_not_after_every_other():
    jobs = [("a", 0.1), ("b", 0.1), ("x", 0.1), ("y", 0.1)]  # b waits for a, then goes before x and y
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        results = dict(run_in_processes(_job, jobs, workers=1, after={1: 0}))
    assert [r["name"] for r in sorted(results.values(), key=lambda r: r["start"])] == ["a", "b", "x", "y"]


def test_jobs_waiting_for_a_job_that_never_runs_are_an_error():
    with pytest.raises(ValueError, match=r"jobs \[0, 1\] wait for jobs that never run"):
        list(run_in_processes(_job, [("a", 0.0), ("b", 0.0)], workers=1, after={0: 1, 1: 0}))


def test_map_in_processes_keeps_the_order_of_the_jobs_and_runs_in_this_process_for_one_worker(tmp_path):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        spread = map_in_processes(_job_until, [("first", str(tmp_path), "second"),
                                               ("second", str(tmp_path), None)], workers=2)
        here = map_in_processes(_job, [("first", 0.0), ("second", 0.0)], workers=1)
    assert [r["name"] for r in spread] == [r["name"] for r in here] == ["first", "second"]
    assert spread[1]["start"] < spread[0]["end"]  # "first" ran until "second" had started; it still comes first
    assert [r["threads"] for r in spread] == [1, 1]
    assert [r["threads"] for r in here] == [torch.get_num_threads()] * 2


def test_default_workers_one_per_core_and_job_on_a_cpu_one_on_an_accelerator():
    assert default_workers("cpu", 1) == 1
    assert 1 <= default_workers("cpu", 100) <= 100
    assert default_workers("meta", 100) == 1


def test_a_script_without_a_main_guard_gets_a_clear_error(tmp_path):
    script = tmp_path / "no_guard.py"
    script.write_text("from darts_lite.core.workers import run_in_processes\n"
                      "print(list(run_in_processes(abs, [-1, -2], 2)))\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "if __name__ == '__main__':" in proc.stderr and "workers=1" in proc.stderr


ORPHAN = """
import os, sys, time
from darts_lite.core.workers import run_in_processes

def job(seconds):
    print(os.getpid(), flush=True)
    time.sleep(seconds)

if __name__ == "__main__":
    for _ in run_in_processes(job, [60.0], 1):
        pass
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_worker_ends_when_its_parent_is_killed(tmp_path):
    """A killed notebook kernel must not leave its workers computing (they would finish their job first)."""
    script = tmp_path / "orphan.py"
    script.write_text(ORPHAN)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True)  # its resource tracker reports the semaphores the kill left behind
    worker = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.time() + 20
    while time.time() < deadline and _alive(worker):
        time.sleep(0.1)
    assert not _alive(worker), "the worker outlived its parent"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False
