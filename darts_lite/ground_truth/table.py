"""The ground-truth table as read back: one row per isomorphism class, its seeds' accuracies, and where it stands.

A table is keyed by the canonical cell string (NAS-Bench-201 style, `space.canonical`), so a search
method's pick, a gene or a string, is looked up once and scored on the same numbers as every other
method: its rank in the space (`top_percent`, `percentile`), its `regret` to the best cell, and for a
method that scores every cell (a supernet, a zero-cost proxy) the Kendall tau of its ranking. The
`noise_ceiling` is the tau between two training seeds of the same cells: no method ranks the space
better than the table agrees with itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import stats as sps

from ..readers import read_bytes, read_csv, read_json, shorten
from .space import canonical as canonical_of
from .space import parse_cell_string

#: The columns every table has, before its `acc_seed<N>` columns (one per training seed, at least 2).
COLUMNS: tuple[str, ...] = ("index", "cell", "canonical", "skips", "params", "macs")
SCHEMA = ", ".join(COLUMNS) + ", acc_seed<N>, acc_seed<M>[, ...]"
#: The largest CSV `load` reads: the course's tables have hundreds of rows, not millions.
MAX_BYTES = 20 * 1024 * 1024
#: Two mean accuracies closer than this are one value: the CSV keeps 6 decimals, so a difference this small
#: is float rounding (0.95 and 0.85 average to 0.8999999999999999), never a better cell.
TIE = 1e-9
_SEED_COLUMN = re.compile(r"acc_seed(\d+)$")


class TableError(ValueError):
    """A ground-truth CSV (or its provenance) that cannot be read as a table."""


def _number(path: Path, line: int, column: str, text: str) -> float:
    """One finite number of the CSV; anything else names its file, line and column."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value):
        raise TableError(f"{path}, line {line}, column {column}: {shorten(text)} is not a finite number")
    return value


