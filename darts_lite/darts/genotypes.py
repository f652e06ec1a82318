"""Genotypes: the discrete cell that DARTS derives from the alphas (Liu et al., 2019, Sec. 2.4).

A cell has two input nodes (0 = c_{k-2}, 1 = c_{k-1}) and `nodes` intermediate
nodes (2 .. nodes+1). During search, intermediate node i receives an edge from
every earlier node, so alpha has one row per edge in the order
(node 0: inputs 0, 1), (node 1: inputs 0, 1, 2), ... and one column per
operation. Derivation keeps, for each intermediate node, the k = 2 incoming edges
with the strongest non-`none` weight, and on each kept edge the strongest
non-`none` operation.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import comb
from pathlib import Path
from typing import Sequence

import torch

from ..core.config import write_json
from ..readers import read_json
from .ops import OPS, PRIMITIVES

Gene = tuple[tuple[str, int], ...]


class GenotypeError(ValueError):
    """A genotype that does not describe a valid cell."""


def num_edges(nodes: int) -> int:
    """Edges of a search cell with `nodes` intermediate nodes: 2 + 3 + ... + (nodes + 1)."""
    return sum(2 + i for i in range(nodes))


def edge_index(nodes: int) -> list[tuple[int, int]]:
    """(input_node, output_node) of every alpha row, in row order."""
    return [(j, 2 + i) for i in range(nodes) for j in range(2 + i)]


def node_name(n: int) -> str:
    """Display name of node n: c_{k-2}, c_{k-1}, then 0, 1, ... for intermediate nodes."""
    return {0: "c_{k-2}", 1: "c_{k-1}"}.get(n, str(n - 2))


@dataclass(frozen=True)
class Genotype:
    """A derived architecture: for each cell type, (operation, input node) pairs, two per node."""

    normal: Gene
    normal_concat: tuple[int, ...]
    reduce: Gene
    reduce_concat: tuple[int, ...]

    def __post_init__(self):
        for field in ("normal", "reduce"):
            object.__setattr__(self, field, tuple((str(op), int(j)) for op, j in getattr(self, field)))
        for field in ("normal_concat", "reduce_concat"):
            object.__setattr__(self, field, tuple(int(n) for n in getattr(self, field)))
        validate(self)

    @property
    def nodes(self) -> int:
        """Number of intermediate nodes per cell."""
        return len(self.normal) // 2

    def cell(self, kind: str) -> tuple[Gene, tuple[int, ...]]:
        """(gene, concat) of the `normal` or `reduce` cell."""
        if kind not in ("normal", "reduce"):
            raise ValueError(f"cell kind must be 'normal' or 'reduce', got {kind!r}")
        return getattr(self, kind), getattr(self, f"{kind}_concat")

    def to_dict(self) -> dict:
        return {"normal": [list(g) for g in self.normal], "normal_concat": list(self.normal_concat),
                "reduce": [list(g) for g in self.reduce], "reduce_concat": list(self.reduce_concat)}

    @classmethod
    def from_dict(cls, d: dict) -> "Genotype":
        """Build from the dict of `to_dict`; any missing key or bad entry raises GenotypeError."""
        if not isinstance(d, dict):
            raise GenotypeError(f"a genotype must be a JSON object, got {type(d).__name__}")
        missing = [k for k in ("normal", "normal_concat", "reduce", "reduce_concat") if k not in d]
        if missing:
            raise GenotypeError(f"genotype is missing the key(s) {missing}")
        for kind in ("normal", "reduce"):
            for entry in d[kind]:
                if not (isinstance(entry, (list, tuple)) and len(entry) == 2
                        and isinstance(entry[0], str) and isinstance(entry[1], int)):
                    raise GenotypeError(f"each {kind} entry must be [operation, input_node], got {entry!r}")
        return cls(**{k: d[k] for k in ("normal", "normal_concat", "reduce", "reduce_concat")})

    def save(self, path: str | Path) -> Path:
        return write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path) -> "Genotype":
        """Read a genotype JSON file, naming the file in any error."""
        data = read_json(path, "genotype", GenotypeError,
                         hint="a search writes one as runs/<name>/genotype.json (Genotype.save)")
        try:
            return cls.from_dict(data)
        except GenotypeError as e:
            raise GenotypeError(f"{path}: {e}") from e

    def __str__(self) -> str:
        def fmt(gene):
            return ", ".join(f"{op}<-{node_name(j)}" for op, j in gene)
        return f"normal: [{fmt(self.normal)}]\nreduce: [{fmt(self.reduce)}]"


def validate(genotype: Genotype) -> None:
    """Raise GenotypeError unless every operation is registered and every edge index exists."""
    for kind in ("normal", "reduce"):
        gene, concat = genotype.cell(kind)
        if not gene or len(gene) % 2:
            raise GenotypeError(f"{kind} cell needs two (operation, input) pairs per node, got {len(gene)} pairs")
        nodes = len(gene) // 2
        for pos, (op, j) in enumerate(gene):
            if op not in OPS:
                raise GenotypeError(f"{kind} cell: unknown operation {op!r} at position {pos}; "
                                    f"known operations: {', '.join(OPS)}")
            if op == "none":
                raise GenotypeError(f"{kind} cell: operation 'none' at position {pos} cannot be in a derived cell")
            node = 2 + pos // 2
            if not 0 <= j < node:
                raise GenotypeError(f"{kind} cell: edge index {j} at position {pos} is out of range; "
                                    f"node {node - 2} can only take inputs 0..{node - 1}")
        bad = [n for n in concat if not 2 <= n < 2 + nodes]
        if bad or not concat:
            raise GenotypeError(f"{kind}_concat {list(concat)} must name intermediate nodes in 2..{nodes + 1}")


def parse_cell(alpha: torch.Tensor, primitives: Sequence[str] = PRIMITIVES, k: int = 2) -> Gene:
    """Discretise one cell's alpha (rows = edges, columns = operations), Sec. 2.4: `parse_weights` of its softmax."""
    return parse_weights(torch.softmax(alpha.detach().double().cpu(), dim=-1), primitives, k)


