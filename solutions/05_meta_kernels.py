"""Solutions to the exercises of notebook 05, each checked by the course's own check.

    python solutions/05_meta_kernels.py     # prints each verdict; exit status 1 if one is wrong
"""
import math
import sys

import torch.nn.functional as F

from darts_lite.course import nb05


def merge(k3, k5):
    """Zero-pad the 3x3 kernel by one on every side (its centre is the 5x5's centre) and add."""
    return F.pad(k3, (1, 1, 1, 1)) + k5


def conv_macs(c_in, c_out, k, h, w, stride=1, groups=1):
    """Output positions times the multiply-accumulates of one output value."""
    h_out, w_out = (h - 1) // stride + 1, (w - 1) // stride + 1  # padding k // 2 for an odd k
    return c_out * h_out * w_out * (c_in // groups) * k * k


def betas(losses):
    """beta_i = tanh(1 / L_i) / sum_j tanh(1 / L_j)."""
    t = [math.tanh(1 / L) for L in losses]
    return [v / sum(t) for v in t]


ANSWERS = {"q1": merge, "q2": conv_macs, "q3": betas}

if __name__ == "__main__":
    sys.exit(0 if all([getattr(nb05, q).passed(a) for q, a in ANSWERS.items()]) else 1)
