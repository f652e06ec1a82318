"""Cost tables and budgets of the kernel-size search: what each candidate layer costs, and the sums.

A `CostTable` holds, for every searched layer l and kernel size s, the cost of that layer alone:
its latency measured on this device (`measure_latency`: warm-up, median of repeats, CUDA
synchronisation), its multiply-accumulates (`torch.utils.flop_counter`, MACs = FLOPs / 2) and its
parameters, plus the fixed cost of the rest (stem and head). Then

* a discrete network's predicted cost is  fixed + sum_l table[l, s_l]  (`CostTable.predict`);
* the supernet's expected cost is differentiable in alpha:
  E[cost] = fixed + sum_l sum_s softmax(alpha_l)_s table[l, s]   (`CostTable.expected`),
  the LAT(alpha) of the loss L = CE + beta * LAT(alpha);
* a budget is kept by a penalty sum_r relu(E[r] / budget_r - 1) during the search and, at the end,
  by `derive_within_budget`, which trades the layers' kernel sizes down until the derived network
  fits (so the derived architecture always meets the budget, or the budget is reported unreachable).

`validate_table` samples discrete networks and compares predicted with measured latency
(Spearman's rho, mean absolute percentage error).
"""
from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from tqdm.auto import tqdm

from ..core.cost import count_macs, count_parameters
from ..core.lut import AdditiveCosts
from ..core.stats import rank_scores, spearman
from ..core.timing import measure_latency
from ..readers import read_json
from .kernel_net import KernelNet, KernelSearchNet

RESOURCES = ("latency_us", "macs", "params")


