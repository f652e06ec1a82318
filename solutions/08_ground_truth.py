"""Solutions to the exercises of notebook 08, each checked by the course's own check.

    python solutions/08_ground_truth.py     # prints each verdict; exit status 1 if one is wrong
"""
import sys

import numpy as np

from darts_lite.course import nb08


def kendall_tau(a, b):
    """(concordant - discordant) / all pairs: over every pair of cells, do the two seeds order it alike?"""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    i, j = np.triu_indices(len(a), k=1)
    sign = np.sign((a[i] - a[j]) * (b[i] - b[j]))
    return float(sign.sum() / len(i))


def top_and_regret(accuracies, pick):
    """The share (%) of cells whose mean accuracy is at least the pick's, and the best mean minus the pick's."""
    m = np.asarray(accuracies, dtype=float).mean(axis=1)
    return 100.0 * float(np.mean(m >= m[pick])), float(m.max() - m[pick])


ANSWERS = {"q1": kendall_tau, "q2": top_and_regret}

if __name__ == "__main__":
    sys.exit(0 if all([getattr(nb08, q).passed(a) for q, a in ANSWERS.items()]) else 1)
