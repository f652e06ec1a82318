"""Solutions to the exercises of notebook 07, each checked by the course's own check.

    python solutions/07_hand_gender_search.py     # prints each verdict; exit status 1 if one is wrong
"""
import math
import sys

import numpy as np

from darts_lite.course import nb07


def balanced_accuracy(y, p):
    """The mean over the two classes of the share of that class predicted right (its recall)."""
    y, p = np.asarray(y), np.asarray(p)
    return float(np.mean([np.mean(p[y == c] == c) for c in (0, 1)]))


def verdict(mean_a, std_a, mean_b, std_b, n):
    """beats / ties / loses to: the difference of the means against two standard errors of it."""
    two_se = 2 * math.sqrt(std_a ** 2 / n + std_b ** 2 / n)
    diff = mean_a - mean_b
    return "beats" if diff > two_se else ("loses to" if diff < -two_se else "ties")


ANSWERS = {"q1": balanced_accuracy, "q2": verdict}

if __name__ == "__main__":
    sys.exit(0 if all([getattr(nb07, q).passed(a) for q, a in ANSWERS.items()]) else 1)
