#!/usr/bin/env python3
"""Every convolution and pooling layer the course builds, forward and backward, in child processes that may crash.

A CPU kernel that writes past its buffer corrupts the heap: the process dies later, somewhere else, or
computes wrong numbers without dying. oneDNN's channels-last stride-2 1x1 convolution does both at fewer
input channels than its block (`darts.ops.factorized_halves`). This sweep runs each case in a child
process, so that a crash ends one case and not the sweep, and checks every number:

* the cases: each candidate operation, `FactorizedReduce`, the cells' 1x1 preprocessing, the fast cell's
  `FanOut` and a whole `FastSearchCell`, the ground truth's bank layers, the meta-kernel convolution,
  NAS-Bench-201's residual block, the searched and derived networks ("family": "course"); and PyTorch's
  own `nn.Conv2d` 1x1 at stride 2, the upstream fault itself ("family": "torch": reported, not judged);
* C = 1 .. 16 channels (the networks: `channels` = C), strides 1 and 2, images of 8 and 32 pixels (the
  strided 1x1 lineage also 64, where the AVX-512 kernel fails too);
* each case in plain and in channels-last memory, its output and every gradient (input and parameters)
  against the same case in float64 (PyTorch's own reference kernels, not oneDNN's);
* one and two threads, at the host's own instruction set and, on an AVX-512 host, capped at AVX2
  (`ONEDNN_MAX_CPU_ISA`, `ATEN_CPU_CAPABILITY`), the kernels an AVX2 host runs;
* glibc's heap checks on (`MALLOC_CHECK_=3`, with its debug library preloaded where glibc has one), so that
  an overwrite aborts at the next free instead of passing unseen.

    python benchmarks/kernel_sweep.py                 # everything (a few minutes on 2 cores)
    python benchmarks/kernel_sweep.py --cases factorized_reduce,torch_conv1x1_stride2 --channels 1-8

stdout is JSON lines: one per case and environment ("status": ok, refused = a clear ValueError of the
library, wrong, crash or hang), then a "summary" line. The exit status is 1 when a case of the course
did not pass.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn

CL = torch.channels_last
# float32 against float64, relative to the largest reference value. Rounding is ~1e-6, but an input that sits
# within rounding of a ReLU's or a max-pool's kink sends a few gradient elements another way: 0.26% of the
# largest, at worst, in this sweep. A heap overwrite's gradients are off by 20% to orders of magnitude.
TOLERANCE = 0.05
HANG_SECONDS = 60  # a case that has not finished by then is killed and reported as a hang (the slowest takes ~3 s)
# glibc >= 2.34 reads MALLOC_CHECK_ only with its debug library preloaded (Debian: /lib/<arch>-linux-gnu/)
DEBUG_MALLOC = next(iter(sorted(Path("/lib").glob("*-linux-gnu/libc_malloc_debug.so.0"))), None)
BATCH = 8
# Image sides: the course's CPU images are 8 (digits) to 32 pixels (hands); the strided 1x1 lineage also at 64,
# where oneDNN's AVX-512 kernel fails too.
SIDES, WIDE = (8, 32), (8, 32, 64)
LAYOUTS = ("plain", "channels_last")


# ---------------------------------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class Case:
    """A layer to build from (C, stride), its input channels, and the family that judges it."""

    name: str
    build: Callable[[int, int], nn.Module]
    in_channels: Callable[[int], int] = lambda C: C
    strides: tuple[int, ...] = (1, 2)
    family: str = "course"
    sides: tuple[int, ...] = SIDES


class _Mixed(nn.Module):
    """A module that takes (x, softmax(alphas)) as one that takes x: the alphas are a parameter with a gradient."""

    def __init__(self, module: nn.Module, rows: int, ops: int, inputs: int = 1):
        super().__init__()
        self.module, self.inputs = module, inputs
        self.alphas = nn.Parameter(1e-1 * torch.randn(rows, ops))

    def forward(self, x):
        out = self.module(*([x] * self.inputs), self.alphas.softmax(-1))
        return torch.cat(out, 1) if isinstance(out, list) else out


class _Logits(nn.Module):
    """A network's logits, whatever else its forward returns."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x):
        out = self.net(x)
        return out[0] if isinstance(out, tuple) else out


def _op(name):
    from darts_lite.darts.ops import build_op
    return lambda C, stride: build_op(name, C, stride, affine=True)


def _fan_out(C, stride):
    from darts_lite.darts.fast_cell import FanOut
    from darts_lite.darts.ops import PRIMITIVES
    return _Mixed(FanOut(C, stride, 3), 3, len(PRIMITIVES))


