"""Tests for darts_lite.core.host: what a notebook, a table and the test log record of the CPU."""
from pathlib import Path

import pytest
import torch

from darts_lite.core import host

CPUINFO = Path("/proc/cpuinfo")


@pytest.mark.skipif(not CPUINFO.exists(), reason="reads Linux's /proc/cpuinfo")
def test_instruction_sets_are_the_cpus_flags_among_the_vector_extensions():
    flags = set()
    for line in CPUINFO.read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    found = host.instruction_sets()
    assert found == [f for f in host.VECTOR_FLAGS if f in flags]  # in VECTOR_FLAGS' order, none invented
    if torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512"):
        assert "avx2" in found


def test_cpu_kernels_name_torchs_choice_and_onednns_cap(monkeypatch):
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    assert host.cpu_kernels() == torch.backends.cpu.get_cpu_capability()
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert host.cpu_kernels().endswith("oneDNN capped at AVX2")


def test_the_record_and_the_line_name_the_cpu():
    record = host.host_record()
    assert set(record) == {"cpu", "instruction_sets", "cpu_kernels", "cpus"}
    assert record["cpu"] and record["cpus"] >= 1
    line = host.describe_host()
    assert record["cpu"] in line and torch.__version__ in line
