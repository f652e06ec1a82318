"""Data-parallel search: 2 gloo processes on the CPU take the steps of one process on the combined batch.

The reference is independent of `darts_lite.core.distributed`: one process, the
combined batch, and `GhostBatch`, which runs each half through the supernet
on its own (BatchNorm statistics per half, as each process computes them).
"""
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from darts_lite.core import distributed
from darts_lite.core.config import ConfigError
from darts_lite.darts import search
from darts_lite.darts.config import SearchConfig
from darts_lite.darts.hypergradient import exact
from darts_lite.darts.search import make_optimizers, search_step
from darts_lite.darts.supernet import SearchNetwork
from darts_lite.data import DataSplits, Split, load_dataset

WORLD = 2
STEPS = 2
BATCH = 8  # global: 4 images per process
ORDERS = (1, 2, "exact")
# Five candidates keep every kind (none, pooling + BatchNorm, skip, separable and dilated convolutions)
# at half the cost of all eight.
PRIMITIVES = ("none", "max_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_3x3")
# float64 throughout. The two computations add the same numbers in another order (an
# all-reduce of per-process means against one mean over the batch), so they agree to rounding:
# the largest difference measured over all parameters and buffers is 6e-16 (exact), 4e-16
# (order 2), 3e-16 (order 1). 1e-12 leaves a margin of 1000 for other CPUs and BLAS builds
# and is 1e11 times smaller than what a missing all-reduce or global BatchNorm statistics
# change (~0.2 in the alphas after these steps).
TOL = dict(rtol=0, atol=1e-12)


def tiny_net() -> SearchNetwork:
    torch.manual_seed(0)
    return SearchNetwork(C=4, layers=3, nodes=2, multiplier=2, in_channels=1, num_classes=3,
                         primitives=PRIMITIVES).double()


def fixed_batches():
    """STEPS pairs of (train, val) global batches of random 8x8 images, 3 classes."""
    g = torch.Generator().manual_seed(1)

    def batch():
        X = torch.randn(BATCH, 1, 8, 8, generator=g, dtype=torch.float64)
        return X, torch.randint(0, 3, (BATCH,), generator=g)
    return [(batch(), batch()) for _ in range(STEPS)]


