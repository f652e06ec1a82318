"""Solutions to the exercises of notebook 02, each checked by the course's own check.

    python solutions/02_continuous_relaxation.py     # prints each verdict; exit status 1 if one is wrong
"""
import sys

import torch

from darts_lite.course import nb02


def mixed_op(x, alpha, ops):
    """Eq. 2: every candidate's output, weighted by the softmax of the edge's alphas, summed."""
    w = torch.softmax(alpha, dim=-1)
    return sum(w[k] * op(x) for k, op in enumerate(ops))


def derive(alpha, primitives):
    """The top-2 rule (Sec. 2.4): per node, the two inputs with the largest non-`none` weight, each with that op."""
    w = torch.softmax(alpha, dim=-1)
    real = [k for k, name in enumerate(primitives) if name != "none"]
    gene, start, node = [], 0, 0
    while start < w.shape[0]:
        rows = w[start:start + 2 + node][:, real]       # the edges into this node, `none` left out
        strength = rows.max(dim=1).values
        kept = sorted(sorted(range(2 + node), key=lambda j: -strength[j].item())[:2])
        gene += [(primitives[real[int(rows[j].argmax())]], j) for j in kept]
        start, node = start + 2 + node, node + 1
    return gene


ANSWERS = {"q1": mixed_op, "q2": derive}

if __name__ == "__main__":
    sys.exit(0 if all([getattr(nb02, q).passed(a) for q, a in ANSWERS.items()]) else 1)
