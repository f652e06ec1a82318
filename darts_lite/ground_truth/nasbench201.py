"""NAS-Bench-201 at 12 epochs: the field's ground truth beside ours, and two search baselines scored on it.

NAS-Bench-201 (Dong & Yang, ICLR 2020) trained every cell of a 4-node, 6-edge space with 5 operations
per edge (5^6 = 15,625 cells) and published their accuracies. The table read here
(`data/nasbench201/`, see its README) holds the accuracies after the benchmark's 12-epoch schedule,
not the 200-epoch one: the best CIFAR-10 cell scores 89.16 on test here, not 94.37. A cell is keyed
by its canonical string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`: node j's edges from nodes 0..j-1.

Two baselines are scored on it as a search method would be, by the best accuracy found after each
query: random search without replacement (Li & Talwalkar, UAI 2019, showed it is a strong baseline)
and regularised (aging) evolution (Real et al., AAAI 2019, Algorithm 1).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..readers import read_bytes, read_csv
from ..data.reference import reference_file

NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
N_EDGES = 6
#: The largest CSV `load_nb201` reads (the real one is about 2 MB); a bigger file is refused, not read.
MAX_CSV_BYTES = 50_000_000
DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet"}
METRICS = {"valid": "val", "test": "test"}
CSV_NAME = Path("nasbench201") / "nb201_12epoch_accuracies.csv"


@dataclass(frozen=True, eq=False)  # eq=False: a frozen table compares by identity (ndarray == is elementwise)
class NB201Table:
    """One dataset/metric of the benchmark: cell strings and their accuracies (percent), row i = index i."""

    arch: list[str]
    accuracy: np.ndarray

    def __post_init__(self):
        acc = np.array(self.accuracy, dtype=float)
        if acc.ndim != 1 or len(acc) != len(self.arch):
            raise ValueError(f"{len(self.arch)} cells but accuracy of shape {acc.shape}")
        acc.setflags(write=False)
        object.__setattr__(self, "accuracy", acc)

    def __len__(self) -> int:
        return len(self.arch)


def nb201_path() -> Path:
    """The 12-epoch CSV: under $DARTS_LITE_DATA if set and present there, else in the repository's data/."""
    return reference_file(CSV_NAME)


def load_nb201(dataset: str = "cifar10", metric: str = "valid", path: str | Path | None = None) -> NB201Table:
    """Read one dataset's valid or test accuracies from the 12-epoch CSV (default: `nb201_path()`).

    The file is at most `MAX_CSV_BYTES`; every failure of decoding or of the CSV parser, and every
    malformed row, is a ValueError naming the file and line (`readers.read_csv`).
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {sorted(DATASETS)}, not {dataset!r}")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, not {metric!r}")
    path = Path(path) if path is not None else nb201_path()
    what = "NAS-Bench-201 table"
    header, rows = read_csv(read_bytes(path, what, MAX_CSV_BYTES), path, what)
    column = f"{DATASETS[dataset]}-{METRICS[metric]}"
    if "arch" not in header or column not in header:
        raise ValueError(f"{path} lacks the columns 'arch' and {column!r}; its columns are {header[:12]}")
    i_arch, i_acc = header.index("arch"), header.index(column)
    i_index = header.index("index") if "index" in header else None
    arch, acc = [], []
    for row in rows:
        try:
            if i_index is not None and int(row.fields[i_index]) != len(arch):
                raise ValueError(f"index {row.fields[i_index]} in row {len(arch)}: rows must be in index order")
            arch.append(row.fields[i_arch])
            acc.append(float(row.fields[i_acc]))
        except (IndexError, ValueError) as e:
            raise ValueError(f"{path}, line {row.line}: {e}") from None
    return NB201Table(arch, np.array(acc))


def arch_ops(arch: str) -> tuple[str, ...]:
    """The 6 operations of a cell string, in its order: edges 0->1, 0->2, 1->2, 0->3, 1->3, 2->3."""
    if not isinstance(arch, str):
        raise ValueError(f"a cell string is a str, not {type(arch).__name__}")
    nodes = arch.split("+")
    if len(nodes) != 3:
        raise ValueError(f"{arch!r}: expected 3 nodes separated by '+', found {len(nodes)}")
    ops = []
    for j, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")) or len(node) < 2:
            raise ValueError(f"{arch!r}: node {j} {node!r} is not of the form |op~i|...|")
        edges = node[1:-1].split("|")
        if len(edges) != j:
            raise ValueError(f"{arch!r}: node {j} has {len(edges)} edges, expected {j}")
        for i, edge in enumerate(edges):
            op, _, source = edge.partition("~")
            if op not in NB201_OPS or source != str(i):
                raise ValueError(f"{arch!r}: edge {edge!r} of node {j} is not 'op~{i}' with op in {NB201_OPS}")
            ops.append(op)
    return tuple(ops)


def arch_string(ops) -> str:
    """The cell string of 6 operations (the inverse of `arch_ops`)."""
    ops = tuple(ops)
    if len(ops) != N_EDGES or any(op not in NB201_OPS for op in ops):
        raise ValueError(f"expected {N_EDGES} operations from {NB201_OPS}, got {ops}")
    nodes = [ops[0:1], ops[1:3], ops[3:6]]
    return "+".join("|" + "".join(f"{op}~{i}|" for i, op in enumerate(node)) for node in nodes)


def all_skip_index(table: NB201Table) -> int:
    """Row of the all-`skip_connect` cell, where DARTS collapses on this benchmark."""
    key = arch_string(("skip_connect",) * N_EDGES)
    try:
        return table.arch.index(key)
    except ValueError:
        raise ValueError(f"the table has no all-skip_connect cell {key}") from None


def percentile_of(table: NB201Table, acc: float) -> float:
    """Top-percent of `acc`: the share (percent) of the space at least as good; 0 is above every cell."""
    return float(100.0 * np.mean(table.accuracy >= acc))


def beats_all_skip(table: NB201Table) -> float:
    """Probability (0 to 1) that a uniformly random cell is strictly more accurate than the all-skip cell."""
    return float(np.mean(table.accuracy > table.accuracy[all_skip_index(table)]))


def rank_summary(table: NB201Table) -> dict[str, float]:
    """Best, median and worst accuracy, and the all-skip cell's accuracy and top-percent."""
    skip = float(table.accuracy[all_skip_index(table)])
    return {"best": float(table.accuracy.max()), "median": float(np.median(table.accuracy)),
            "worst": float(table.accuracy.min()), "all_skip": skip,
            "all_skip_top_percent": percentile_of(table, skip)}


