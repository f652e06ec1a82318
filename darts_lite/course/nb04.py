"""Notebook 04, DAG-sampled dense blocks: its findings and exercises."""
from __future__ import annotations

from functools import lru_cache

import torch

from ..dag_blocks import DAG, DAGSampler, count_dags
from ..dag_blocks.dag import allowed_pairs
from .common import decided, versus
from .exercise import Exercise

# The lesson's three blocks, as (results key, name in a finding).
BLOCKS = (("found", "The searched block"), ("random_block", "a random block of the same space"),
          ("plain", "the plain dense network (the chain)"))


def _acc(results: dict, key: str) -> dict | None:
    if f"{key}_mean" not in results:
        return None
    return {"mean": results[f"{key}_mean"], "std": results[f"{key}_std"]}


def findings(results: dict) -> list[str]:
    r, n = results, results["seeds"]
    found, rand, plain = (_acc(r, key) for key, _ in BLOCKS)
    lines = []
    if found and rand:
        lines.append(versus("The searched block", found, "a random block of the same space", rand, n,
                            "test accuracy"))
    if found and plain:
        lines.append(versus("The searched block", found, "the plain dense network (the chain)", plain, n,
                            "test accuracy"))
    if rand and plain:
        lines.append(versus("A random block", rand, "the plain dense network", plain, n, "test accuracy"))
    if "found_params" in r:
        lines.append(f"The searched block has {r['found_params']:,.0f} parameters, the chain {r['plain_params']:,.0f}: "
                     "skips add weights, so part of a gain may be capacity.")
    if r.get("kept_weight"):
        lines.append(decided(r["kept_weight"], r["uniform_kept_weight"], "The DAG searches"))
    if "shared_params" in r:
        lines.append(f"The supernet's shared weights hold {r['shared_params']:,} parameters; its "
                     f"{r['blocks']} blocks as separate networks would need {r['separate_params']:,}.")
    lines.append(f"With 6 layers the space holds {r['space_n6_unlimited']:,} blocks; a skip limit of 2 leaves "
                 f"{r['space_n6_skip2']:,}.")
    if "train_epochs" in r:
        lines.append(f"Small-sample numbers: {n} seeds, {r['train_epochs']} training epochs, "
                     f"{r['dataset']} at {r['image_size']}x{r['image_size']} pixels.")
    return lines


def headline(results: dict) -> str | None:
    """The README's line: the searched block against a random block of the same space."""
    found, rand = _acc(results, "found"), _acc(results, "random_block")
    if not (found and rand):
        return None
    word = versus("", found, "", rand, results["seeds"]).split("**")[1]
    return (f"A searched DAG-wired dense block **{word}** a random block of the same space on "
            f"{results['dataset']}: test accuracy {found['mean']:.3f} against {rand['mean']:.3f}.")


# --- exercises -------------------------------------------------------------------------------------------------

def _brute_force(n: int, max_skip: int | None) -> int:
    """Every subset of the allowed pairs, kept when each layer j > 0 has an input and each i < n-1 an output."""
    pairs = allowed_pairs(n, max_skip)
    count = 0
    for bits in range(1 << len(pairs)):
        edges = [p for b, p in enumerate(pairs) if bits >> b & 1]
        if {j for _, j in edges} >= set(range(1, n)) and {i for i, _ in edges} >= set(range(n - 1)):
            count += 1
    return count


CASES = [(n, s) for n in range(2, 7) for s in (None, 1, 2, 3)] + [(7, 2), (8, 1)]


@lru_cache(maxsize=None)
def _reference(n: int, s: int | None) -> int:
    """The count by the library's closed form, confirmed by enumeration where that is quick."""
    want = count_dags(n, s)
    if n <= 6 and _brute_force(n, s) != want:
        raise AssertionError(f"count_dags({n}, {s}) = {want} disagrees with the enumeration")
    return want


