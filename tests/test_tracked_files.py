"""What git tracks is source, text, the committed data and the figures: no archive or stray binary.

A wheel, a zip or a checkpoint added by accident bloats every clone for ever. Text is anything
without a NUL byte in its first 8 kB; the only binaries the course commits are its PNG figures.
"""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARCHIVES = (".whl", ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".egg", ".rar", ".jar")
BINARY_KINDS = (".png",)  # figures/ and the README's pictures


def tracked() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [ROOT / p for p in out.decode().split("\0") if p]


def is_binary(path: Path) -> bool:
    with open(path, "rb") as f:
        return b"\0" in f.read(8192)


def data_limit(files: list[Path]) -> int:
    """The size of the largest committed data file: nothing else may be larger."""
    return max(p.stat().st_size for p in files if p.relative_to(ROOT).parts[0] == "data")


def strays(files: list[Path]) -> list[str]:
    limit = data_limit(files)
    found = []
    for p in files:
        name = str(p.relative_to(ROOT))
        if p.name.lower().endswith(ARCHIVES):
            found.append(f"{name}: an archive")
        elif p.suffix.lower() not in BINARY_KINDS and is_binary(p):
            found.append(f"{name}: a binary file")
        elif p.stat().st_size > limit:
            found.append(f"{name}: {p.stat().st_size:,} bytes, larger than the largest data file ({limit:,})")
    return found


def test_no_archive_or_stray_binary_is_tracked():
    found = strays([p for p in tracked() if p.is_file()])
    assert not found, "tracked by accident? `git rm --cached` them:\n" + "\n".join(found)


def test_the_check_finds_a_planted_wheel_and_binary(tmp_path, monkeypatch):
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "table.csv").write_text("a,b\n" * 10)
    (tmp_path / "pyflakes-4.1.0-py2.py3-none-any.whl").write_bytes(b"PK\x03\x04")
    (tmp_path / "model.pt").write_bytes(b"\x80\x02\0\0")
    (tmp_path / "figure.png").write_bytes(b"\x89PNG\0")
    (tmp_path / "notes.md").write_text("x" * 1000)
    found = strays(sorted(tmp_path.rglob("*.*")))
    assert [f.split(":")[0] for f in found] == ["model.pt", "notes.md", "pyflakes-4.1.0-py2.py3-none-any.whl"]
