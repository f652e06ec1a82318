"""Notebook 05, meta-kernels and feedback blocks: its findings and exercises."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ..core.stats import compare_samples
from ..meta_kernels import feedback_betas
from .common import decided, versus
from .exercise import Exercise, close


def _variants(results: dict) -> tuple[str | None, str | None, str | None]:
    """The ablation's names: one copy, copies without feedback, copies with feedback."""
    names = list(results.get("steps_to_target", {}))
    one = next((n for n in names if n.startswith("1 ")), None)
    off = next((n for n in names if n.endswith("no feedback")), None)
    on = next((n for n in names if n.endswith(", feedback")), None)
    return one, off, on


def _fewer_steps(a: list, b: list, target) -> str:
    """Feedback (a) against no feedback (b) on steps to the target: fewer is better."""
    ra, rb = [s for s in a if s is not None], [s for s in b if s is not None]
    reached = f"reached on {len(ra)} of {len(a)} seeds with feedback, {len(rb)} without"
    if not ra or not rb:
        return f"Feedback against no feedback on steps to {target}: {reached}, too few to compare."
    c = compare_samples(rb, ra)  # b minus a: positive when feedback needs fewer steps
    word = c["word"]
    plain = "Feedback shortened the search." if word == "beats" else (
        "Feedback did not shorten the search." if word == "ties" else "Feedback made the search longer.")
    return (f"Feedback **{word}** no feedback on steps to {target}: {c['mean_b']:.0f} ± {c['std_b']:.0f} against "
            f"{c['mean_a']:.0f} ± {c['std_a']:.0f} (2 SE {c['two_se']:.0f}; {reached}). {plain}")


def findings(results: dict) -> list[str]:
    lines = [f"One merged convolution equals the separate branches to {results['additivity_max_err']:.0e}, "
             "float64 rounding: at stride 1 and 2, depthwise and full."]
    ops = results["op_speedup"]
    lo, hi = min(ops.values()), max(ops.values())
    flop = results["flop_ratio"]
    above = sum(s > flop for s in ops.values())
    where = ("every shape" if above == len(ops) else "no shape" if above == 0 else f"{above} of {len(ops)} shapes")
    lines.append(f"Merging ran one operation {lo:.2f}x to {hi:.2f}x faster than separate branches on "
                 f"{results['device']}. It beat the FLOP ratio, {flop:.2f}x, on {where}.")
    mib = results.get("mib_merged_vs_separate", {})
    less = sum(m < s for m, s in mib.values())
    lines.append(f"A whole search step ran {results['search_step_speedup']:.2f}x faster merged. "
                 f"Peak memory was lower merged in {less} of {len(mib)} cases.")
    lines.append(f"The 11x11 depthwise separable first step has {results['first_step_params_ratio']:.0f}x fewer "
                 f"parameters and {results['first_step_macs_ratio']:.0f}x fewer MACs than a full 11x11 convolution.")
    one, off, on = _variants(results)
    target = results.get("target_acc", "the target")
    per_seed = results.get("per_seed")
    n = results["seeds"]
    if per_seed and off in per_seed and on in per_seed:
        lines.append(_fewer_steps(per_seed[on]["steps"], per_seed[off]["steps"], target))
        c = compare_samples(per_seed[on]["final_acc"], per_seed[off]["final_acc"])
        lines.append(versus("Feedback", {"mean": c["mean_a"], "std": c["std_a"]}, "no feedback",
                            {"mean": c["mean_b"], "std": c["std_b"]}, n, "final search-val accuracy"))
        if one in per_seed:
            c = compare_samples(per_seed[off]["final_acc"], per_seed[one]["final_acc"])
            two, single = {"mean": c["mean_a"], "std": c["std_a"]}, {"mean": c["mean_b"], "std": c["std_b"]}
            lines.append(versus("The best of two copies without feedback (twice the compute)", two, "one copy",
                                single, n, "final search-val accuracy"))
        kept = [w for v in per_seed.values() for w in v.get("kept_weight", [])]
        if kept:
            lines.append(decided(kept, 1 / len(results.get("kernel_sizes", (3, 5, 7))),
                                 "The ablation's kernel searches"))
    size = f" at {results['image_size']} px" if "image_size" in results else ""
    lines.append(f"Data: {results.get('dataset', 'digits')}{size}, {n} seed(s), {results.get('epochs', 'a few')} "
                 "search epochs: small-sample numbers.")
    return lines


# --- exercises -----------------------------------------------------------------------------------------

def _merge(answer) -> str | None:
    g = torch.Generator().manual_seed(5)
    for c_in, c_out, stride in ((1, 1, 1), (3, 4, 1), (2, 5, 2)):
        k3 = torch.randn(c_out, c_in, 3, 3, generator=g, dtype=torch.float64)
        k5 = torch.randn(c_out, c_in, 5, 5, generator=g, dtype=torch.float64)
        x = torch.randn(2, c_in, 9, 9, generator=g, dtype=torch.float64)
        merged = answer(k3.clone(), k5.clone())
        if not isinstance(merged, torch.Tensor) or tuple(merged.shape) != tuple(k5.shape):
            got = tuple(merged.shape) if isinstance(merged, torch.Tensor) else type(merged).__name__
            return f"merge(k3, k5) should be a tensor shaped like k5, {tuple(k5.shape)}; got {got}."
        two = F.conv2d(x, k3, stride=stride, padding=1) + F.conv2d(x, k5, stride=stride, padding=2)
        one = F.conv2d(x, merged.to(x), stride=stride, padding=2)
        err = (one - two).abs().max().item()
        if err > 1e-10:
            return (f"one convolution with your kernel differs from the two convolutions by up to {err:.3g} "
                    f"({c_in} -> {c_out} channels, stride {stride}). Is the 3x3 kernel in the centre of the 5x5 one?")
    return None


