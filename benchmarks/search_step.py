#!/usr/bin/env python3
"""Time one DARTS search step (Algorithm 1): darts_lite's plain and fast paths against the naive reference.

Implementations: `plain` (SearchCell: one MixedOp per edge), `fast` (FastSearchCell: the edges
leaving a state batched into wide convolutions), both in the memory layout `search` gives them
(`core.channels_last`: channels-last on a CPU); `fast_plain_memory` (the fast cell in the default
layout, as shipped before channels-last), `reference` (../shared/reference/darts_ref.py).
`--partial-channels K` runs darts_lite with PC-DARTS partial channels (1/K through the candidates).
For a shape (layers, channels, batch, image), an order (1 or 2) and a device,
each implementation builds its supernet and optimisers, takes one fixed random
train batch and one validation batch on the device, runs `--warmup` untimed
search steps and then `--steps` timed ones. Data loading is not timed.

Every implementation runs in its own subprocess (`--impl NAME --child`): on the
CPU the memory figure is the process's peak RSS, which is process-wide and never
goes down, so only separate processes make it comparable. Both children import
torch and darts_lite before building anything, so they start from the same
import footprint; `baseline_rss_mb` is the RSS at that point.

stdout carries JSON only, one line per run: one per implementation, then one ratio line per pair
{"impl": "ratio", "pair": "fast/reference", "speedup": ref_sec / fast_sec, "memory_ratio": fast_mem / ref_mem, ...}.
Progress goes to stderr. On a shared machine use `--repeats N`: the two
implementations alternate N times and the ratio compares each one's fastest run.

The reference (`darts_ref.py`, not part of this repository) is imported at run
time from ../shared/reference/ next to the repository, or from `--reference PATH`;
when it is absent the comparison is skipped and the JSON says so.

    python benchmarks/search_step.py --layers 3 --channels 8 --batch 32 --image 16 --order 1 --threads 2
    python benchmarks/search_step.py --impl fast --partial-channels 4     # memory at K = 4
    python benchmarks/search_step.py --sweep --threads 2      # the CPU teaching shapes
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "darts_ref.py"

# (layers, channels, batch, image, order): the CPU shapes quoted in the reference README.
SWEEP = [(3, 8, 32, 16, 1), (3, 8, 32, 16, 2), (5, 8, 32, 32, 1)]

IMPLS = ("plain", "fast", "fast_plain_memory", "reference")
SHAPE_KEYS = ("layers", "channels", "batch", "image", "in_channels", "classes")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def current_rss_mb() -> float | None:
    """Resident set size now (Linux /proc), in MiB; None where unavailable."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def load_reference(path: Path):
    spec = importlib.util.spec_from_file_location("darts_ref", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["darts_ref"] = module
    spec.loader.exec_module(module)
    return module


def resolve_device(name: str) -> str:
    import torch
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda was asked for but CUDA is not available")
    return name


# ---------------------------------------------------------------------------
# Children: one implementation, in this process
# ---------------------------------------------------------------------------

def bench_darts_lite(args, device) -> dict:
    import torch

    from darts_lite.core.channels_last import use_channels_last
    from darts_lite.core.runtime import set_seed
    from darts_lite.darts.config import SearchConfig
    from darts_lite.darts.search import make_optimizers, search_step
    from darts_lite.darts.supernet import SearchNetwork

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    set_seed(args.seed)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as the reference does
    config = SearchConfig(layers=args.layers, channels=args.channels, batch_size=args.batch,
                          order=args.order, seed=args.seed, device=str(device))
    model = SearchNetwork(C=config.channels, num_classes=args.classes, layers=config.layers,
                          nodes=config.nodes, multiplier=config.multiplier,
                          stem_multiplier=config.stem_multiplier, in_channels=args.in_channels,
                          primitives=config.primitives, alpha_init_std=config.alpha_init_std,
                          fast=args.impl != "plain", partial_channels=args.partial_channels).to(device)
    if args.impl != "fast_plain_memory":  # as `search` runs it
        use_channels_last(model, device)
    w_opt, alpha_opt, _ = make_optimizers(model, config)

    def batch():
        return (torch.randn(args.batch, args.in_channels, args.image, args.image, device=device),
                torch.randint(0, args.classes, (args.batch,), device=device))
    train_batch, val_batch = batch(), batch()

    def step():
        search_step(model, w_opt, alpha_opt, train_batch, val_batch, config.order, config.radius,
                    config.grad_clip)

    for i in range(args.warmup):
        step()
        log(f"  {args.impl} warmup {i + 1}/{args.warmup}")
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    for i in range(args.steps):
        step()
        log(f"  {args.impl} step {i + 1}/{args.steps}")
    sync()
    sec = (time.perf_counter() - t0) / max(args.steps, 1)

    if device.type == "cuda":
        peak_mb, mem_kind = torch.cuda.max_memory_allocated(device) / 2**20, "cuda_max_memory_allocated"
    else:
        peak_mb, mem_kind = peak_rss_mb(), "process_peak_rss"
    return {"sec_per_step": round(sec, 4), "images_per_sec": round(args.batch / sec, 2),
            "peak_mem_mb": round(peak_mb, 1), "mem_kind": mem_kind,
            "weight_params": sum(p.numel() for p in model.weight_parameters()),
            "channels_last": model.stem[0].weight.is_contiguous(memory_format=torch.channels_last)}


def bench_reference(args, device) -> dict:
    ref = load_reference(Path(args.reference))
    res = ref.benchmark(args.steps, args.batch, args.layers, args.channels, args.image, args.order,
                        device, warmup=args.warmup, seed=args.seed, num_classes=args.classes)
    keep = ("sec_per_step", "images_per_sec", "peak_mem_mb", "mem_kind", "weight_params")
    return {k: res[k] for k in keep}


def run_child(args) -> int:
    import torch

    import darts_lite  # noqa: F401  -- the same import footprint in both children

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(resolve_device(args.device))
    baseline = current_rss_mb()
    load_before = os.getloadavg()[0]
    log(f"[{args.impl}] layers={args.layers} C={args.channels} batch={args.batch} image={args.image} "
        f"order={args.order} device={device} threads={torch.get_num_threads()}")
    bench = bench_reference if args.impl == "reference" else bench_darts_lite
    res = bench(args, device)
    out = {"impl": args.impl, **{k: getattr(args, k) for k in SHAPE_KEYS}, "order": args.order,
           "partial_channels": 1 if args.impl == "reference" else args.partial_channels,
           "device": str(device), **res,
           "baseline_rss_mb": None if baseline is None else round(baseline, 1),
           "threads": torch.get_num_threads(), "torch": torch.__version__,
           # Other processes on the machine distort CPU timings: the 1-minute load around the run.
           "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
           "steps": args.steps, "warmup": args.warmup, "seed": args.seed}
    if args.impl == "reference":
        out["reference_path"] = str(args.reference)
    print(json.dumps(out), flush=True)
    return 0


# ---------------------------------------------------------------------------
# Parent: one subprocess per implementation, then the ratio line
# ---------------------------------------------------------------------------

def child_argv(args, impl: str, shape: tuple) -> list[str]:
    layers, channels, batch, image, order = shape
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", "--impl", impl,
            "--layers", str(layers), "--channels", str(channels), "--batch", str(batch),
            "--image", str(image), "--order", str(order), "--in-channels", str(args.in_channels),
            "--classes", str(args.classes), "--steps", str(args.steps), "--warmup", str(args.warmup),
            "--device", args.device, "--seed", str(args.seed), "--reference", str(args.reference),
            "--partial-channels", str(args.partial_channels)]
    if args.threads:
        argv += ["--threads", str(args.threads)]
    return argv


