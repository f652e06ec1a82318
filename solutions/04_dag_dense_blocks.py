"""Solutions to the exercises of notebook 04, each checked by the course's own check.

    python solutions/04_dag_dense_blocks.py     # prints each verdict; exit status 1 if one is wrong
"""
import sys
from itertools import combinations

from darts_lite.course import nb04


def count_blocks(n, max_skip=None):
    """Brute force: every subset of the allowed edges in which each layer has an input and an output."""
    limit = n if max_skip is None else max_skip
    pairs = [(i, j) for j in range(n) for i in range(j) if j - i <= limit]
    count = 0
    for size in range(len(pairs) + 1):
        for edges in combinations(pairs, size):
            has_input = {j for _, j in edges}
            has_output = {i for i, _ in edges}
            if all(j in has_input for j in range(1, n)) and all(i in has_output for i in range(n - 1)):
                count += 1
    return count


def is_valid_block(n, edges, max_skip=None):
    """Forward edges between existing layers, within the skip limit, every layer on a path from 0 to n-1."""
    if any(not 0 <= i < j < n for i, j in edges):
        return False  # a backward edge or a self-loop (a cycle), or a layer that does not exist
    if max_skip is not None and any(j - i > max_skip for i, j in edges):
        return False
    # Numbered in topological order, reachability is local: an input for each j > 0, an output for each i < n-1.
    return {j for _, j in edges} >= set(range(1, n)) and {i for i, _ in edges} >= set(range(n - 1))


ANSWERS = {"q1": count_blocks, "q2": is_valid_block}

if __name__ == "__main__":
    sys.exit(0 if all([getattr(nb04, q).passed(a) for q, a in ANSWERS.items()]) else 1)
