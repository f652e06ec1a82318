"""How good are DARTS's approximations of the bilevel hypergradient? (Liu et al., 2019, eqs. 6-8).

The architecture gradient of the one-step unrolled problem (eq. 6: w' = w - xi grad_w L_train)
is eq. 7: grad_alpha L_val(w', alpha) - xi grad^2_{alpha,w} L_train(w, alpha) grad_w' L_val(w', alpha).
DARTS computes the Hessian-vector product of eq. 7 by the central finite difference of eq. 8
with radius eps = 0.01 / ||v||, or drops it altogether (first order, xi = 0).

* `compare_hypergradients`: first order and finite-difference second order against the exact
  (double backward) eq. 7: relative error, cosine similarity, time and peak memory per call
  (`memory.PeakMemory`: CUDA allocator peak on a GPU, peak resident memory on a Linux CPU).
* `radius_sweep`: the error of the finite-difference term alone as the radius shrinks.
* `smooth_variant`: the same network with SiLU for ReLU and average for max pooling, where
  the finite difference converges as radius^2; on ReLU networks it is a smoothed derivative.
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn

from ..core.memory import PeakMemory
from ..core.tables import text_table
from ..core.timing import measure
from . import hypergradient as hg
from .hypergradient import Batch


def flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    """All tensors of a hypergradient as one vector."""
    return torch.cat([t.detach().reshape(-1) for t in tensors])


def rel_error(approx: list[torch.Tensor], exact: list[torch.Tensor]) -> float:
    """||approx - exact|| / ||exact||."""
    a, b = flat(approx), flat(exact)
    return float((a - b).norm() / b.norm().clamp_min(torch.finfo(b.dtype).tiny))


def cosine(approx: list[torch.Tensor], exact: list[torch.Tensor]) -> float:
    """Cosine similarity of two hypergradients (1: same direction)."""
    return float(torch.nn.functional.cosine_similarity(flat(approx), flat(exact), dim=0))


def smooth_variant(model: nn.Module) -> nn.Module:
    """A copy of `model` with every ReLU replaced by SiLU and every max-pool by an average pool.

    Weights and alphas are copied unchanged; the loss becomes smooth in w.
    """
    smooth = copy.deepcopy(model)
    for module in list(smooth.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.ReLU):
                setattr(module, name, nn.SiLU())
            elif isinstance(child, nn.MaxPool2d):
                setattr(module, name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                                   ceil_mode=child.ceil_mode, count_include_pad=False))
    return smooth


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def compare_hypergradients(model: nn.Module, train_batch: Batch, val_batch: Batch, xi: float,
                           radii=(1e-2,), repeats: int = 3) -> dict:
    """Exact eq. 7 vs first order vs finite-difference second order at each radius.

    Each method is timed on the call that also returns its split into the direct and implicit
    terms (the split is a by-product: it costs a list of subtractions at most).
    Returns {"rows": [{"method", "radius", "rel_err", "cosine", "rel_err_implicit",
    "seconds", "peak_bytes"}, ...], "implicit_to_direct": ||implicit|| / ||direct|| of the exact split,
    "memory": what peak_bytes measures on this device}.
    """
    device = _device_of(model)
    (exact_total, parts), exact_s, exact_mem = measure(
        lambda: hg.exact(model, train_batch, val_batch, xi, return_parts=True), device, repeats)
    rows = [{"method": "exact", "radius": None, "rel_err": 0.0, "cosine": 1.0, "rel_err_implicit": 0.0,
             "seconds": exact_s, "peak_bytes": exact_mem}]
    first, s, mem = measure(lambda: hg.first_order(model, val_batch), device, repeats)
    # first order drops the implicit term: its error on that term is 100%
    rows.append({"method": "first_order", "radius": None, "rel_err": rel_error(first, exact_total),
                 "cosine": cosine(first, exact_total), "rel_err_implicit": 1.0, "seconds": s, "peak_bytes": mem})
    for r in radii:
        (total, fd_parts), s, mem = measure(
            lambda: hg.second_order(model, train_batch, val_batch, xi, radius=r, return_parts=True),
            device, repeats)
        rows.append({"method": "second_order", "radius": r, "rel_err": rel_error(total, exact_total),
                     "cosine": cosine(total, exact_total),
                     "rel_err_implicit": rel_error(fd_parts["implicit"], parts["implicit"]),
                     "seconds": s, "peak_bytes": mem})
    ratio = float(flat(parts["implicit"]).norm() / flat(parts["direct"]).norm())
    return {"rows": rows, "implicit_to_direct": ratio, "memory": PeakMemory(device).kind}


def radius_sweep(model: nn.Module, train_batch: Batch, val_batch: Batch, xi: float, radii) -> list[dict]:
    """For each radius: relative error of the finite-difference term (and of the whole eq. 7) vs exact."""
    exact_total, parts = hg.exact(model, train_batch, val_batch, xi, return_parts=True)
    out = []
    for r in radii:
        total, fd_parts = hg.second_order(model, train_batch, val_batch, xi, radius=r, return_parts=True)
        out.append({"radius": r, "rel_err_implicit": rel_error(fd_parts["implicit"], parts["implicit"]),
                    "rel_err_total": rel_error(total, exact_total)})
    return out


def format_table(rows: list[dict]) -> str:
    """The rows of `compare_hypergradients` as an aligned text table."""
    return text_table(rows, [
        ("method", "method"), ("radius", lambda r: "" if r["radius"] is None else f"{r['radius']:.0e}"),
        ("rel. error", "rel_err:.3g"), ("cosine", "cosine:.4f"), ("implicit err", "rel_err_implicit:.3g"),
        ("ms/call", lambda r: f"{1e3 * r['seconds']:.1f}"),
        ("peak MiB", lambda r: "n/a" if r["peak_bytes"] is None else f"{r['peak_bytes'] / 2**20:.1f}")])
