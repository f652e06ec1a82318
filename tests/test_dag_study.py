"""Tests for darts_lite.dag_blocks.study on a tiny digits run."""
import math

import pytest
import torch

from darts_lite.core.runs import load_data
from darts_lite.dag_blocks.config import DAGSearchConfig
from darts_lite.dag_blocks.study import majority_accuracy, property_correlations, random_dag_study


@pytest.fixture(scope="module")
def rows():
    data = load_data(DAGSearchConfig(image_size=8))
    return random_dag_study(4, 5, data, seed=0, progress=False, width=8, epochs=1, device="cpu")


def test_study_trains_distinct_valid_dags(rows):
    assert len(rows) == 5 and len({r["dag"] for r in rows}) == 5
    assert all(r["dag"].is_valid() and 0 <= r["test_acc"] <= 1 for r in rows)


def test_correlations_cover_each_property(rows):
    corr = property_correlations(rows)
    assert set(corr) == {"depth", "edges", "longest_skip"}
    for c in corr.values():
        assert c["n"] == 5 and (math.isnan(c["rho"]) or -1 <= c["rho"] <= 1)


def test_majority_accuracy_counts_the_most_frequent_training_class():
    from darts_lite.data import DataSplits, Split
    X = torch.zeros(4, 1, 2, 2)
    train, test = Split(X, torch.tensor([1, 1, 0, 1])), Split(X, torch.tensor([1, 0, 0, 0]))
    data = DataSplits("x", train, train, test, 2, 1, 2, ["a", "b"], [0.0], [1.0])
    assert majority_accuracy(data) == 0.25
