#!/usr/bin/env python3
"""Time the ground-truth build (`python -m darts_lite bench`): how the trainings are laid out on the CPU.

Layouts, each building the same first `--limit` cells on 2 seeds with the default recipe into a
temporary folder: `workers` processes of one thread (1 or one per core) times `cells_per_step`
networks trained as one grouped `BankNetwork` (1: one network at a time). The layouts alternate
`--repeats` times and each one's fastest build counts (this host is shared and noisy). stdout is
JSON lines only: one per layout (seconds, seconds per training, and the whole default space
projected from it: 207 cells x 2 seeds), then one `ratio` line per layout against the first.

    python benchmarks/ground_truth_build.py --limit 24 --repeats 2
    python benchmarks/ground_truth_build.py --full      # the whole default table once (about 16 min, 2 cores)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time


def build_seconds(limit: int, workers: int, cells_per_step: int) -> float:
    from darts_lite.ground_truth.build import BenchConfig, build_table
    config = BenchConfig(limit=limit, workers=workers, cells_per_step=cells_per_step)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        build_table(config, os.path.join(tmp, "table.csv"), progress=False)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=24, help="cells per build (default 24)")
    parser.add_argument("--repeats", type=int, default=1, help="alternating rounds; the fastest counts")
    parser.add_argument("--full", action="store_true", help="build the whole default space once, default layout")
    args = parser.parse_args()
    from darts_lite.ground_truth.build import BenchConfig
    from darts_lite.ground_truth.space import unique_cells
    cores = os.cpu_count() or 1
    default = BenchConfig()
    trainings = len(unique_cells(default.nodes, default.primitives)) * len(default.seeds)
    if args.full:
        seconds = build_seconds(0, 0, default.cells_per_step)
        print(json.dumps({"layout": f"{cores} workers x {default.cells_per_step} cells", "cells": trainings // 2,
                          "trainings": trainings, "seconds": round(seconds, 1), "minutes": round(seconds / 60, 2),
                          "cores": cores, "load_avg_1m": os.getloadavg()[0]}))
        return
    layouts = [(1, 1), (1, default.cells_per_step), (cores, 1), (cores, default.cells_per_step)]
    best = {layout: float("inf") for layout in layouts}
    for r in range(args.repeats):
        for layout in layouts:
            print(f"round {r + 1}: {layout[0]} worker(s) x {layout[1]} cell(s) per step", file=sys.stderr)
            best[layout] = min(best[layout], build_seconds(args.limit, *layout))
    n = args.limit * len(default.seeds)
    for (workers, cells), seconds in best.items():
        print(json.dumps({"layout": f"{workers} workers x {cells} cells", "trainings": n, "seconds": round(seconds, 1),
                          "seconds_per_training": round(seconds / n, 3),
                          "projected_full_minutes": round(seconds / n * trainings / 60, 1),
                          "cores": cores, "load_avg_1m": round(os.getloadavg()[0], 2)}))
    base = best[layouts[0]]
    for (workers, cells), seconds in best.items():
        print(json.dumps({"layout": "ratio", "pair": f"{workers}x{cells} vs 1x1", "speedup": round(base / seconds, 2)}))


if __name__ == "__main__":
    main()