def random_search_indices(n: int, queries: int, runs: int, seed: int) -> np.ndarray:
    """(runs, queries) rows of a table of n cells, each run sampled uniformly without replacement."""
    if not 1 <= queries <= n or runs < 1:
        raise ValueError(f"need 1 <= queries <= {n} and runs >= 1, got queries={queries}, runs={runs}")
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice(n, size=queries, replace=False) for _ in range(runs)])


def incumbent_curve(indices: np.ndarray, table: NB201Table, report: NB201Table | None = None) -> np.ndarray:
    """(runs, queries): after each query, the `report` accuracy (default: `table`'s) of the best cell so far by `table`.

    A search ranks what it queried on one metric (validation accuracy) and is scored on another (test).
    """
    report = table if report is None else report
    queried = table.accuracy[indices]
    best = np.maximum.accumulate(queried, axis=1)
    first = np.argmax(queried[:, :, None] == best[:, None, :], axis=1)  # where each running best was queried
    return report.accuracy[np.take_along_axis(indices, first, axis=1)]


def random_search_curve(table: NB201Table, queries: int, runs: int, seed: int,
                        report: NB201Table | None = None) -> np.ndarray:
    """(runs, queries) best-so-far curve of random search without replacement (Li & Talwalkar, 2019)."""
    return incumbent_curve(random_search_indices(len(table), queries, runs, seed), table, report)


def mutate(ops: tuple[str, ...], rng: np.random.Generator, choices: tuple[str, ...] = NB201_OPS) -> tuple[str, ...]:
    """`ops` with one uniformly chosen edge set to a different operation, uniform over the other `choices`."""
    edge = int(rng.integers(len(ops)))
    others = [op for op in choices if op != ops[edge]]
    child = list(ops)
    child[edge] = others[int(rng.integers(len(others)))]
    return tuple(child)


def _space_of(table: NB201Table) -> tuple[tuple[str, ...], dict[tuple[str, ...], int]]:
    """The operations the table's cells use, and op tuple -> row; the table must hold their whole space."""
    cells = [arch_ops(a) for a in table.arch]
    choices = tuple(op for op in NB201_OPS if any(op in c for c in cells))
    lookup = {c: i for i, c in enumerate(cells)}
    if len(lookup) != len(cells) or len(cells) != len(choices) ** N_EDGES:
        raise ValueError(f"evolution needs every cell of the space of {choices} once "
                         f"({len(choices) ** N_EDGES} cells); the table has {len(cells)}, {len(lookup)} distinct")
    return choices, lookup


def regularized_evolution_curve(table: NB201Table, queries: int, runs: int, seed: int, population: int = 20,
                                sample: int = 5, report: NB201Table | None = None) -> np.ndarray:
    """(runs, queries) best-so-far curve of aging evolution (Real et al., AAAI 2019, Algorithm 1)."""
    if queries < 1 or runs < 1 or not 1 <= sample <= population <= len(table):
        raise ValueError(f"need queries, runs >= 1 and 1 <= sample <= population <= {len(table)}; got "
                         f"queries={queries}, runs={runs}, population={population}, sample={sample}")
    choices, lookup = _space_of(table)
    cells = list(lookup)  # row i -> op tuple (rows are distinct)
    rng = np.random.default_rng(seed)
    queried = np.empty((runs, queries), dtype=np.int64)
    for r in range(runs):
        alive = deque(int(i) for i in rng.choice(len(table), size=min(population, queries), replace=False))
        history = list(alive)
        while len(history) < queries:
            # Algorithm 1 samples candidates with replacement; the best of them is the parent.
            contenders = [alive[int(k)] for k in rng.integers(len(alive), size=sample)]
            parent = max(contenders, key=lambda i: table.accuracy[i])
            child = lookup[mutate(cells[parent], rng, choices)]
            alive.append(child)
            alive.popleft()  # aging: the oldest dies, not the worst
            history.append(child)
        queried[r] = history
    return incumbent_curve(queried, table, report)