def _fast_cell(C, stride):
    from darts_lite.darts.fast_cell import FastSearchCell
    from darts_lite.darts.ops import PRIMITIVES
    cell = FastSearchCell(2, 2, C, C, C, reduction=stride == 2, reduction_prev=False)
    return _Mixed(cell, 5, len(PRIMITIVES), inputs=2)


def _factorized_reduce(C, stride):
    from darts_lite.darts.ops import FactorizedReduce
    return FactorizedReduce(C, C)


def _wide_factorized_reduce(C, stride):
    from darts_lite.darts.fast_cell import WideFactorizedReduce
    return WideFactorizedReduce(C, 3)


def _preprocess(C, stride):
    from darts_lite.darts.ops import ReLUConvBN
    return ReLUConvBN(C, C, 1, 1, 0)


def _bank(kind):
    def build(C, stride):
        from darts_lite.ground_truth import bank
        if kind == "factorized_reduce":
            return bank.BankFactorizedReduce(2, C, C)
        if kind == "sep_conv":
            return bank.BankSepConv(2, C, stride)
        return bank.BankConvBN(2, C, C)
    return build


def _meta_kernel(C, stride):
    from darts_lite.meta_kernels.meta_kernel import MetaKernelConv
    return MetaKernelConv(C, C, (3, 5, 7), stride=stride, depthwise=True)


def _residual_reduce(C, stride):
    from darts_lite.ground_truth.nb201_search import ResidualReduce
    return ResidualReduce(C, 2 * C)


def _supernet(C, stride):
    from darts_lite.darts.supernet import SearchNetwork
    return _Logits(SearchNetwork(C=C, num_classes=2, layers=3, nodes=2, multiplier=2, in_channels=1, fast=True))


def _network(C, stride):
    from darts_lite.darts.genotypes import Genotype
    from darts_lite.darts.network import Network
    gene = [("skip_connect", 0), ("sep_conv_3x3", 1), ("max_pool_3x3", 0), ("dil_conv_3x3", 2)]
    genotype = Genotype(normal=gene, normal_concat=[2, 3], reduce=gene, reduce_concat=[2, 3])
    return _Logits(Network(genotype, C=C, num_classes=2, layers=3, in_channels=1))