def run_steps(model: nn.Module, order, take=lambda b: b, average=None) -> dict[str, torch.Tensor]:
    """STEPS search steps on `take` of each global batch; returns the final state_dict."""
    config = SearchConfig(w_lr=0.05, arch_lr=0.05)
    w_opt, alpha_opt, _ = make_optimizers(model, config)
    for train, val in fixed_batches():
        search_step(model, w_opt, alpha_opt, take(train), take(val), order=order, average=average)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class GhostBatch(nn.Module):
    """The reference: `net` on a combined batch with BatchNorm statistics per shard of it.

    Each of the `shards` equal chunks goes through `net` on its own, starting
    from the same running statistics, which are then averaged: what `shards`
    processes with ordinary BatchNorm compute together.
    """

    def __init__(self, net: SearchNetwork, shards: int):
        super().__init__()
        self.net, self.shards = net, shards

    def arch_parameters(self):
        return self.net.arch_parameters()

    def named_weights(self):
        return (("net." + n, p) for n, p in self.net.named_weights())

    def weight_parameters(self):
        return [p for _, p in self.named_weights()]

    def forward(self, X):
        # Fresh tensors, not in-place copies: BatchNorm saves its running statistics for backward.
        norms = [m for m in self.net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        start = [(m.running_mean, m.running_var, m.num_batches_tracked) for m in norms]
        logits, ends = [], []
        for chunk in X.chunk(self.shards):
            for m, (mean, var, count) in zip(norms, start):
                m.running_mean, m.running_var, m.num_batches_tracked = mean.clone(), var.clone(), count.clone()
            logits.append(self.net(chunk))
            ends.append([(m.running_mean, m.running_var) for m in norms])
        for i, m in enumerate(norms):  # one batch more, seen by every shard at once
            m.num_batches_tracked = start[i][2] + 1
            m.running_mean = torch.stack([e[i][0] for e in ends]).mean(0)
            m.running_var = torch.stack([e[i][1] for e in ends]).mean(0)
        return torch.cat(logits)


def small_digits() -> DataSplits:
    data = load_dataset("digits", image_size=8, seed=0)
    cut = lambda s: Split(s.X[:32], s.y[:32])  # 2 steps of 16  # noqa: E731
    return DataSplits(**{**data.__dict__, "search_train": cut(data.search_train),
                         "search_val": cut(data.search_val), "test": cut(data.test)})


def tiny_config(**changes) -> SearchConfig:
    base = dict(name="ddp", layers=3, channels=4, nodes=2, multiplier=2, epochs=1, batch_size=16,
                arch_lr=3e-3, device="cpu", seed=1, primitives=PRIMITIVES)
    return SearchConfig(**{**base, **changes})


def _worker(rank: int, init_method: str, out: str, data: DataSplits) -> None:
    """One of the WORLD processes: every scenario, results saved to out/rank{rank}.pt."""
    torch.set_num_threads(1)
    # A short timeout: a rank left waiting in a collective fails the test instead of hanging it.
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=WORLD,
                            timeout=timedelta(seconds=60))
    try:
        results = {order: run_steps(tiny_net(), order, distributed.shard, distributed.all_average)
                   for order in ORDERS}
        results["no_allreduce"] = run_steps(tiny_net(), 1, distributed.shard, average=None)
        found = search(tiny_config(), data, run_dir=Path(out) / f"run{rank}", progress=False)
        results["search"] = {"alphas": found.alphas, "history": found.history,
                             "state": {k: v.clone() for k, v in found.model.state_dict().items()}}

        def stop_on_rank_1_only(info):
            if rank == 1 and info["step"] == 0:
                info["stop"]()

        try:
            search(tiny_config(), data, run_dir=Path(out) / "cut", progress=False, callback=stop_on_rank_1_only)
        except KeyboardInterrupt as e:
            results["interrupted"] = str(e)
        dist.barrier()  # rank 0 has written its checkpoint
        results["cut_at"] = torch.load(Path(out) / "cut" / "search_checkpoint.pt", weights_only=False)["state"]
        resumed = search(tiny_config(), data, run_dir=Path(out) / "cut", resume=True, progress=False)
        results["resumed"] = {k: v.clone() for k, v in resumed.model.state_dict().items()}
        try:
            search(tiny_config(batch_size=15), data, run_dir=Path(out) / f"odd{rank}", progress=False)
        except ConfigError as e:
            results["indivisible"] = str(e)
        torch.save(results, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def ranks():
    """Spawn the WORLD processes once; the results of each rank and the shared output folder."""
    with tempfile.TemporaryDirectory() as out:
        mp.spawn(_worker, args=(f"file://{out}/init", out, small_digits()), nprocs=WORLD, join=True)
        yield [torch.load(Path(out) / f"rank{r}.pt", weights_only=False) for r in range(WORLD)], Path(out)


def assert_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


@pytest.mark.parametrize("order", ORDERS)
def test_ranks_end_bitwise_identical(ranks, order):
    (r0, r1), _ = ranks
    assert_identical(r0[order], r1[order])  # alphas, weights and BatchNorm running statistics


@pytest.mark.parametrize("order", ORDERS)
def test_two_processes_equal_one_process_on_the_combined_batch(ranks, order):
    (r0, _), _ = ranks
    reference = run_steps(GhostBatch(tiny_net(), WORLD), order)
    reference = {k.removeprefix("net."): v for k, v in reference.items()}
    assert reference.keys() == r0[order].keys()
    for name, value in reference.items():
        torch.testing.assert_close(r0[order][name], value, **TOL, msg=name)
    moved = (r0[order]["alphas.normal"] - tiny_net().alphas["normal"].detach()).abs().max()
    assert moved > 1e-3  # the steps did change the alphas: the comparison means something


def test_batchnorm_statistics_are_per_process_not_global(ranks):
    """What the run is not: one process with BatchNorm over the whole combined batch."""
    (r0, _), _ = ranks
    global_bn = run_steps(tiny_net(), 1)
    assert (global_bn["alphas.normal"] - r0[1]["alphas.normal"]).abs().max() > 1e-3


def test_without_the_all_reduce_the_ranks_drift_apart(ranks):
    (r0, r1), _ = ranks
    gap = (r0["no_allreduce"]["alphas.normal"] - r1["no_allreduce"]["alphas.normal"]).abs().max()
    assert gap > 1e-3


def test_search_runs_data_parallel_and_only_rank_0_writes(ranks):
    (r0, r1), out = ranks
    assert_identical(r0["search"]["alphas"], r1["search"]["alphas"])
    assert_identical(r0["search"]["state"], r1["search"]["state"])
    timeless = [[{k: v for k, v in row.items() if k != "seconds"} for row in r["search"]["history"]] for r in (r0, r1)]
    assert timeless[0] == timeless[1]  # the averaged loss, the same evaluation
    assert (out / "run0" / "search_checkpoint.pt").is_file() and (out / "run0" / "search_config.json").is_file()
    assert not (out / "run1").exists()


def test_a_stop_on_one_rank_stops_all_after_the_same_step_and_resumes_exactly(ranks):
    (r0, r1), out = ranks
    assert "interrupted at epoch 1, step 1" in r0["interrupted"] and r0["interrupted"] == r1["interrupted"]
    assert (r0["cut_at"]["epoch"], r0["cut_at"]["step"]) == (0, 1)  # written by rank 0
    for r in (r0, r1):
        assert_identical(r["resumed"], r0["search"]["state"])


def test_indivisible_global_batch_is_a_clear_error(ranks):
    (r0, r1), out = ranks
    for r in (r0, r1):
        assert "batch_size 15" in r["indivisible"] and "multiple of 2" in r["indivisible"]
    assert not (out / "odd0").exists()  # refused before anything was written


def test_shard_takes_contiguous_chunks_of_the_global_batch():
    X, y = torch.arange(12.0).view(6, 2), torch.arange(6)
    chunks = [distributed.shard((X, y), r, 3) for r in range(3)]
    assert torch.equal(torch.cat([c[0] for c in chunks]), X) and torch.equal(torch.cat([c[1] for c in chunks]), y)
    assert [c[1].tolist() for c in chunks] == [[0, 1], [2, 3], [4, 5]]
    with pytest.raises(ConfigError, match=r"batch_size 6 .* not divisible by 4; use a multiple of 4, e\.g\. 4 or 8"):
        distributed.shard((X, y), 0, 4)


def test_one_process_is_the_plain_search(monkeypatch):
    assert (distributed.world_size(), distributed.rank(), distributed.is_main()) == (1, 0, True)
    t = [torch.ones(2, requires_grad=True)]
    assert torch.equal(distributed.all_average(t)[0], t[0].detach())
    for name in distributed.TORCHRUN_ENV:
        monkeypatch.delenv(name, raising=False)
    assert not distributed.launched_by_torchrun()
    assert distributed.init(torch.device("cpu")) == torch.device("cpu")
    # torchrun --nproc_per_node 1: no process group, no collectives
    for name, value in zip(distributed.TORCHRUN_ENV, ("0", "1", "0")):
        monkeypatch.setenv(name, value)
    assert distributed.launched_by_torchrun()
    assert distributed.init(torch.device("cpu")) == torch.device("cpu") and not dist.is_initialized()


def test_exact_term_by_term_equals_autograd_through_the_virtual_step():
    """The data-parallel form of `exact` (HVP by double backward), with a trivial average, on one process."""
    model = tiny_net()
    (train, val), *_ = fixed_batches()
    through = exact(model, train, val, xi=0.05)
    by_terms = exact(model, train, val, xi=0.05, average=list)
    for a, b in zip(through, by_terms):
        torch.testing.assert_close(b, a, rtol=1e-10, atol=1e-12)


def test_other_commands_refuse_to_run_under_torchrun(monkeypatch, capsys):
    from darts_lite.cli import main
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["train", "--genotype", "genotype.json"]) == 2
    assert "only `search` runs data-parallel" in capsys.readouterr().err
