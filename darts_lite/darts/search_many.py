"""Independent searches (seeds, schedules) side by side on a CPU's cores: `search_many`.

A search at the course's sizes cannot keep two threads busy: one search step of notebook 07 takes
1.2x less time on 2 threads than on 1 (`docs/benchmarks.md`). Several searches of one notebook
therefore finish sooner in one-thread processes side by side (`core.workers`) than one after the
other on all threads. Each runs exactly as `search` runs it, into its own run directory.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..core.runtime import get_device
from ..core.workers import call_in_processes
from ..data import DataSplits
from .config import SearchConfig
from .search import SearchResult, search


def search_many(configs: Sequence[SearchConfig], data: DataSplits | None = None,
                run_dirs: Sequence[str | Path | None] | None = None, workers: int = 0) -> list[SearchResult]:
    """`search(config, data, run_dir)` for every config (seeds, schedules), in order, without progress bars.

    On a CPU they run side by side in one-thread processes, one per core; on an accelerator, and with
    `workers` 1, one after the other in this process. The searches' warnings are raised here.
    """
    run_dirs = [None] * len(configs) if run_dirs is None else [None if d is None else str(d) for d in run_dirs]
    if len(run_dirs) != len(configs):
        raise ValueError(f"{len(configs)} configs but {len(run_dirs)} run_dirs: give one run_dir per config")
    calls = [dict(config=config, data=data, run_dir=run_dir, progress=False)
             for config, run_dir in zip(configs, run_dirs)]
    return call_in_processes(search, calls, workers, get_device(configs[0].device) if configs else "cpu")
