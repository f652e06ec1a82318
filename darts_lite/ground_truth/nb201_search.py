"""DARTS in NAS-Bench-201's space: the benchmark's cell as a supernet, searched, and its pick looked up.

NAS-Bench-201 (Dong & Yang, ICLR 2020, Sec. 2.1): a cell is a DAG of 4 nodes, node j the sum of one
operation on every earlier node i < j (6 edges), each from `none`, `skip_connect`, `nor_conv_1x1` and
`nor_conv_3x3` (ReLU-conv-BN) and `avg_pool_3x3`. The network: a 3x3 stem of C channels, three stages
of N cells at C, 2C and 4C channels with a residual block of stride 2 between them, BN-ReLU, global
pooling, a linear classifier (C = 16, N = 5 in the benchmark).

DARTS relaxes each edge to the softmax mixture of eq. 2 (Liu et al., ICLR 2019), one row of
`alphas` (6 x 5) shared by every cell; the search is the course's `search_step` (Algorithm 1, first
order by default, the benchmark's DARTS-V1), and the derived cell keeps the argmax of each row,
`none` included, as the benchmark's DARTS does: the pick is one of the 15,625 cells, so its accuracy
is looked up (`nasbench201.load_nb201`), not trained. On CIFAR-10 the benchmark reports that DARTS
collapses to the all-`skip_connect` cell; notebook 08's GPU settings run it to see.

Given a device's latency lookup table (`core.lut.LookupTable`: the 6 edges as slots, `NB201_OPS` as
choices, "latency_ms"), the search is latency-aware, as FBNet (Sec. 3.2) and ProxylessNAS (Sec. 3.3)
are: the alphas descend

    L = CE + beta * LAT(alpha),   LAT(alpha) = fixed + sum_e sum_o softmax(alpha_e)_o LUT[e, o],

the expected latency of the supernet's mixture. Its gradient, beta * softmax(alpha_e) * (LUT[e] - E_e)
on edge e, E_e = sum_o softmax(alpha_e)_o LUT[e, o], lowers every operation slower than its edge's mean.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.bilevel import BilevelModule
from ..core.checkpoint import epoch_generator
from ..core.loop import checkpoint_dict, epoch_means, run_epochs, zero_sums
from ..core.lut import LookupTable
from ..core.runs import resume_or_start, start_run
from ..darts.config import SearchConfig
from ..darts.ops import ReLUConvBN, Zero
from ..darts.search import make_optimizers, search_step
from ..data import DataSplits, iterate_batches, num_batches
from .nasbench201 import NB201_OPS, N_EDGES, NB201Table, arch_ops, arch_string, percentile_of

#: (node, input) of each edge, in the order of the cell string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`.
EDGES: tuple[tuple[int, int], ...] = tuple((j, i) for j in range(1, 4) for i in range(j))


def nb201_op(name: str, C: int, affine: bool = False) -> nn.Module:
    """One candidate operation of the benchmark at C channels, stride 1 (BatchNorm without affine in search)."""
    if name == "none":
        return Zero(1)
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(C, C, 1, 1, 0, affine=affine)
    if name == "nor_conv_3x3":
        return ReLUConvBN(C, C, 3, 1, 1, affine=affine)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"{name!r} is not an operation of NAS-Bench-201; its operations are {NB201_OPS}")


class ResidualReduce(nn.Module):
    """The benchmark's block between stages: two ReLU-conv-BN 3x3 (the first of stride 2) plus a pooled 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


class NB201SearchCell(nn.Module):
    """Node j = sum over i < j of the softmax(alpha_e)-weighted mixture of every operation on node i (eq. 2)."""

    def __init__(self, C: int):
        super().__init__()
        self.edges = nn.ModuleList(nn.ModuleList(nb201_op(name, C) for name in NB201_OPS) for _ in EDGES)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, 4):
            nodes.append(sum(sum(w * op(nodes[i]) for w, op in zip(weights[e], self.edges[e]))
                             for e, (node, i) in enumerate(EDGES) if node == j))
        return nodes[3]