def _macs(answer) -> str | None:
    cases = [(3, 16, 3, 32, 32, 1, 1), (8, 8, 5, 15, 15, 2, 8), (16, 32, 7, 9, 12, 2, 1), (6, 6, 11, 16, 16, 1, 6),
             (4, 12, 1, 10, 10, 2, 2)]
    for c_in, c_out, k, h, w, stride, groups in cases:
        conv = nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            conv(torch.zeros(1, c_in, h, w))
        want = counter.get_total_flops() // 2
        got = answer(c_in, c_out, k, h, w, stride, groups)
        reason = close(got, want, rel=0, abs_=0.5,
                       what=f"conv_macs({c_in}, {c_out}, {k}, {h}, {w}, stride={stride}, groups={groups})")
        if reason:
            return reason + (" The check counts with torch.utils.flop_counter (FLOPs / 2); count the outputs "
                             "after the stride.")
    return None


def _betas(answer) -> str | None:
    g = torch.Generator().manual_seed(3)
    for m in (2, 3, 5):
        losses = (torch.rand(m, generator=g, dtype=torch.float64) * 3 + 0.05).tolist()
        got = answer(losses)
        got = torch.as_tensor(got, dtype=torch.float64).flatten()
        want = feedback_betas(losses)
        if got.shape != want.shape or not torch.allclose(got, want, rtol=1e-6, atol=1e-9):
            return (f"for losses {[round(v, 3) for v in losses]} your betas are {[round(v, 4) for v in got.tolist()]}; "
                    f"they should be {[round(v, 4) for v in want.tolist()]}.")
    return None


def _wrong_merge(k3, k5):
    return F.pad(k3, (0, 2, 0, 2)) + k5  # padded at one corner: the 3x3 output shifts


def _wrong_macs(c_in, c_out, k, h, w, stride=1, groups=1):
    return c_in * c_out * k * k * h * w  # ignores stride and groups


q1 = Exercise(
    "q1", "Write `merge(k3, k5)`: one 5x5 kernel whose single convolution (padding 2) equals a 3x3 convolution "
    "(padding 1) plus a 5x5 convolution (padding 2).",
    _merge, "Convolution is linear in the kernel, so zero-padding the 3x3 kernel to the centre and adding gives one "
    "convolution: the meta-kernel's merge.", wrong=_wrong_merge,
    hint="torch.nn.functional.pad(k3, (1, 1, 1, 1)) + k5.", cpu_seconds=0.1)
q2 = Exercise(
    "q2", "Write `conv_macs(c_in, c_out, k, h, w, stride, groups)`: the multiply-accumulates of one k x k convolution "
    "with padding k // 2 on a 1 x c_in x h x w input.",
    _macs, "Each output value costs (c_in / groups) * k * k multiply-accumulates: MACs grow as k^2, so a 7x7 "
    "layer costs 49/9 of a 3x3 one.", wrong=_wrong_macs,
    hint="Output side: (h - 1) // stride + 1. MACs = c_out * h_out * w_out * (c_in // groups) * k * k.",
    cpu_seconds=0.2)
q3 = Exercise(
    "q3", "Write `betas(losses)`: the feedback weight of each copy, from the copies' current losses.",
    _betas, "tanh(1/L) saturates near 1 for small losses: once every copy fits well, the blend is close to a plain "
    "average.", wrong=lambda losses: torch.softmax(-torch.as_tensor(losses, dtype=torch.float64), 0),
    hint="beta_i = tanh(1 / L_i) / sum_j tanh(1 / L_j).", cpu_seconds=0.1)
exercises = [q1, q2, q3]


def headline(results: dict) -> str | None:
    """The README's line: did feedback blocks shorten the search; what merging saved."""
    one, off, on = _variants(results)
    per_seed = results.get("per_seed")
    ops = results["op_speedup"]
    lo, hi = min(ops.values()), max(ops.values())
    speed = f"merging three kernel sizes into one convolution ran {lo:.1f}-{hi:.1f}x faster"
    if not per_seed or off not in per_seed or on not in per_seed:
        return speed[0].upper() + speed[1:] + "."
    a = [s for s in per_seed[on]["steps"] if s is not None]
    b = [s for s in per_seed[off]["steps"] if s is not None]
    if not a or not b:
        return speed[0].upper() + speed[1:] + "."
    c = compare_samples(b, a)
    verb = {"beats": "shortened", "ties": "did not shorten", "loses to": "lengthened"}[c["word"]]
    return (f"Feedback blocks **{verb}** the kernel search: {c['mean_b']:.0f} steps to target with feedback against "
            f"{c['mean_a']:.0f} without ({results['seeds']} seeds); {speed}.")

