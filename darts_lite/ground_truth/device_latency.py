"""Measured latency of every NAS-Bench-201 cell on 27 device settings: the published table, read.

HELP (Lee et al., NeurIPS 2021) published the forward latency (ms) of all 15,625 cells of the
benchmark's CIFAR-10 network on GPUs at batch 1, 32 and 256, server CPUs, phones, a Raspberry Pi 4,
an ASIC simulator (Eyeriss) and an FPGA (`data/nasbench201_latency/`, see its README). Its rows are
the rows of the accuracy table (`nasbench201.load_nb201`): cell i is the same string in both.

The course measures its own lookup table on one CPU (notebook 06); this table is the check on
devices the course never touches.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.reference import reference_file
from ..readers import read_bytes, read_csv
from .nasbench201 import MAX_CSV_BYTES, NB201Table

CSV_NAME = Path("nasbench201_latency") / "nb201_latency_ms.csv"

#: Each device setting's family, for figures and summaries (column-name prefixes of the CSV).
FAMILIES = {"gpu": ("1080ti", "2080ti", "titan_rtx", "titanx", "titanxp"),
            "cpu": ("gold_6226", "gold_6240", "silver_4114", "silver_4210r"),
            "phone": ("pixel2", "pixel3", "samsung_a50", "samsung_s7", "essential_ph"),
            "edge": ("raspi4", "eyeriss", "fpga")}


def family(device: str) -> str:
    """'gpu', 'cpu', 'phone' or 'edge' for a device column name (GPU names end in their batch size)."""
    for name, prefixes in FAMILIES.items():
        if any(device == p or device.startswith(p + "_") for p in prefixes):
            return name
    raise ValueError(f"{device!r} is not a known device; known prefixes: {FAMILIES}")


@dataclass(frozen=True, eq=False)  # eq=False: compared by identity (ndarray == is elementwise)
class DeviceLatency:
    """Latency (ms) of each cell on each device: `ms[i, d]` is cell `arch[i]` on `devices[d]`."""

    arch: list[str]
    devices: tuple[str, ...]
    ms: np.ndarray

    def __post_init__(self):
        ms = np.array(self.ms, dtype=float)
        if ms.shape != (len(self.arch), len(self.devices)):
            raise ValueError(f"{len(self.arch)} cells x {len(self.devices)} devices but latencies of shape {ms.shape}")
        ms.setflags(write=False)
        object.__setattr__(self, "ms", ms)

    def __len__(self) -> int:
        return len(self.arch)

    def of(self, device: str) -> np.ndarray:
        """(cells,) latency in ms on one device."""
        if device not in self.devices:
            raise ValueError(f"no device {device!r} in the table; its devices are {', '.join(self.devices)}")
        return self.ms[:, self.devices.index(device)]

    def check_aligned(self, table: NB201Table) -> None:
        """Raise unless row i is the same cell here and in the accuracy `table` (lookups join on rows)."""
        if len(table) != len(self) or table.arch != self.arch:
            bad = next((i for i, (a, b) in enumerate(zip(self.arch, table.arch)) if a != b), min(len(self), len(table)))
            raise ValueError(f"the latency and accuracy tables disagree from row {bad} ({len(self)} against "
                             f"{len(table)} cells): both must list the benchmark's cells in index order")


def device_latency_path() -> Path:
    """The CSV: under $DARTS_LITE_DATA if set and present there, else in the repository's data/."""
    return reference_file(CSV_NAME)


def load_device_latency(path: str | Path | None = None) -> DeviceLatency:
    """Read the latency table (default: `device_latency_path()`), refusing a malformed or oversized file.

    The file is at most `nasbench201.MAX_CSV_BYTES`; every failure of decoding or of the CSV parser
    (`readers.read_csv`), a row of the wrong length, an index out of order, or a latency that is not
    a positive finite number is an error naming its line.
    """
    path = Path(path) if path is not None else device_latency_path()
    header, rows = read_csv(read_bytes(path, "device latency table", MAX_CSV_BYTES), path, "device latency table")
    if header[:2] != ["index", "arch"] or len(header) < 3:
        raise ValueError(f"{path}: the header must be 'index,arch,<device>,...'; found {header[:4]}")
    devices = tuple(header[2:])
    if len(set(devices)) != len(devices):
        raise ValueError(f"{path}: a device column appears twice in {devices}")
    arch, ms = [], []
    for line, row in ((r.line, r.fields) for r in rows):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {line}: {len(row)} fields, the header has {len(header)}")
        try:
            index, values = int(row[0]), [float(v) for v in row[2:]]
        except ValueError as e:
            raise ValueError(f"{path}, line {line}: {e}") from None
        if index != len(arch):
            raise ValueError(f"{path}, line {line}: index {index} in row {len(arch)}: rows must be in index order")
        if not all(np.isfinite(v) and v > 0 for v in values):
            raise ValueError(f"{path}, line {line}: a latency is not a positive number: {row[2:]}")
        arch.append(row[1])
        ms.append(values)
    if not arch:
        raise ValueError(f"{path} holds a header but no cell")
    return DeviceLatency(arch, devices, np.array(ms))
