"""The machine a run executes on: its CPU model and the instruction sets its kernels can use.

PyTorch's CPU kernels (its own and oneDNN's) are compiled for several instruction sets and pick one at
run time: the same code and seed can run different kernels on two hosts of one kind (an AVX2 AMD EPYC
and an AVX-512 Intel Xeon, say). A timing, a number or a crash that depends on the host then says
where it ran: the notebooks' `ran_on`, the ground truth's provenance and the test log record this.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

# The vector extensions the CPU kernels dispatch on, in /proc/cpuinfo's names (SSE4.2 up to AMX).
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx_vnni", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8")


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of Linux's /proc/cpuinfo; empty elsewhere."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_model() -> str:
    """The processor's name (Linux /proc/cpuinfo, else `platform.processor()`): run times depend on it."""
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def instruction_sets() -> list[str]:
    """The vector extensions of `VECTOR_FLAGS` this CPU has (Linux; empty where /proc/cpuinfo is missing)."""
    flags = set(_cpuinfo().get("flags", "").split())
    return [flag for flag in VECTOR_FLAGS if flag in flags]


def cpu_kernels() -> str:
    """The instruction set PyTorch's own CPU kernels run ("AVX2", "AVX512", ...), and oneDNN's cap if one is set."""
    capability = torch.backends.cpu.get_cpu_capability()
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    return f"{capability}, oneDNN capped at {cap}" if cap else capability


def host_record() -> dict:
    """{"cpu", "instruction_sets", "cpu_kernels", "cpus"}: what a notebook or a table records of its host."""
    return {"cpu": cpu_model(), "instruction_sets": instruction_sets(), "cpu_kernels": cpu_kernels(),
            "cpus": os.cpu_count()}


def describe_host() -> str:
    """One line: the CPU, its vector extensions and the kernels PyTorch picked, for a log."""
    return (f"{cpu_model()}, {os.cpu_count()} cores; instruction sets: {' '.join(instruction_sets()) or 'unknown'}; "
            f"torch {torch.__version__} CPU kernels: {cpu_kernels()}")
