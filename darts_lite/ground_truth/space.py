"""The ground truth's search space: the course's DARTS cell made small enough to train every member.

A normal cell of `nodes` intermediate nodes, each the sum of two operations on two distinct earlier
nodes (Liu et al., 2019, Sec. 2.1 and the top-2 rule of Sec. 2.4), with the operations of
`SMALL_PRIMITIVES`; the reduction cell is fixed (`FIXED_REDUCE`). With 2 nodes and 3 operations the
enumeration has 9 x 27 = 243 cells.

Isomorphic duplicates. Two cells are the same network, up to a permutation of channels, when their
intermediate nodes compute the same expressions: node i's expression is the multiset of
(operation, expression of its input) over its two edges, the inputs c_{k-2} and c_{k-1} being
leaves; the cell's output concatenates every intermediate node, so the order of the nodes does not
matter either. `canonical` writes that multiset of expressions as one string; cells with the same
string are one class (e.g. two nodes that both read only c_{k-2} and c_{k-1} can be swapped).
"""
from __future__ import annotations

from itertools import combinations, product
from typing import Sequence

from ..darts.genotypes import Gene, Genotype

#: The operations of the small space: a parameter-free skip, a convolution and a pooling, so that the
#: all-`skip_connect` collapse of DARTS (Zela et al., 2020; NAS-Bench-201) is possible in it.
SMALL_PRIMITIVES: tuple[str, ...] = ("skip_connect", "sep_conv_3x3", "max_pool_3x3")

#: The one reduction cell of every network of the table (pooling only: the normal cell carries the work).
FIXED_REDUCE: Gene = (("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1))


def enumerate_cells(nodes: int = 2, primitives: Sequence[str] = SMALL_PRIMITIVES) -> list[Gene]:
    """Every normal cell of the space, in a fixed order: per node, two distinct inputs (ascending), an op each."""
    choices = []
    for i in range(nodes):
        node = [((a, j), (b, k)) for j, k in combinations(range(2 + i), 2) for a, b in product(primitives, repeat=2)]
        choices.append(node)
    return [tuple(edge for node in pick for edge in node) for pick in product(*choices)]


def canonical(gene: Gene) -> str:
    """The cell's isomorphism class as a string: its nodes' expressions, sorted (see the module docstring)."""
    exprs = ["c_{k-2}", "c_{k-1}"]
    for i in range(0, len(gene), 2):
        terms = sorted(f"{op}({exprs[j]})" for op, j in gene[i:i + 2])
        exprs.append("[" + " + ".join(terms) + "]")
    return " ".join(sorted(exprs[2:]))


def cell_string(gene: Gene) -> str:
    """The NAS-Bench-201 style key of one cell: `|op~input|op~input|+|...|`, one group per node."""
    nodes = ["|" + "|".join(f"{op}~{j}" for op, j in gene[i:i + 2]) + "|" for i in range(0, len(gene), 2)]
    return "+".join(nodes)


def parse_cell_string(text: str) -> Gene:
    """The inverse of `cell_string`; a malformed key raises ValueError naming it."""
    try:
        gene = tuple((op, int(j)) for node in text.split("+") for op, j in
                     (edge.split("~") for edge in node.strip("|").split("|")))
    except ValueError as e:
        raise ValueError(f"{text!r} is not a cell string like '|skip_connect~0|sep_conv_3x3~1|+|...|'") from e
    if not gene or len(gene) % 2:
        raise ValueError(f"{text!r} is not a cell string: every node needs two edges, like '|skip_connect~0|sep_conv_3x3~1|'")
    return gene


def unique_cells(nodes: int = 2, primitives: Sequence[str] = SMALL_PRIMITIVES) -> list[Gene]:
    """One representative (the first in enumeration order) of every isomorphism class."""
    seen: dict[str, Gene] = {}
    for gene in enumerate_cells(nodes, primitives):
        seen.setdefault(canonical(gene), gene)
    return list(seen.values())


def all_skip_cells(nodes: int = 2) -> list[Gene]:
    """The cells whose every edge is `skip_connect`: where a collapsed DARTS search lands."""
    return [g for g in unique_cells(nodes, ("skip_connect",))]


def genotype_of(gene: Gene, nodes: int | None = None) -> Genotype:
    """The full genotype of a normal cell of the space: every node concatenated, the reduction cell fixed."""
    nodes = len(gene) // 2 if nodes is None else nodes
    concat = tuple(range(2, 2 + nodes))
    return Genotype(normal=gene, normal_concat=concat, reduce=FIXED_REDUCE, reduce_concat=(2, 3))