def device_key(device: torch.device | str) -> str:
    """A name for the device a table was measured on (tables do not transfer between devices)."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{platform.machine()}:{torch.get_num_threads()}threads"


def layer_input_shapes(model: KernelSearchNet | KernelNet, input_shape: Sequence[int]) -> list[tuple[int, ...]]:
    """The shape entering each searched layer, for an input of `input_shape`."""
    shapes = []
    # hooked on each layer's first module, the depthwise convolution: the supernet calls it directly
    handles = [layer[0].register_forward_pre_hook(lambda m, inp: shapes.append(tuple(inp[0].shape)))
               for layer in model.layers]
    try:
        with torch.no_grad():
            was = model.training
            model.eval()(torch.zeros(*input_shape, device=next(model.parameters()).device))
            model.train(was)
    finally:
        for h in handles:
            h.remove()
    return shapes


@dataclass
class CostTable(AdditiveCosts):
    """Per-layer, per-kernel-size costs of a `KernelSearchNet` on one device and input shape (a `core.lut` LUT)."""

    device: str
    input_shape: tuple[int, ...]
    kernel_sizes: tuple[int, ...]
    costs: dict[str, list[list[float]]]        # resource -> [layer][kernel index]
    fixed: dict[str, float] = field(default_factory=dict)  # stem + head, per resource

    @property
    def choices(self) -> tuple[int, ...]:
        """The options of every layer (`core.lut.AdditiveCosts`): its kernel sizes."""
        return self.kernel_sizes

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.__dict__, indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path, device: torch.device | str | None = None,
             input_shape: Sequence[int] | None = None) -> "CostTable":
        """Read a saved table; refuse one measured on another `device` or for another `input_shape`.

        Latencies do not transfer between devices, and neither latencies nor MACs between input
        shapes (batch, channels, height, width): a table is valid only where it was measured.
        """
        d = read_json(path, "cost table")
        try:
            table = cls(str(d["device"]), tuple(d["input_shape"]), tuple(d["kernel_sizes"]), dict(d["costs"]),
                        dict(d["fixed"]))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{path} is not a cost table file (CostTable.save writes one): "
                             f"{type(e).__name__} {e}") from e
        if device is not None and table.device != device_key(device):
            raise ValueError(f"{path} was measured on {table.device}, not on {device_key(device)}: "
                             "latencies do not transfer between devices; build a table here")
        if input_shape is not None and table.input_shape != tuple(input_shape):
            raise ValueError(f"{path} was measured for inputs of shape {table.input_shape}, not "
                             f"{tuple(input_shape)}: costs depend on the input size; build a table for this shape")
        return table


def build_cost_table(model: KernelSearchNet, input_shape: Sequence[int], device: torch.device | str = "cpu",
                     warmup: int = 5, repeats: int = 20, progress: bool = True) -> CostTable:
    """Measure every candidate (layer, kernel size) of `model` at its input shape on `device`."""
    device = torch.device(device)
    shapes = layer_input_shapes(model, input_shape)
    costs = {r: [] for r in RESOURCES}
    bar = tqdm(total=len(shapes) * len(model.kernel_sizes), desc="profile candidates", disable=not progress)
    for index, shape in enumerate(shapes):
        rows = {r: [] for r in RESOURCES}
        for k in model.kernel_sizes:
            layer = model.candidate_layer(index, k).to(device)
            rows["latency_us"].append(measure_latency(layer, shape, device, warmup, repeats))
            rows["macs"].append(float(count_macs(layer, shape)))
            rows["params"].append(float(count_parameters(layer)))
            bar.update(1)
        for r in RESOURCES:
            costs[r].append(rows[r])
    bar.close()
    head_shape = (input_shape[0], model.widths[-1], *_spatial_after(model, input_shape))
    fixed_parts = [(model.stem, tuple(input_shape)), (model.head, head_shape)]
    fixed = {"latency_us": 0.0, "macs": 0.0, "params": 0.0}
    for part, shape in fixed_parts:
        part = part.to(device)
        fixed["latency_us"] += measure_latency(part, shape, device, warmup, repeats)
        fixed["macs"] += float(count_macs(part, shape))
        fixed["params"] += float(count_parameters(part))
    return CostTable(device_key(device), tuple(input_shape), tuple(model.kernel_sizes), costs, fixed)


def _spatial_after(model, input_shape) -> tuple[int, int]:
    h, w = input_shape[-2:]
    for s in model.strides:
        h, w = (h + s - 1) // s, (w + s - 1) // s
    return h, w


def budget_penalty(expected: dict[str, torch.Tensor], budgets: dict[str, float]) -> torch.Tensor:
    """sum_r relu(E[r] / budget_r - 1) over the resources with a budget (> 0)."""
    terms = [torch.relu(expected[r] / b - 1) for r, b in budgets.items() if b and b > 0]
    return sum(terms) if terms else torch.zeros(())


def derive_within_budget(alphas: torch.Tensor, table: CostTable, budgets: dict[str, float]) -> tuple[int, ...]:
    """The largest-alpha kernel per layer, traded down until every budget is met.

    While a budget is exceeded, the layer whose next-cheaper kernel loses the least alpha per unit
    of the most-exceeded resource saved moves to that kernel. Raises ValueError if even the
    cheapest network exceeds a budget.
    """
    budgets = {r: b for r, b in budgets.items() if b and b > 0}
    unknown = set(budgets) - set(table.costs)
    if unknown:
        raise ValueError(f"no costs for {sorted(unknown)} in the table; known: {sorted(table.costs)}")
    a = alphas.detach().cpu()
    choice = a.argmax(1).tolist()
    while True:
        cost = table.predict([table.kernel_sizes[i] for i in choice])
        over = {r: cost[r] / b for r, b in budgets.items() if cost[r] > b}
        if not over:
            return tuple(table.kernel_sizes[i] for i in choice)
        r = max(over, key=over.get)
        best, best_score = None, None
        for layer, i in enumerate(choice):
            cheaper = [j for j in range(len(table.kernel_sizes)) if table.costs[r][layer][j] < table.costs[r][layer][i]]
            if not cheaper:
                continue
            j = max(cheaper, key=lambda j: table.costs[r][layer][j])  # the next cheaper option
            score = float(a[layer, i] - a[layer, j]) / (table.costs[r][layer][i] - table.costs[r][layer][j])
            if best_score is None or score < best_score:
                best, best_score = (layer, j), score
        if best is None:
            raise ValueError(f"the {r} budget {budgets[r]:.4g} is unreachable: the cheapest network costs "
                             f"{cost[r]:.4g}; raise the budget or shrink the network")
        choice[best[0]] = best[1]


def validate_table(table: CostTable, model: KernelSearchNet, samples: int = 20, seed: int = 0,
                   device: torch.device | str = "cpu", warmup: int = 5, repeats: int = 20,
                   progress: bool = True) -> dict:
    """Predicted vs measured latency of `samples` random discrete networks: rows, rho (with its interval), tau, MAPE."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for _ in tqdm(range(samples), desc="validate table", disable=not progress):
        idx = torch.randint(len(table.kernel_sizes), (len(model.widths),), generator=g).tolist()
        kernels = tuple(table.kernel_sizes[i] for i in idx)
        net = model.derive(kernels).to(device)
        rows.append({"kernels": kernels, "predicted_us": table.predict(kernels)["latency_us"],
                     "measured_us": measure_latency(net, table.input_shape, device, warmup, repeats)})
    pred, meas = [r["predicted_us"] for r in rows], [r["measured_us"] for r in rows]
    scores = rank_scores(pred, meas)  # the score of every cost model; Spearman's rho with its interval here
    return {"rows": rows, "spearman": spearman(pred, meas, seed=seed), "kendall": scores["kendall"],
            "mape": scores["mape"]}