def parse_weights(weights: torch.Tensor, primitives: Sequence[str] = PRIMITIVES, k: int = 2) -> Gene:
    """The cell of mixing `weights` (rows = edges, columns = operations): the top-k rule of Sec. 2.4.

    On each node, the k incoming edges of largest strength are kept, the strength of an edge being
    its largest weight over the non-`none` operations; each kept edge takes that operation. Ties go
    to the earlier input node and to the earlier operation.
    """
    weights = weights.detach().double().cpu()
    nodes = nodes_from_edges(weights.shape[0])
    if weights.shape[1] != len(primitives):
        raise ValueError(f"alpha has {weights.shape[1]} columns but there are {len(primitives)} primitives")
    keep = [c for c, name in enumerate(primitives) if name != "none"]
    if not keep:
        raise ValueError("every primitive is 'none'; nothing can be derived")
    gene, start = [], 0
    for i in range(nodes):
        n_in = 2 + i
        w = weights[start:start + n_in][:, keep]
        strength = w.max(dim=1).values.tolist()
        top = sorted(range(n_in), key=lambda j: (-strength[j], j))[:k]
        for j in sorted(top):
            best = keep[int(torch.argmax(w[j]))]  # argmax returns the first maximum
            gene.append((primitives[best], j))
        start += n_in
    return tuple(gene)


def derive_genotype(alphas: dict[str, torch.Tensor], primitives: Sequence[str] = PRIMITIVES,
                    multiplier: int | None = None) -> Genotype:
    """Genotype from `{"normal": alpha, "reduce": alpha}`; cells concatenate the last `multiplier` nodes."""
    nodes = nodes_from_edges(alphas["normal"].shape[0])
    multiplier = nodes if multiplier is None else multiplier
    concat = tuple(range(2 + nodes - multiplier, 2 + nodes))
    return Genotype(normal=parse_cell(alphas["normal"], primitives), normal_concat=concat,
                    reduce=parse_cell(alphas["reduce"], primitives), reduce_concat=concat)


def nodes_from_edges(n_edges: int) -> int:
    """Intermediate nodes of a cell with `n_edges` alpha rows; a count no cell has raises ValueError."""
    nodes = 0
    while num_edges(nodes) < n_edges:
        nodes += 1
    if num_edges(nodes) != n_edges:
        raise ValueError(f"{n_edges} alpha rows is not the edge count of any cell "
                         f"(2, 5, 9, 14, 20, ... for 1, 2, 3, 4, 5 nodes)")
    return nodes


#: The cell found by DARTS (second order) on CIFAR-10, from the paper's released code.
DARTS_V2 = Genotype(
    normal=(("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)),
    normal_concat=(2, 3, 4, 5),
    reduce=(("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)),
    reduce_concat=(2, 3, 4, 5),
)


def count_architectures(nodes: int = 4, n_ops: int = 7, k: int = 2) -> int:
    """Discrete cells in the space: each node picks k of its inputs and an operation for each."""
    total = 1
    for i in range(nodes):
        total *= comb(2 + i, k) * n_ops ** k
    return total


def random_genotype(generator: torch.Generator, primitives: Sequence[str] = PRIMITIVES, nodes: int = 4,
                    multiplier: int | None = None) -> Genotype:
    """A genotype drawn at random from the search space: the top-2 rule on i.i.d. normal alphas.

    With i.i.d. alphas every choice of two input edges per node, and every operation on them,
    is equally likely: the random-search baseline of the same space.
    """
    shape = (num_edges(nodes), len(primitives))
    alphas = {kind: torch.randn(shape, generator=generator) for kind in ("normal", "reduce")}
    return derive_genotype(alphas, primitives, multiplier)