def _torch_conv1x1(C, stride):
    return nn.Conv2d(C, max(1, C // 2), 1, stride=2, bias=False)


def _abort(C, stride):  # the sweep's own test: a case that kills its process
    os.abort()


def all_cases() -> dict[str, Case]:
    from darts_lite.darts.ops import PRIMITIVES
    cases = [Case(f"op:{name}", _op(name)) for name in PRIMITIVES]
    cases += [
        Case("factorized_reduce", _factorized_reduce, strides=(2,), sides=WIDE),
        Case("preprocess_1x1", _preprocess, strides=(1,)),
        Case("fan_out", _fan_out),
        Case("wide_factorized_reduce", _wide_factorized_reduce, strides=(2,), sides=WIDE),
        Case("fast_cell", _fast_cell),
        Case("bank_factorized_reduce", _bank("factorized_reduce"), in_channels=lambda C: 2 * C, strides=(2,),
             sides=WIDE),
        Case("bank_sep_conv", _bank("sep_conv"), in_channels=lambda C: 2 * C),
        Case("bank_preprocess_1x1", _bank("conv_bn"), in_channels=lambda C: 2 * C, strides=(1,)),
        Case("meta_kernel_depthwise", _meta_kernel),
        Case("nb201_residual_reduce", _residual_reduce, strides=(2,)),
        Case("supernet", _supernet, in_channels=lambda C: 1, strides=(1,), sides=(8,)),
        Case("network", _network, in_channels=lambda C: 1, strides=(1,), sides=(8,)),
        Case("torch_conv1x1_stride2", _torch_conv1x1, strides=(2,), family="torch", sides=WIDE),
    ]
    return {case.name: case for case in cases}


EXTRA_CASES = {"self_test_abort": Case("self_test_abort", _abort, strides=(1,), sides=(8,))}


def find_case(name: str) -> Case:
    if name in EXTRA_CASES:  # without importing the library: a crashed self-test's restart stays cheap
        return EXTRA_CASES[name]
    cases = all_cases()
    if name not in cases:
        raise SystemExit(f"unknown case {name!r}; cases: {', '.join([*cases, *EXTRA_CASES])}")
    return cases[name]


# --------------------------------------------------------------------------------------- one case, checked
def _grads(module: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The output, then the gradients of the input and of every parameter, after one backward pass."""
    x = x.requires_grad_()
    out = module(x)
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    out.backward(g.to(out.dtype))
    return [out.detach(), x.grad] + [p.grad for p in module.parameters()]


def _in_layout(module: nn.Module, x: torch.Tensor, layout: str, training: bool) -> tuple[nn.Module, torch.Tensor]:
    module, x = copy.deepcopy(module).train(training), x.clone()
    if layout == "channels_last":
        return module.to(memory_format=CL), x.contiguous(memory_format=CL)
    return module, x


def run_case(case: Case, C: int, stride: int, side: int, reference: Path | None = None) -> dict:
    """Build the case and run it forward and backward in float32, in each layout; the worst relative error.

    Training mode (BatchNorm on batch statistics, as in a search) is checked for crashes and finite numbers;
    evaluation mode, a well-conditioned function, against float64 in plain memory, which runs PyTorch's own
    reference kernels (training-mode BatchNorm over 8 small images can amplify float32 rounding 10^4-fold,
    and a weight whose scale BatchNorm removes has a gradient of 0 up to rounding: no fault of a kernel). The
    float64 result is cached in `reference` when given, for the other environments of the sweep.
    """
    torch.manual_seed(0)
    try:
        module = case.build(C, stride)
    except ValueError as error:  # the library's clear refusal of a setting
        return {"status": "refused", "error": str(error)}
    x = torch.randn(BATCH, case.in_channels(C), side, side, generator=torch.Generator().manual_seed(1))
    if reference is not None and reference.exists():
        expected = torch.load(reference)
    else:
        expected = _grads(*_in_layout(module.double(), x.double(), "plain", training=False))
        module.float()
        if reference is not None:
            torch.save(expected, reference)
    errors, finite = {}, True
    for layout in LAYOUTS:
        finite &= all(t is None or bool(t.isfinite().all()) for t in _grads(*_in_layout(module, x, layout, True)))
        errors[layout] = max(((a.double() - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()
                             for a, b in zip(_grads(*_in_layout(module, x, layout, False)), expected) if b is not None)
    status = "ok" if finite and max(errors.values()) <= TOLERANCE else "wrong"
    return {"status": status, "finite_in_training": finite,
            "max_rel_err": {k: float(f"{v:.3g}") for k, v in errors.items()}}


def worker(references: Path | None) -> None:
    """Run cases given as "name|C|stride|side|threads" from stdin, printing "start" and "done" lines (the driver's
    protocol). The thread count is set between cases: one process serves every thread count of its environment."""
    for line in sys.stdin:
        key = line.strip()
        if not key:
            continue
        name, C, stride, side, threads = key.split("|")
        print(json.dumps({"start": key}), flush=True)
        torch.set_num_threads(int(threads))
        start = time.perf_counter()
        try:
            shape = "_".join([name.replace(":", "-"), C, stride, side])  # one float64 reference for any threads
            cached = references / f"{shape}.pt" if references else None
            result = run_case(find_case(name), int(C), int(stride), int(side), cached)
        except Exception as error:  # noqa: BLE001 - any other exception is a failure of the case, with its type
            result = {"status": "error", "error": f"{type(error).__name__}: {error}"}
        print(json.dumps({"done": key, **result, "seconds": round(time.perf_counter() - start, 3)}), flush=True)


# ----------------------------------------------------------------------------------------- the driver
def environments(capped: bool = True) -> list[tuple[str, dict[str, str]]]:
    """(label, environment variables): the host's instruction set and, above AVX2, capped at AVX2 (`capped=False`:
    the host's alone). The variables are read when torch loads: each environment is a process of its own."""
    from darts_lite.core.host import instruction_sets
    isas = [("native", {})]
    if capped and torch.backends.cpu.get_cpu_capability() not in ("AVX2", "DEFAULT") and "avx2" in instruction_sets():
        isas.append(("avx2", {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}))
    heap = {"MALLOC_CHECK_": "3"}
    if DEBUG_MALLOC is not None:
        heap["LD_PRELOAD"] = " ".join(filter(None, [os.environ.get("LD_PRELOAD"), str(DEBUG_MALLOC)]))
    return [(label, {**heap, **env}) for label, env in isas]


def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def run_keys(keys: list[str], env: dict[str, str], references: Path | None = None,
             hang_seconds: float = HANG_SECONDS) -> dict[str, dict]:
    """Run the case keys in a child process, starting a new one after each crash or hang; {key: result}."""
    results: dict[str, dict] = {}
    todo = list(keys)
    cache = ["--references", str(references)] if references else []
    while todo:
        child = subprocess.Popen([sys.executable, __file__, "--worker", *cache],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, env={**os.environ, **env})
        child.stdin.write("".join(f"{k}\n" for k in todo))
        child.stdin.close()
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=_reader, args=(child.stdout, lines), daemon=True).start()
        current, hung = None, False
        while True:
            try:
                line = lines.get(timeout=hang_seconds)
            except queue.Empty:
                hung = True
                child.kill()
                break
            if line is None:
                break
            message = json.loads(line)
            if "start" in message:
                current = message["start"]
            else:
                key = message.pop("done")
                results[key], current = message, None
        child.wait()
        stderr = child.stderr.read().strip().splitlines()
        done = [k for k in todo if k in results]
        if current is None and len(done) == len(todo):
            break
        failed = current or todo[len(done)]
        results[failed] = {"status": "hang" if hung else "crash", "exit_code": child.returncode,
                           "stderr": stderr[-1] if stderr else ""}
        todo = todo[todo.index(failed) + 1:]
    return results


def sweep(names: list[str], channels: list[int], threads: tuple[int, ...], confirm: bool = False,
          progress: bool = True, hang_seconds: float = HANG_SECONDS, capped: bool = True) -> list[dict]:
    """Every case at every channel count, stride, side and thread count, in every environment: one row each (also
    printed). One child process per environment runs every thread count, one after the other.

    A crash is charged to the case that was running; `confirm` runs each crashed case again alone, in a fresh
    process, and records that run's status as "alone" (an earlier case may have corrupted the heap)."""
    rows = []
    references = Path(tempfile.mkdtemp(prefix="kernel_sweep_"))
    try:
        for label, env in environments(capped):
            rows += _sweep_environment(names, channels, threads, label, env, references, confirm, progress,
                                       hang_seconds)
    finally:
        shutil.rmtree(references, ignore_errors=True)
    return rows


def _sweep_environment(names: list[str], channels: list[int], threads: tuple[int, ...], label: str,
                       env: dict[str, str], references: Path, confirm: bool, progress: bool,
                       hang_seconds: float) -> list[dict]:
    """The rows of one environment (instruction set), at each thread count."""
    rows = []
    keys = []
    for t in threads:
        for name in names:
            case = find_case(name)
            keys += [f"{name}|{C}|{s}|{side}|{t}" for C in channels for s in case.strides for side in case.sides]
    start = time.perf_counter()
    results = run_keys(keys, env, references, hang_seconds)
    for key in [k for k, r in results.items() if confirm and r["status"] in ("crash", "hang")]:
        results[key]["alone"] = run_keys([key], env, references, hang_seconds)[key]["status"]
    for key in keys:
        name, C, stride, side, t = key.split("|")
        row = {"case": name, "family": find_case(name).family, "C": int(C), "stride": int(stride),
               "side": int(side), "isa": label, "threads": int(t), **results[key]}
        print(json.dumps(row), flush=True)
        rows.append(row)
    if progress:
        print(f"{label}, threads {threads}: {len(keys)} cases in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return rows


def summary(rows: list[dict]) -> dict:
    """Counts per family and status; the course's failures; the shapes at which PyTorch's own layer failed."""
    from darts_lite.core.host import describe_host
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        family = counts.setdefault(row["family"], {})
        family[row["status"]] = family.get(row["status"], 0) + 1
    keep = ("case", "C", "stride", "side", "isa", "threads", "status")
    return {"summary": counts, "host": describe_host(),
            "course_failures": [{k: r[k] for k in keep} for r in rows
                                if r["family"] == "course" and r["status"] not in ("ok", "refused")],
            "torch_failures": [{k: r[k] for k in keep} for r in rows
                               if r["family"] == "torch" and r["status"] != "ok"]}


def _int_list(text: str) -> list[int]:
    values = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        values += list(range(int(low), int(high or low) + 1))
    return values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=None, help="comma-separated case names (default: every case)")
    parser.add_argument("--channels", default="1-16", help="channel counts, e.g. 1-16 or 2,4,8")
    parser.add_argument("--threads", default="1,2", help="torch threads of the cases (each in turn)")
    parser.add_argument("--confirm", action="store_true", help="run each crashed case again, alone")
    parser.add_argument("--hang-seconds", type=float, default=HANG_SECONDS,
                        help="seconds without a finished case before its process is killed as hung")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--references", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.references)
        return 0
    names = args.cases.split(",") if args.cases else list(all_cases())
    for name in names:
        find_case(name)
    rows = sweep(names, _int_list(args.channels), tuple(_int_list(args.threads)), args.confirm,
                 hang_seconds=args.hang_seconds)
    result = summary(rows)
    print(json.dumps(result), flush=True)
    return 1 if result["course_failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
