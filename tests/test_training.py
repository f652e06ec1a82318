"""Tests for darts_lite.core.training: BatchNorm recalibration is exact and leaves the model as it came."""
import torch
import torch.nn as nn

from darts_lite.core.training import recalibrate_bn, training_images
from darts_lite.data import Split, load_dataset


def _net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4, momentum=0.01), nn.ReLU(),
                        nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2))
    return net.double()


def test_recalibrated_statistics_are_the_exact_statistics_of_the_split():
    net = _net().eval()
    X = torch.randn(10, 1, 5, 5, dtype=torch.float64) * 3 + 1
    recalibrate_bn(net, Split(X, torch.zeros(10, dtype=torch.long)), batch_size=10)
    h = net[0](X)  # the first BatchNorm's input, all in one batch
    torch.testing.assert_close(net[1].running_mean, h.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(net[1].running_var, h.var(dim=(0, 2, 3), unbiased=True))


def test_recalibration_restores_momentum_and_mode():
    for training in (False, True):
        net = _net().train(training)
        recalibrate_bn(net, Split(torch.randn(12, 1, 5, 5, dtype=torch.float64), torch.zeros(12, dtype=torch.long)),
                       batch_size=5)
        assert (net[1].momentum, net[4].momentum) == (0.01, 0.1)
        assert net.training == training and net[1].training == training


def test_training_images_are_search_train_then_search_val():
    data = load_dataset("digits", image_size=8, seed=0)
    both = training_images(data)
    assert len(both) == len(data.search_train) + len(data.search_val)
    assert torch.equal(both.X[:len(data.search_train)], data.search_train.X)
    assert torch.equal(both.y[len(data.search_train):], data.search_val.y)
