"""Ground truth: a small DARTS cell space trained exhaustively here, and every search scored against it."""
