"""Directed acyclic graphs that wire the layers of a dense block, and the size of their space.

A block has `n` layers, numbered in topological order 0 .. n-1; an edge (i, j) with i < j feeds
layer i's output into layer j. Layer 0 reads the block input, layer n-1 is the block output.
A DAG is *valid* under the search's criteria when

* every edge is at most `max_skip` layers long (j - i <= max_skip; None: no limit), and
* every layer is reachable from layer 0 and reaches layer n-1.

Because the vertices are numbered in topological order, the reachability criterion is local:
it holds exactly when every layer j > 0 has an incoming edge and every layer i < n-1 an outgoing
one (by induction along the order). That makes the space countable in closed form:

* without the reachability criterion, each of the P allowed pairs is an edge or not: 2^P graphs,
  with P = n(n-1)/2 unrestricted (the 2^(n^2/2) growth) and P = s*n - s(s+1)/2 for a skip limit
  s < n, which still grows exponentially in n;
* with it, inclusion-exclusion over the set A of layers denied inputs and the set B of layers
  denied outputs: sum_{A,B} (-1)^(|A|+|B|) 2^{P(A,B)}, P(A,B) the allowed pairs (i, j) with
  j not in A and i not in B (`count_dags`). `enumerate_dags` lists the same graphs one by one.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import torch


def allowed_pairs(n: int, max_skip: int | None = None) -> list[tuple[int, int]]:
    """Every (i, j), i < j, that an edge may join: j - i <= max_skip (all pairs when None)."""
    check_layers(n)
    if max_skip is not None and (isinstance(max_skip, bool) or not isinstance(max_skip, int) or max_skip < 1):
        raise ValueError(f"max_skip must be an integer >= 1 or None (no limit), got {max_skip!r}")
    limit = n if max_skip is None else max_skip
    return [(i, j) for j in range(n) for i in range(j) if j - i <= limit]


def check_layers(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"a block needs an integer number of layers >= 2, got {n!r}")


@dataclass(frozen=True)
class DAG:
    """A block's wiring: `n` layers and a sorted tuple of edges (i, j), i < j."""

    n: int
    edges: tuple[tuple[int, int], ...]

    def __post_init__(self):
        check_layers(self.n)
        edges = tuple(sorted({(int(i), int(j)) for i, j in self.edges}))
        for i, j in edges:
            if not 0 <= i < j < self.n:
                raise ValueError(f"edge ({i}, {j}) is not a forward edge between layers 0..{self.n - 1}; "
                                 "edges must go from a lower to a higher layer")
        object.__setattr__(self, "edges", edges)

    @classmethod
    def chain(cls, n: int) -> "DAG":
        """0 -> 1 -> ... -> n-1: a plain dense network of n layers."""
        return cls(n, tuple((j - 1, j) for j in range(1, n)))

    @classmethod
    def from_adjacency(cls, adjacency) -> "DAG":
        """From an (n, n) 0/1 matrix, entry [i, j] for the edge i -> j (upper triangle)."""
        a = torch.as_tensor(adjacency)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ValueError(f"an adjacency matrix must be square, got shape {tuple(a.shape)}")
        if torch.tril(a).any():
            raise ValueError("an adjacency matrix must be strictly upper triangular (edges i -> j with i < j)")
        return cls(a.shape[0], tuple((int(i), int(j)) for i, j in torch.nonzero(a).tolist()))

    def adjacency(self) -> torch.Tensor:
        """The (n, n) float 0/1 matrix of the edges, [i, j] = 1 for i -> j."""
        a = torch.zeros(self.n, self.n)
        for i, j in self.edges:
            a[i, j] = 1.0
        return a

    @property
    def num_edges(self) -> int:
        return len(self.edges)

    @property
    def longest_skip(self) -> int:
        """The largest j - i over the edges (1 for a chain; 0 without edges)."""
        return max((j - i for i, j in self.edges), default=0)

    @cached_property
    def depth(self) -> int:
        """Edges on the longest path from layer 0 to layer n-1 (0 if there is none)."""
        longest = [None] * self.n
        longest[0] = 0
        for i, j in self.edges:  # sorted by i: longest[i] is final before i's out-edges are seen
            if longest[i] is not None:
                longest[j] = max(longest[j] or 0, longest[i] + 1)
        return longest[-1] or 0

    def violations(self, max_skip: int | None = None) -> list[str]:
        """What keeps this DAG out of the search space; [] when it is valid."""
        found = []
        if max_skip is not None and self.longest_skip > max_skip:
            found.append(f"edge of length {self.longest_skip} exceeds max_skip={max_skip}")
        targets = {j for _, j in self.edges}
        sources = {i for i, _ in self.edges}
        orphans = [j for j in range(1, self.n) if j not in targets]
        dead = [i for i in range(self.n - 1) if i not in sources]
        if orphans:
            found.append(f"layers {orphans} are not reachable from layer 0 (no incoming edge)")
        if dead:
            found.append(f"layers {dead} do not reach layer {self.n - 1} (no outgoing edge)")
        return found

    def is_valid(self, max_skip: int | None = None) -> bool:
        return not self.violations(max_skip)

    def stats(self) -> dict[str, int]:
        """The properties the notebook correlates with accuracy."""
        return {"depth": self.depth, "edges": self.num_edges, "longest_skip": self.longest_skip}

    def __str__(self) -> str:
        return f"DAG(n={self.n}, " + " ".join(f"{i}->{j}" for i, j in self.edges) + ")"


def count_dags(n: int, max_skip: int | None = None, connected: bool = True) -> int:
    """Size of the space of n-layer blocks, in closed form (see the module docstring).

    `connected=False` drops the reachability criterion: 2^P for P allowed pairs.
    """
    pairs = allowed_pairs(n, max_skip)
    if not connected:
        return 2 ** len(pairs)
    total = 0
    # A: layers (1..n-1) denied inputs, B: layers (0..n-2) denied outputs
    for a_bits in range(1 << (n - 1)):
        A = {j + 1 for j in range(n - 1) if a_bits >> j & 1}
        for b_bits in range(1 << (n - 1)):
            B = {i for i in range(n - 1) if b_bits >> i & 1}
            free = sum(1 for i, j in pairs if j not in A and i not in B)
            total += (-1) ** (len(A) + len(B)) * 2 ** free
    return total


def enumerate_dags(n: int, max_skip: int | None = None) -> list[DAG]:
    """Every valid DAG on n layers, one by one (for small n: the count grows like 2^(n^2/2)).

    Each layer j > 0 picks a non-empty set of inputs among its allowed predecessors; the
    combinations whose every layer i < n-1 feeds some later layer are kept.
    """
    pairs = allowed_pairs(n, max_skip)
    if len(pairs) > 24:
        raise ValueError(f"{len(pairs)} possible edges make too many DAGs to list; "
                         "use count_dags for the size or DAGSampler to draw from the space")
    choices = []
    for j in range(1, n):
        preds = [i for i, jj in pairs if jj == j]
        choices.append([c for r in range(1, len(preds) + 1) for c in itertools.combinations(preds, r)])
    out = []
    for picks in itertools.product(*choices):
        edges = tuple((i, j) for j, inputs in enumerate(picks, start=1) for i in inputs)
        if {i for i, _ in edges} >= set(range(n - 1)):
            out.append(DAG(n, edges))
    return out
