"""environment.yml and pyproject.toml name the same dependencies with the same bounds."""
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = set(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared |= set(extra)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {p for p in pip if not p.startswith("-e")}
    assert listed == declared, f"only in environment.yml: {listed - declared}; only in pyproject: {declared - listed}"


def test_torch_requirements_are_lower_bounds():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for name in ("torch", "torchvision"):
        spec = next(d for d in deps if d.split(">")[0].split("=")[0].split("<")[0] == name)
        assert ">=" in spec and "<" not in spec and "==" not in spec, f"{spec}: must not replace Colab's torch"
