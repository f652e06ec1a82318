"""The planted cell: teacher weights, recovery, and a CI-sized search that beats chance."""
import pytest
import torch

from darts_lite.darts import planted as P
from darts_lite.darts.decision import chance_agreement
from darts_lite.darts.genotypes import DARTS_V2, derive_genotype


def test_planted_weights_derive_the_planted_genotype():
    w = P.planted_weights(DARTS_V2, P.SearchNetwork().primitives)
    derived = derive_genotype({k: torch.log(v + 1e-9) for k, v in w.items()})
    assert P.recovery(derived, DARTS_V2) == 1.0  # the same pairs (derivation orders a node's edges by input)
    assert all(v.sum() == 8 and ((v == 0) | (v == 1)).all() for v in w.values())  # 2 edges x 4 nodes


def test_recovery_counts_pairs():
    assert P.recovery(DARTS_V2, DARTS_V2) == 1.0
    other = derive_genotype({k: torch.zeros(14, 8) for k in ("normal", "reduce")})
    expected = sum(pair in DARTS_V2.normal[2 * (i // 2):2 * (i // 2) + 2]
                   for i, pair in enumerate(other.normal))
    expected += sum(pair in DARTS_V2.reduce[2 * (i // 2):2 * (i // 2) + 2] for i, pair in enumerate(other.reduce))
    assert P.recovery(other, DARTS_V2) == pytest.approx(expected / 16)


def test_teacher_is_the_supernet_at_the_planted_cell():
    net, planted = P.make_teacher(seed=0, C=4)
    X = torch.randn(4, 3, 8, 8)
    net.train()
    out = net(X, weights=P.planted_weights(planted, net.primitives))
    assert out.shape == (4, 10) and torch.isfinite(out).all()


def test_planted_alphas_are_recovered_above_chance():
    """Setting (a) at a CI size (seeded, loose): well above the chance of a random genotype."""
    torch.manual_seed(0)
    net, planted = P.make_teacher(seed=0, C=4)
    result = P.recover_alphas(net, planted, steps=40, lr=0.1, batch_size=16, image_size=8, progress=False)
    chance = chance_agreement()["exact"]
    assert result.recovery >= chance + 0.3, (result.recovery, chance)
    assert result.history[-1]["recovery"] == result.recovery
    assert all(p.requires_grad for p in net.weight_parameters())  # unfrozen again


def test_planted_data_labels_come_from_the_teacher():
    net, planted = P.make_teacher(seed=1, C=4)
    data = P.planted_data(net, planted, sizes=(64, 32, 32), image_size=8)
    assert len(data.search_train) == 64 and data.num_classes == 10
    assert len(set(data.search_train.y.tolist())) > 1


def test_make_teacher_is_a_function_of_its_seed_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    a, pa = P.make_teacher(seed=3, C=4)
    assert torch.equal(torch.get_rng_state(), state)
    b, pb = P.make_teacher(seed=3, C=4)
    assert pa == pb and all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_planted_study_in_processes_gives_the_rows_of_one_thread_in_sequence(tmp_path, one_thread):
    from darts_lite.darts.config import SearchConfig

    base = SearchConfig(name="p", image_size=8, layers=3, channels=4, nodes=2, multiplier=2, epochs=1,
                        batch_size=32, device="cpu")
    args = (base, ["paper", "beta_darts"], [0, 1], (64, 64, 32))
    parallel = P.planted_study(*args, run_dir=tmp_path / "parallel", workers=2)
    with one_thread():  # what each worker runs on
        sequence = P.planted_study(*args, run_dir=tmp_path / "sequence", workers=1)
    assert [(r["seed"], r["schedule"]) for r in parallel] == [(0, "paper"), (0, "beta_darts"), (1, "paper"),
                                                             (1, "beta_darts")]
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert drop(parallel) == drop(sequence)
    assert all(0 <= r["recovery"] <= 1 and r["seconds"] > 0 for r in parallel)
    assert (tmp_path / "parallel" / "planted_beta_darts_seed1").is_dir()


def test_recovery_study_in_processes_gives_the_results_of_one_thread_in_sequence(one_thread):
    args = ([0, 1], 4, 6)  # seeds, channels, steps
    parallel = P.recovery_study(*args, workers=2)
    with one_thread():
        sequence = P.recovery_study(*args, workers=1)
    assert [r.planted for r in parallel] == [P.make_teacher(seed, C=4)[1] for seed in (0, 1)]
    assert [(r.genotype, r.recovery, r.history) for r in parallel] == [(r.genotype, r.recovery, r.history)
                                                                       for r in sequence]
