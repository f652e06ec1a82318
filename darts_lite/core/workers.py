"""Independent jobs on a CPU's cores: processes of one thread each, instead of one process of all threads.

The course's networks are small: their kernels cannot keep two threads busy. A search step of
notebook 07 takes 1.2x less time on 2 threads than on 1 (`benchmarks/README.md`), so independent jobs
(the models of an experiment's splits) finish sooner side by side, one thread each, than one after
the other on two threads. `run_in_processes` runs them so, starting each job once the job it waits
for (`after`) has finished; the warnings a job raised are raised again here, so that a notebook shows
them.
"""
from __future__ import annotations

import multiprocessing
import os
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


def run_in_processes(fn: Callable[[Any], Any], jobs: Sequence[Any], workers: int,
                     after: dict[int, int] | None = None) -> Iterator[tuple[int, Any]]:
    """(index, fn(jobs[index])) as the jobs finish, run by `workers` spawned processes of one thread each.

    Jobs start in their order, except that job i waits until job `after[i]` has finished. `fn` must be
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
    waiting = set(after)  # the jobs that start only once the job they wait for has finished
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=torch.set_num_threads, initargs=(1,)) as pool:
        running = {pool.submit(_call, fn, jobs[i]): i for i in range(len(jobs)) if i not in waiting}
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                i = running.pop(future)
                result, caught = future.result()
                for message, category, filename, lineno in caught:  # where the job raised it
                    warnings.warn_explicit(message, category, filename, lineno)
                for j in sorted(j for j in waiting if after[j] == i):
                    waiting.discard(j)
                    running[pool.submit(_call, fn, jobs[j])] = j
                yield i, result


def _call(fn: Callable[[Any], Any], job: Any) -> tuple[Any, list[tuple[str, type[Warning], str, int]]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn(job)
    return result, [(str(w.message), w.category, w.filename, w.lineno) for w in caught]