def spawn(args, impl: str, shape: tuple) -> dict:
    proc = subprocess.run(child_argv(args, impl, shape), stdout=subprocess.PIPE, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        return {"impl": impl, "error": f"child exited with {proc.returncode}", "shape": list(shape)}
    return json.loads(lines[-1])


def _fastest(results: list[dict]) -> dict | None:
    """The run with the lowest sec_per_step (the least disturbed one); a failed run if all failed."""
    good = [r for r in results if "error" not in r]
    if good:
        return min(good, key=lambda r: r["sec_per_step"])
    return results[0] if results else None


def ratio_line(ours: dict, theirs: dict, pair: str, shape: tuple, repeats: int) -> dict:
    """speedup = their s/step / ours, memory_ratio = our peak / theirs (and above the import baseline)."""
    layers, channels, batch, image, order = shape
    line = {"impl": "ratio", "pair": pair, "layers": layers, "channels": channels, "batch": batch, "image": image,
            "order": order, "device": ours.get("device"), "repeats": repeats}
    if "error" in ours or "error" in theirs:
        return {**line, "note": "a run failed; no ratio"}
    line.update({"speedup": round(theirs["sec_per_step"] / ours["sec_per_step"], 3),
                 "memory_ratio": round(ours["peak_mem_mb"] / theirs["peak_mem_mb"], 3),
                 "sec_per_step": [ours["sec_per_step"], theirs["sec_per_step"]],
                 "peak_mem_mb": [ours["peak_mem_mb"], theirs["peak_mem_mb"]], "mem_kind": ours["mem_kind"],
                 "weight_params_match": ours["weight_params"] == theirs["weight_params"]})
    if ours["mem_kind"] == "process_peak_rss" and ours.get("baseline_rss_mb") and theirs.get("baseline_rss_mb"):
        # Peak RSS above what the process held after imports: the step's own footprint.
        net_theirs = theirs["peak_mem_mb"] - theirs["baseline_rss_mb"]
        if net_theirs > 0:
            line["memory_ratio_above_baseline"] = round(
                (ours["peak_mem_mb"] - ours["baseline_rss_mb"]) / net_theirs, 3)
    return line


def compare(args, shape: tuple) -> bool:
    """Run the implementations on one shape and print their lines and the ratios; False on failure."""
    impls = list(args.impls)
    if "reference" in impls:
        note = None
        if args.no_reference:
            note = "reference skipped (--no-reference)"
        elif not Path(args.reference).is_file():
            note = f"reference not found at {args.reference}; comparison skipped"
        elif args.in_channels != 3:
            note = "reference skipped: it builds 3-channel inputs, use --in-channels 3 to compare"
        if note is not None:
            impls.remove("reference")
            print(json.dumps({"impl": "reference", "note": note}), flush=True)
    ok = True
    runs = {impl: [] for impl in impls}
    # With --repeats, the implementations alternate, so a burst of load from
    # other processes does not land on one of them only.
    for r in range(args.repeats):
        for impl in impls:
            if args.repeats > 1:
                log(f"repeat {r + 1}/{args.repeats}")
            res = spawn(args, impl, shape)
            print(json.dumps(res), flush=True)
            ok &= "error" not in res
            runs[impl].append(res)
    best = {impl: _fastest(results) for impl, results in runs.items()}
    for ours, theirs in (("fast", "plain"), ("fast", "fast_plain_memory"), ("fast", "reference"),
                         ("fast_plain_memory", "reference"), ("plain", "reference")):
        if ours in best and theirs in best:
            print(json.dumps(ratio_line(best[ours], best[theirs], f"{ours}/{theirs}", shape, args.repeats)),
                  flush=True)
    return ok


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--image", type=int, default=16)
    p.add_argument("--in-channels", type=int, default=3, help="keep 3 to compare with the reference")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--order", type=int, choices=(1, 2), default=1)
    p.add_argument("--steps", type=int, default=5, help="timed search steps")
    p.add_argument("--warmup", type=int, default=2, help="untimed search steps first")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE, help="path of darts_ref.py")
    p.add_argument("--repeats", type=int, default=1,
                   help="alternate the implementations this many times; the ratio uses each one's fastest run")
    p.add_argument("--no-reference", action="store_true", help="time darts_lite only")
    p.add_argument("--sweep", action="store_true",
                   help=f"run the CPU teaching shapes (layers, C, batch, image, order) {SWEEP}")
    p.add_argument("--impl", choices=IMPLS, default=None, help="time one implementation only (default: all)")
    p.add_argument("--partial-channels", type=int, default=1, help="PC-DARTS K for plain and fast (1: off)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child and args.impl is None:
        p.error("--child needs --impl")
    if args.steps < 1 or args.warmup < 0 or args.repeats < 1:
        p.error("--steps and --repeats must be >= 1, --warmup >= 0")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        return run_child(args)
    # Resolve "auto" once so both children use the same device.
    args.device = resolve_device(args.device)
    args.impls = [args.impl] if args.impl else list(IMPLS)
    shapes = SWEEP if args.sweep else [(args.layers, args.channels, args.batch, args.image, args.order)]
    ok = True
    for shape in shapes:
        log(f"shape (layers, C, batch, image, order) = {shape}")
        ok &= compare(args, shape)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
