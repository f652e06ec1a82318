"""Independent jobs on a CPU's cores: processes of one thread each, instead of one process of all threads.

The course's networks are small: their kernels cannot keep two threads busy. A search step of
notebook 07 takes 1.2x less time on 2 threads than on 1 (`docs/benchmarks.md`), so independent jobs
(the models of an experiment's splits) finish sooner side by side, one thread each, than one after
the other on two threads. `run_in_processes` runs them so, starting each job once the job it waits
for (`after`) has finished; the warnings a job raised are raised again here, so that a notebook shows
them. On Linux a worker ends with its parent: a killed notebook kernel leaves none computing.
`map_in_processes` and `call_in_processes` return the results in the order of the jobs.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence

import torch


def default_workers(device: torch.device | str, jobs: int) -> int:
    """One process per CPU core (at most one per job) on a CPU; 1 on an accelerator, which one process fills."""
    if torch.device(device).type != "cpu":
        return 1
    return max(1, min(os.cpu_count() or 1, jobs))


def map_in_processes(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int) -> list[Any]:
    """[fn(job) for job in jobs]: in this process for `workers` 1, else by `run_in_processes` (results in job order)."""
    if workers == 1:
        return [fn(job) for job in jobs]
    results = dict(run_in_processes(fn, jobs, workers))
    return [results[i] for i in range(len(jobs))]


def call_in_processes(fn: Callable[..., Any], calls: Sequence[dict], workers: int = 0,
                      device: torch.device | str = "cpu") -> list[Any]:
    """[fn(**kwargs) for kwargs in calls], side by side (`default_workers(device, ...)` processes; 1: here).

    For independent runs of one library function (searches of several seeds or settings): `fn` must be
    importable (a module-level function such as `search_kernels`), the arguments picklable.
    """
    workers = workers or default_workers(device, len(calls))
    return map_in_processes(_apply, [(fn, kwargs) for kwargs in calls], workers)


def _apply(job: tuple[Callable[..., Any], dict]) -> Any:
    fn, kwargs = job
    return fn(**kwargs)


def run_in_processes(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int,
                     after: dict[int, int] | None = None) -> Iterator[tuple[int, Any]]:
    """(index, fn(jobs[index])) as the jobs finish, run by `workers` spawned processes of one thread each.

    Jobs start in their order (list the longest first), except that job i waits until job `after[i]` has
    finished, and then starts in its place in the list, before the jobs listed after it. `fn` must be
    a module-level function and the jobs picklable. The warnings a job raised are raised again in this
    process when its result comes back.
    """
    try:
        yield from _run(fn, jobs, workers, after or {})
    except BrokenProcessPool as e:
        raise RuntimeError(f"a worker process died before finishing its job ({e}). In a script, call this "
                           "under `if __name__ == '__main__':` (worker processes import the script); or run "
                           "in this process with workers=1") from e


def _run(fn, jobs, workers, after):
    # Our own queue, never the pool's (first in, first out): the pool holds no more jobs than it has
    # workers, and the first ready job of the list goes next.
    pending, done, running = list(range(len(jobs))), set(), {}
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_start_worker) as pool:
        while pending or running:
            ready = [i for i in pending if after.get(i) is None or after[i] in done]
            for i in ready[:workers - len(running)]:
                pending.remove(i)
                running[pool.submit(_call, fn, jobs[i])] = i
            if not running:
                raise ValueError(f"jobs {pending} wait for jobs that never run: check `after`")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                i = running.pop(future)
                result, caught = future.result()
                for message, category, filename, lineno in caught:  # where the job raised it
                    warnings.warn_explicit(message, category, filename, lineno)
                done.add(i)
                yield i, result


def _start_worker() -> None:
    """One thread; and on Linux, SIGTERM when the parent dies (a killed kernel leaves no worker computing)."""
    torch.set_num_threads(1)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            pass
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


def _call(fn: Callable[[Any], Any], job: Any) -> tuple[Any, list[tuple[str, type[Warning], str, int]]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(job)
    return result, [(str(w.message), w.category, w.filename, w.lineno) for w in caught]