@dataclass(eq=False)  # rows are numpy arrays: compare tables field by field, not with ==
class GroundTruth:
    """Every cell of a small space with its cost and its test accuracy on each training seed."""

    cells: list[str]
    canonical: list[str]
    skips: np.ndarray
    params: np.ndarray
    macs: np.ndarray
    accuracies: np.ndarray  # (n_cells, n_seeds)
    seeds: list[int]
    provenance: dict = field(default_factory=dict)
    index: np.ndarray | None = None  # each cell's position in `space.unique_cells`; None: 0..n-1

    def __post_init__(self):
        self.skips, self.params, self.macs = (np.asarray(a, dtype=np.int64) for a in (self.skips, self.params,
                                                                                         self.macs))
        self.accuracies = np.asarray(self.accuracies, dtype=float)
        n = len(self.cells)
        self.index = np.arange(n) if self.index is None else np.asarray(self.index, dtype=np.int64)
        if self.accuracies.shape != (n, len(self.seeds)) or len(self.seeds) < 2:
            raise TableError(f"accuracies must be (cells, seeds) = ({n}, >= 2), got {self.accuracies.shape} "
                             f"for seeds {self.seeds}")
        if not all(len(a) == n for a in (self.canonical, self.skips, self.params, self.macs, self.index)):
            raise TableError("cells, canonical, skips, params, macs and index must have one entry per cell")
        self._row = {c: i for i, c in enumerate(self.canonical)}
        if len(self._row) != n:
            raise TableError("two rows share one canonical class")

    @classmethod
    def load(cls, path: str | Path) -> GroundTruth:
        """Read a table written by `build.build_table`, with its provenance `<stem>.json` if present."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file (a ground-truth CSV from darts_lite.ground_truth.build)")
        header, rows = read_csv(read_bytes(path, "ground-truth table", MAX_BYTES, TableError), path,
                                "ground-truth table", TableError)
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise TableError(f"{path}: missing column(s) {', '.join(missing)}; expected {SCHEMA}")
        seed_columns = [(c, int(m.group(1))) for c in header if (m := _SEED_COLUMN.match(c))]
        if len(seed_columns) < 2:
            raise TableError(f"{path}: {len(seed_columns)} acc_seed<N> column(s); a table needs at least 2 "
                             f"seeds (the noise ceiling compares them); expected {SCHEMA}")
        if not rows:
            raise TableError(f"{path}: no rows under the header")
        col = {c: header.index(c) for c in header}
        out: dict[str, list] = {c: [] for c in COLUMNS}
        accuracies, seen = [], {}
        for line, row in ((r.line, r.fields) for r in rows):
            if len(row) != len(header):
                raise TableError(f"{path}, line {line}: {len(row)} values for {len(header)} columns")
            for c in ("index", "skips", "params", "macs"):
                out[c].append(int(_number(path, line, c, row[col[c]])))
            accuracies.append([_number(path, line, c, row[col[c]]) for c, _ in seed_columns])
            cell, key = row[col["cell"]], row[col["canonical"]]
            try:
                gene = parse_cell_string(cell)
            except ValueError as e:
                raise TableError(f"{path}, line {line}, column cell: {e}") from None
            if canonical_of(gene) != key:  # a hand-edited row would make lookup by gene miss it
                raise TableError(f"{path}, line {line}: canonical {key!r} is not space.canonical of cell {cell!r}")
            if key in seen:
                raise TableError(f"{path}, line {line}: canonical class {key!r} already on line {seen[key]}")
            seen[key] = line
            out["cell"].append(cell)
            out["canonical"].append(key)
        side = path.with_suffix(".json")
        provenance = {}
        if side.is_file():
            provenance = read_json(side, "ground-truth provenance", TableError)
        return cls(cells=out["cell"], canonical=out["canonical"], skips=out["skips"], params=out["params"],
                   macs=out["macs"], accuracies=accuracies, seeds=[s for _, s in seed_columns],
                   provenance=provenance, index=out["index"])

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def accuracy(self) -> np.ndarray:
        """Each cell's test accuracy, averaged over the seeds."""
        return self.accuracies.mean(axis=1)

    @property
    def ops(self) -> list[str]:
        """The space's operations: from the provenance, else every op the table's cells use."""
        ops = self.provenance.get("space", {}).get("primitives")
        return list(ops) if ops else sorted({op for c in self.cells for op, _ in parse_cell_string(c)})

    def lookup(self, gene_or_canonical) -> int:
        """The row of a cell given as a gene ((op, input) pairs), a canonical string or a cell string."""
        key = gene_or_canonical
        if isinstance(key, str) and key not in self._row and key.startswith("|"):
            key = parse_cell_string(key)
        if not isinstance(key, str):
            try:
                key = canonical_of(tuple((str(op), int(j)) for op, j in key))
            except (TypeError, ValueError, IndexError) as e:
                raise KeyError(f"{gene_or_canonical!r} is neither a gene ((op, input) pairs) nor a canonical "
                               f"string ({e})") from None
        if key not in self._row:
            raise KeyError(f"{gene_or_canonical!r} is not in this table of {len(self)} cells (class {key!r}); "
                           f"its space has the ops {', '.join(self.ops)} on "
                           f"{len(parse_cell_string(self.cells[0]))} edges")
        return self._row[key]

    def top_percent(self, acc: float) -> float:
        """Share of the space (%) with mean accuracy >= acc (up to `TIE`): the best cell is in the top 100/n %."""
        return 100.0 * float(np.mean(self.accuracy >= acc - TIE))

    def percentile(self, acc: float) -> float:
        """Share of the space (%) with mean accuracy strictly below acc (0 for the worst cell)."""
        return 100.0 * float(np.mean(self.accuracy < acc - TIE))

    def regret(self, acc: float) -> float:
        """The best cell's mean accuracy minus acc."""
        return float(self.accuracy.max() - acc)

    def noise_ceiling(self) -> dict[str, float]:
        """How well the first two seeds agree over all cells: Kendall tau, Spearman rho, mean |difference|."""
        a, b = self.accuracies[:, 0], self.accuracies[:, 1]
        return {"kendall_tau": float(sps.kendalltau(a, b).statistic),
                "spearman_rho": float(sps.spearmanr(a, b).statistic),
                "mean_abs_seed_diff": float(np.mean(np.abs(a - b)))}

    def spread(self) -> dict:
        """Best, median and worst mean accuracy, and where the all-skip_connect cells stand."""
        acc = self.accuracy
        edges = np.array([c.count("~") for c in self.cells])
        skip = [{"cell": self.cells[i], "accuracy": float(acc[i]), "top_percent": self.top_percent(acc[i])}
                for i in np.flatnonzero(self.skips == edges)]
        return {"best": float(acc.max()), "median": float(np.median(acc)), "worst": float(acc.min()),
                "all_skip": skip}

    def ranking_tau(self, scores: Sequence[float]) -> float:
        """Kendall tau between a method's score of every cell (row order) and the mean accuracy."""
        scores = np.asarray(scores, dtype=float)
        if scores.shape != (len(self),):
            raise ValueError(f"ranking_tau needs one score per cell ({len(self)}, in row order), got {scores.shape}")
        return float(sps.kendalltau(scores, self.accuracy).statistic)
