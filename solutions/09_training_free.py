"""Solutions to the exercises of notebook 09, each checked by the course's own check.

    python solutions/09_training_free.py     # prints each verdict; exit status 1 if one is wrong
"""
import sys

import numpy as np

from darts_lite.course import nb09


def naswot_from_codes(codes):
    """log|K_H|, K_H[i, j] = units where inputs i and j are both on or both off."""
    c = np.asarray(codes, dtype=float)
    K = c @ c.T + (1 - c) @ (1 - c).T
    return float(np.linalg.slogdet(K)[1])


def synflow_two_layer(W1, W2):
    """sum |w * dR/dw| with R = 1^T |W2| relu(|W1| 1): every ReLU passes, so the paths multiply."""
    A1, A2 = np.abs(np.asarray(W1, dtype=float)), np.abs(np.asarray(W2, dtype=float))
    h = A1 @ np.ones(A1.shape[1])          # dR/dA2[i, j] = h[j]
    return float((A2 * h).sum() + (A1 * A2.sum(0)[:, None]).sum())  # dR/dA1[j, k] = sum_i A2[i, j]


ANSWERS = {"q1": naswot_from_codes, "q2": synflow_two_layer}

if __name__ == "__main__":
    sys.exit(0 if all([getattr(nb09, q).passed(a) for q, a in ANSWERS.items()]) else 1)