class NB201SearchNetwork(BilevelModule):
    """The benchmark's macro-architecture around the search cell; `alphas` (6 x 5) shared by all cells."""

    def __init__(self, C: int = 16, cells_per_stage: int = 5, num_classes: int = 10, in_channels: int = 3,
                 alpha_init_std: float = 1e-3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        for stage, width in enumerate((C, 2 * C, 4 * C)):
            if stage:
                layers.append(ResidualReduce(width // 2, width))
            layers.extend(NB201SearchCell(width) for _ in range(cells_per_stage))
        self.layers = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * C), nn.ReLU())
        self.classifier = nn.Linear(4 * C, num_classes)
        self.alphas = nn.Parameter(alpha_init_std * torch.randn(N_EDGES, len(NB201_OPS)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = F.softmax(self.alphas, dim=-1)
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x, weights) if isinstance(layer, NB201SearchCell) else layer(x)
        return self.classifier(self.lastact(x).mean(dim=(2, 3)))

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alphas]

    def arch(self) -> str:
        """The derived cell: the argmax operation of every edge (`none` included), as a benchmark cell string."""
        return arch_string(NB201_OPS[k] for k in self.alphas.argmax(dim=-1).tolist())


def check_latency_table(latency: LookupTable | None, beta: float) -> None:
    """Refuse, saying how to fix it, a table that does not fit the benchmark's cell, or a negative beta."""
    if not 0 <= beta < float("inf"):  # also refuses NaN
        raise ValueError(f"beta, the weight of the expected latency in L = CE + beta * LAT(alpha), must be a "
                         f"finite number >= 0; got {beta}")
    if latency is None:
        if beta > 0:
            raise ValueError(f"beta = {beta} weighs a latency, but no latency table was given: pass latency=, "
                             "a LookupTable of the 6 edges x NB201_OPS in 'latency_ms'")
        return
    if "latency_ms" not in latency.costs:
        raise ValueError(f"the latency table of {latency.device!r} has no 'latency_ms' resource (it has "
                         f"{sorted(latency.costs)}); give its entries in milliseconds under 'latency_ms'")
    if tuple(latency.choices) != NB201_OPS:
        raise ValueError(f"the latency table's choices must be NB201_OPS in that order, {NB201_OPS}; got "
                         f"{tuple(latency.choices)}: reorder its columns to match")
    slots = len(latency.costs["latency_ms"])
    if slots != N_EDGES:
        raise ValueError(f"the latency table must have one slot per edge of the cell ({N_EDGES}, in the cell "
                         f"string's order EDGES); got {slots}")


def search_nb201(config: SearchConfig, data: DataSplits, cells_per_stage: int = 5, run_dir: str | Path | None = None,
                 resume: bool = False, progress: bool = True, latency: LookupTable | None = None,
                 beta: float = 0.0) -> dict:
    """DARTS on `data` in the benchmark's space: {"arch": the pick, "alphas": softmax rows, "history": per epoch}.

    `config` gives the recipe the course's searches use (channels, epochs, batch size, learning
    rates, `order`, seed, device); its cell fields (nodes, primitives, layers) do not apply here.
    The epochs run in the course's loop (`core.loop.run_epochs`): a progress bar, a checkpoint in
    `run_dir` (default runs/<config.name>) after every epoch and on Ctrl-C, and `resume=True`.

    With a `latency` table the alphas descend L = CE + beta * LAT(alpha), LAT the expected latency
    of FBNet and ProxylessNAS (`LookupTable.expected`); every history row gains "lat_ms" (LAT(alpha)
    at the epoch's end) and the result "latency_ms" (the pick's latency, `latency.predict`) and
    "expected_latency_ms". A run resumes only with the same table's device and the same beta.
    """
    check_latency_table(latency, beta)
    run = start_run(config, "nb201_search", data, run_dir)
    model = NB201SearchNetwork(config.channels, cells_per_stage, data.num_classes, data.in_channels,
                               config.alpha_init_std).to(run.device)
    train, val = data.search_train.to(run.device), data.search_val.to(run.device)
    steps = min(num_batches(len(s), config.batch_size, drop_last=True) for s in (train, val))
    w_opt, alpha_opt, schedule = make_optimizers(model, config, steps)
    modules = {"model": model, "w_opt": w_opt, "alpha_opt": alpha_opt, "schedule": schedule}
    # Not fields of `config`, so `restore` cannot compare them: the loop state carries them instead.
    objective = None if latency is None else {"device": latency.device, "beta": float(beta)}
    state = resume_or_start(run, config, modules, {"epoch": 0, "step": 0, "history": [], "sums": zero_sums(),
                                                   "latency": objective}, resume, verbose=progress)
    if state.get("latency") != objective:  # an older checkpoint lacks the key: it searched without latency
        raise ValueError(f"cannot resume from {run.checkpoint}: it was searched with latency "
                         f"{state.get('latency')}, this run asks for {objective}; pass the same latency "
                         "table and beta, or start afresh with resume=False")

    def expected_ms() -> torch.Tensor:
        return latency.expected(model.alphas)["latency_ms"]

    def batches(epoch: int, start: int):
        return zip(*(iterate_batches(split, config.batch_size, epoch_generator(config.seed, epoch, stream),
                                     drop_last=True, start=start) for stream, split in enumerate((train, val))))

    def end_epoch(state):
        row = {"epoch": state["epoch"] + 1, **epoch_means(state["sums"]), "arch": model.arch()}
        if latency is not None:
            with torch.no_grad():
                row["lat_ms"] = float(expected_ms())
        state["history"].append(row)
        schedule.step()

    penalty = None if latency is None else lambda: beta * expected_ms()
    run_epochs(state, epochs=config.epochs, steps=steps, batches=batches,
               step=lambda batch: search_step(model, w_opt, alpha_opt, *batch, config.order, config.radius,
                                              config.grad_clip, alpha_penalty=penalty),
               end_epoch=end_epoch, save=lambda s: checkpoint_dict(s, config, modules), path=run.checkpoint,
               desc="DARTS on NAS-Bench-201", progress=progress)
    weights = F.softmax(model.alphas.detach(), dim=-1).cpu()
    out = {"arch": model.arch(), "alphas": weights.tolist(), "history": state["history"]}
    if latency is not None:
        with torch.no_grad():
            out["expected_latency_ms"] = float(expected_ms())
        out["latency_ms"] = latency.predict(arch_ops(out["arch"]))["latency_ms"]
    return out


def look_up(table: NB201Table, arch: str) -> dict:
    """The pick's accuracy in a benchmark table and its place: {"accuracy", "top_percent"}."""
    if arch not in table.arch:
        raise ValueError(f"{arch!r} is not a cell of the table ({len(table)} cells)")
    accuracy = float(table.accuracy[table.arch.index(arch)])
    return {"accuracy": accuracy, "top_percent": percentile_of(table, accuracy)}
