"""Tests for the configs (core.config, SearchConfig, TrainConfig) and core.runtime / core.cost."""
import json
import random

import numpy as np
import pytest
import torch
import torch.nn as nn

from darts_lite.core.config import ConfigError
from darts_lite.core.cost import count_parameters
from darts_lite.core.runtime import get_device, set_seed
from darts_lite.core.training import TrainConfig
from darts_lite.darts.config import SearchConfig
from darts_lite.darts.ops import PRIMITIVES


def test_defaults_are_valid():
    s, t = SearchConfig(), TrainConfig()
    assert s.primitives == PRIMITIVES and s.order == 1 and s.layers >= 3
    assert t.drop_path_prob == 0.0
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize("kwargs,match", [
    ({"layers": 2}, r"SearchConfig\.layers must be a number >= 3, got 2"),
    ({"channels": 0}, r"SearchConfig\.channels must be a number >= 1, got 0"),
    ({"layers": True}, r"SearchConfig\.layers .* got True"),
    ({"channels": "8"}, r"SearchConfig\.channels .* got '8'"),
    ({"nodes": 2, "multiplier": 3}, r"SearchConfig\.multiplier must be a number >= 1 and <= 2, got 3"),
    ({"w_lr": 0.01, "w_lr_min": 0.02}, r"SearchConfig\.w_lr_min must be a number >= 0 and <= 0\.01, got 0\.02"),
    ({"w_momentum": 1.5}, r"SearchConfig\.w_momentum .* <= 1, got 1\.5"),
    ({"arch_lr": -1e-3}, r"SearchConfig\.arch_lr .* got -0\.001"),
    ({"seed": -1}, r"SearchConfig\.seed .* got -1"),
    ({"image_size": 3}, r"SearchConfig\.image_size must be a number >= 4, got 3"),
    ({"order": 3}, r"SearchConfig\.order must be 1, 2 or 'exact', got 3"),
    ({"order": "second"}, r"SearchConfig\.order .* got 'second'"),
    ({"order": 2, "radius": 0}, r"SearchConfig\.radius must be > 0 for order 2"),
    ({"name": "a/b"}, r"SearchConfig\.name must be a plain directory name, got 'a/b'"),
    ({"name": ""}, r"SearchConfig\.name .* got ''"),
])
def test_search_config_rejects(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SearchConfig(**kwargs)


def test_search_config_accepts_edge_values():
    cfg = SearchConfig(layers=3, channels=1, nodes=2, multiplier=2, w_lr_min=0.025, order="exact", radius=0)
    assert cfg.order == "exact"
    assert SearchConfig(order=2, radius=1e-6).radius == 1e-6


def test_search_config_rejects_unknown_primitive():
    with pytest.raises(ValueError, match="conv_13x13"):
        SearchConfig(primitives=("skip_connect", "conv_13x13"))


def test_search_config_primitives_become_tuple():
    assert SearchConfig(primitives=["none", "skip_connect"]).primitives == ("none", "skip_connect")


@pytest.mark.parametrize("kwargs,match", [
    ({"layers": 2}, r"TrainConfig\.layers must be a number >= 3, got 2"),
    ({"channels": 0}, r"TrainConfig\.channels must be a number >= 1, got 0"),
    ({"lr": 0.01, "lr_min": 0.1}, r"TrainConfig\.lr_min .* <= 0\.01, got 0\.1"),
    ({"drop_path_prob": 1.0}, r"TrainConfig\.drop_path_prob .* <= 0\.99, got 1\.0"),
    ({"epochs": 0}, r"TrainConfig\.epochs .* got 0"),
    ({"auxiliary_weight": -0.4}, r"TrainConfig\.auxiliary_weight .* got -0\.4"),
])
def test_train_config_rejects(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        TrainConfig(**kwargs)


@pytest.mark.parametrize("cls", [SearchConfig, TrainConfig])
def test_from_dict_rejects_unknown_key(cls):
    with pytest.raises(ConfigError, match=rf"unknown {cls.__name__} key\(s\) \['bogus', 'lyers'\]"):
        cls.from_dict({"layers": 4, "lyers": 4, "bogus": 1})


def test_from_dict_validates_values():
    with pytest.raises(ConfigError, match="layers"):
        SearchConfig.from_dict({"layers": 1})


def test_replace_validates_again():
    cfg = SearchConfig(layers=4)
    assert cfg.replace(layers=5).layers == 5 and cfg.layers == 4
    with pytest.raises(ConfigError, match="got 2"):
        cfg.replace(layers=2)


def test_search_config_round_trip(tmp_path):
    cfg = SearchConfig(name="run1", layers=4, channels=6, nodes=3, multiplier=2, order=2, radius=1e-3,
                       primitives=("none", "skip_connect", "sep_conv_3x3"), image_size=16, data_root="/x")
    path = cfg.save(tmp_path / "deep" / "config.json")
    assert json.loads(path.read_text())["primitives"] == ["none", "skip_connect", "sep_conv_3x3"]
    loaded = SearchConfig.load(path)
    assert loaded == cfg and loaded.primitives == cfg.primitives


def test_train_config_round_trip(tmp_path):
    cfg = TrainConfig(layers=5, drop_path_prob=0.2, auxiliary_weight=0.4)
    assert TrainConfig.load(cfg.save(tmp_path / "t.json")) == cfg
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json"):
        SearchConfig.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{layers: 3")
    with pytest.raises(ConfigError, match=r"bad.json is not a config file \(JSON text expected\)"):
        TrainConfig.load(bad)


# ---- utils --------------------------------------------------------------------------------------

def test_get_device_auto_and_cpu():
    dev = get_device("auto")
    assert isinstance(dev, torch.device) and dev.type in ("cpu", "cuda", "mps")
    if torch.cuda.is_available():
        assert dev.type == "cuda"
    assert get_device() == dev
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(" CPU ") == torch.device("cpu")
    d = torch.device("cpu")
    assert get_device(d) is d


def test_get_device_unknown_type():
    with pytest.raises(ValueError, match=r"unknown device 'tpu'; use 'auto', 'cpu', 'cuda'"):
        get_device("tpu")


def test_get_device_unsupported_but_valid_torch_type():
    with pytest.raises(ValueError, match=r"unsupported device 'meta'"):
        get_device("meta")


def test_get_device_missing_cuda_device():
    if torch.cuda.is_available():
        if torch.cuda.device_count() > 7:
            pytest.skip("this machine has a cuda:7")
        with pytest.raises(ValueError, match=r"device 'cuda:7' does not exist"):
            get_device("cuda:7")
    else:
        with pytest.raises(ValueError, match=r"device 'cuda:7' was asked for but CUDA is not available.*'cpu'"):
            get_device("cuda:7")
        with pytest.raises(ValueError, match=r"'cuda'.*CUDA is not available"):
            get_device("cuda")


def test_set_seed_repeats_every_generator():
    def draw():
        return torch.randn(5), random.random(), np.random.rand(3)
    set_seed(123)
    a = draw()
    set_seed(123)
    b = draw()
    assert torch.equal(a[0], b[0]) and a[1] == b[1] and np.array_equal(a[2], b[2])
    set_seed(124)
    assert not torch.equal(draw()[0], a[0])


@pytest.mark.parametrize("bad", [-1, 1.5, "3"])
def test_set_seed_rejects_bad_seed(bad):
    with pytest.raises(ValueError, match=rf"seed must be a non-negative integer, got {bad!r}"):
        set_seed(bad)


def test_set_seed_large_seed():
    set_seed(2**40)  # numpy takes seeds < 2**32 only: the helper reduces it
    x = torch.randn(2)
    set_seed(2**40)
    assert torch.equal(torch.randn(2), x)


def test_count_parameters_counts_every_parameter_or_the_trainable_ones():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 4, bias=False))
    assert count_parameters(net) == count_parameters(net, trainable_only=True) == 3 * 2 + 2 + 2 * 4
    net[0].weight.requires_grad_(False)
    assert count_parameters(net) == 3 * 2 + 2 + 2 * 4
    assert count_parameters(net, trainable_only=True) == 2 + 8


def test_schedules_are_valid_and_named():
    from darts_lite.darts.config import SCHEDULES
    assert {"paper", "decisive"} <= set(SCHEDULES)
    for name in SCHEDULES:
        for epochs in (1, 2, 8, 50):
            config = SearchConfig(epochs=epochs).with_schedule(name)
            assert 0 <= config.warmup_epochs < epochs
    with pytest.raises(ConfigError, match="unknown schedule"):
        SearchConfig().with_schedule("fast")


def test_tau_is_annealed_linearly_over_the_epochs():
    config = SearchConfig(epochs=5, tau_max=10.0, tau_min=0.1)
    assert [config.tau(e) for e in range(5)] == pytest.approx([10.0, 7.525, 5.05, 2.575, 0.1])


def test_explain_lists_the_changed_settings_with_their_descriptions():
    from darts_lite.core.config import field_help
    from darts_lite.darts.config import SearchConfig
    assert SearchConfig().explain() == "SearchConfig: the defaults"
    lines = SearchConfig(layers=4, primitives=("none", "skip_connect")).explain().splitlines()
    assert lines[0] == "SearchConfig:" and lines[1].split()[:4] == ["field", "value", "what", "it"]
    assert [line.split()[0] for line in lines[2:]] == ["layers", "primitives"]
    assert lines[2].split()[1] == "4" and lines[2].endswith(field_help(SearchConfig)["layers"])
    assert "none,skip_connect" in lines[3]
    assert len(SearchConfig().explain(all_fields=True).splitlines()) == 2 + len(field_help(SearchConfig))


def test_every_search_config_opens_with_the_run_name_and_data_once():
    """The three searches share BaseSearchConfig: same four fields first, one description each, own name."""
    import dataclasses

    from darts_lite.core.config import BaseSearchConfig, field_help
    from darts_lite.dag_blocks import DAGSearchConfig
    from darts_lite.meta_kernels import KernelSearchConfig

    base = [f.name for f in dataclasses.fields(BaseSearchConfig)]
    names = set()
    for cls in (SearchConfig, DAGSearchConfig, KernelSearchConfig):
        assert issubclass(cls, BaseSearchConfig)
        assert [f.name for f in dataclasses.fields(cls)][:len(base)] == base
        described = field_help(cls)
        assert set(described) == {f.name for f in dataclasses.fields(cls)}  # the base's fields too
        assert described["data_root"] == field_help(BaseSearchConfig)["data_root"]
        names.add(cls().name)
        with pytest.raises(ConfigError, match="plain directory name"):
            cls(name="a/b")  # the base's check runs for every search
    assert len(names) == 3  # each search keeps its own default run name


def test_field_help_takes_a_redeclared_field_s_description_from_the_subclass_first():
    import dataclasses

    from darts_lite.core.config import BaseSearchConfig, field_help

    @dataclasses.dataclass
    class Mine(BaseSearchConfig):
        name: str = "mine"
        dataset: str = "cifar10"         # my own words for the dataset
        extra: int = 1                   # something of mine

    described = field_help(Mine)
    assert described["name"] == field_help(BaseSearchConfig)["name"]  # no comment here: the base's
    assert described["dataset"] == "my own words for the dataset"
    assert described["extra"] == "something of mine"