def _count(answer) -> str | None:
    for n, s in CASES:
        want = _reference(n, s)
        got = answer(n, s)
        if got is None or got is Ellipsis:
            return "no answer yet: count_blocks returns None; write its body in place of the `...`."
        if got != want:
            hint = ""
            if got == 2 ** len(allowed_pairs(n, s)):
                hint = " That is every graph on the allowed edges: a valid block also needs every layer on a path."
            elif got == 2 ** (n * (n - 1) // 2):
                hint = " That is every graph on n layers, with neither the skip limit nor the paths."
            return f"count_blocks({n}, {s}) is {got!r}; it should be {want}.{hint}"
    return None


def _library_valid(n: int, edges, max_skip: int | None) -> bool:
    try:
        return DAG(n, tuple(edges)).is_valid(max_skip)
    except ValueError:  # a backward edge, a self-loop or a layer out of range
        return False


def _validity_cases():
    """Blocks drawn from DAGSampler, and the same blocks broken in each way the library refuses."""
    g = torch.Generator().manual_seed(4)
    cases = []
    for n, s in [(3, None), (4, None), (5, 2), (6, None), (6, 3), (7, 2)]:
        for dag in DAGSampler(n, s).sample(4, g):
            edges = list(dag.edges)
            cases.append((n, edges, s))                                     # valid as drawn
            k = int(torch.randint(len(edges), (1,), generator=g))
            cases.append((n, edges[:k] + edges[k + 1:], s))                 # one edge dropped
            cases.append((n, edges + [(n - 1, 0)], s))                      # a backward edge: a cycle
            cases.append((n, edges + [(1, 1)], s))                          # a self-loop
            cases.append((n, edges + [(0, n)], s))                          # a layer that does not exist
            cases.append((n, edges, 1))                                     # a tighter skip limit
            cases.append((n, [e for e in edges if e[1] != n - 1] + [(n - 2, n - 1)], s))  # output from one layer
    cases.append((4, [(0, 1), (0, 2), (1, 3), (0, 3)], None))               # layer 2 is a dead end
    cases.append((4, [(0, 1), (1, 3), (0, 2), (2, 3)], 2))
    return cases


def _validity(answer) -> str | None:
    for n, edges, s in _validity_cases():
        got = answer(n, [tuple(e) for e in edges], s)
        if got is None or got is Ellipsis:
            return "no answer yet: is_valid_block returns None; write its body in place of the `...`."
        want = _library_valid(n, edges, s)
        if bool(got) != want:
            why = "it is valid" if want else _why_invalid(n, edges, s)
            return f"is_valid_block({n}, {sorted(edges)}, max_skip={s}) gave {got!r}, but {why}."
    return None


def _why_invalid(n: int, edges, s) -> str:
    try:
        return "; ".join(DAG(n, tuple(edges)).violations(s))
    except ValueError as err:
        return str(err).split(";")[0]


def _count_without_paths(n, max_skip=None):
    """A plausible slip: every graph on the allowed edges, without the reachability criterion."""
    return 2 ** len(allowed_pairs(n, max_skip))


def _without_outputs(n, edges, max_skip=None):
    """A plausible slip: forward edges, skip limit and inputs checked, dead ends forgotten."""
    if any(not 0 <= i < j < n for i, j in edges):
        return False
    if max_skip is not None and any(j - i > max_skip for i, j in edges):
        return False
    return {j for _, j in edges} >= set(range(1, n))


q1 = Exercise(
    "q1", "Write `count_blocks(n, max_skip=None)`: the number of valid n-layer blocks whose edges are at most "
    "`max_skip` long (None: no limit).", _count,
    "A skip limit makes the number of possible edges linear in n, yet the count still grows exponentially. "
    "count_dags gets it in closed form, by inclusion-exclusion.",
    wrong=_count_without_paths,
    hint="Loop over all subsets of the allowed pairs (i, j), i < j, j - i <= max_skip (itertools.combinations or "
         "bit masks). Keep a subset when every layer j > 0 has an input and every layer i < n-1 an output.",
    cpu_seconds=2.0)
q2 = Exercise(
    "q2", "Write `is_valid_block(n, edges, max_skip=None)`: True when the edges form a block of the search space, "
    "as `DAG.is_valid` defines it.", _validity,
    "With the layers numbered in topological order, forward edges rule out cycles, and reachability is local: "
    "an input for every layer after 0 and an output for every layer before n-1.",
    wrong=_without_outputs,
    hint="False for any edge that is not 0 <= i < j < n or is longer than max_skip. Then every layer j > 0 needs "
         "an incoming edge, and every layer i < n-1 an outgoing one.", cpu_seconds=0.5)
exercises = [q1, q2]

