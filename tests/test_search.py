"""The search loop: a toy with a known answer, resume after Ctrl-C, NaN handling, retraining."""
import os
import signal

import pytest
import torch
import torch.nn.functional as F

from darts_lite.core.checkpoint import NonFiniteLossError, load_checkpoint
from darts_lite.core.training import TrainConfig
from darts_lite.darts import search
from darts_lite.darts.config import SearchConfig
from darts_lite.darts.retrain import train_network
from darts_lite.darts.search import make_optimizers, search_step
from darts_lite.darts.toy import hidden_op_task


def tiny_config(**changes) -> SearchConfig:
    base = dict(name="tiny", layers=3, channels=4, nodes=2, multiplier=2, epochs=2, batch_size=32,
                arch_lr=3e-3, device="cpu", seed=1)
    return SearchConfig(**{**base, **changes})


@pytest.mark.parametrize("hidden", ["max_pool_3x3", "sep_conv_3x3", "dil_conv_5x5"])
@pytest.mark.parametrize("order", [1, 2])
def test_toy_search_finds_the_hidden_operation(hidden, order):
    student, (X, Y), (Xv, Yv) = hidden_op_task(hidden, seed=3)
    config = SearchConfig(w_lr=0.01, w_lr_min=0.0, arch_lr=0.05, arch_weight_decay=0.0)
    w_opt, alpha_opt, _ = make_optimizers(student, config)
    g = torch.Generator().manual_seed(0)
    for _ in range(60):
        i, j = torch.randint(0, len(X), (32,), generator=g), torch.randint(0, len(Xv), (32,), generator=g)
        search_step(student, w_opt, alpha_opt, (X[i], Y[i]), (Xv[j], Yv[j]), order=order,
                    criterion=F.mse_loss)
    weights = torch.softmax(student.alphas["edge"].detach(), -1)
    winner = student.primitives[int(weights.argmax())]
    assert winner == hidden, dict(zip(student.primitives, weights.tolist()))


def _final_state(result):
    return {k: v.detach().clone() for k, v in result.model.state_dict().items()}


def test_resume_after_ctrl_c_matches_an_uninterrupted_run(tmp_path, small_digits):
    config = tiny_config()
    full = search(config, small_digits, run_dir=tmp_path / "full", progress=False)

    def ctrl_c_at_epoch2_step2(info):
        if info["epoch"] == 1 and info["step"] == 1:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C: handled after the step completes

    with pytest.raises(KeyboardInterrupt, match="resume=True"):
        search(config, small_digits, run_dir=tmp_path / "cut", progress=False, callback=ctrl_c_at_epoch2_step2)
    saved = load_checkpoint(tmp_path / "cut" / "search_checkpoint.pt")
    assert (saved["state"]["epoch"], saved["state"]["step"]) == (1, 2)

    resumed = search(config, small_digits, run_dir=tmp_path / "cut", resume=True, progress=False)
    a, b = _final_state(full), _final_state(resumed)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(b[name], a[name], atol=1e-6, rtol=0, msg=name)
    assert [h["train_loss"] for h in resumed.history] == pytest.approx([h["train_loss"] for h in full.history],
                                                                      abs=1e-6)
    assert resumed.genotype == full.genotype
    assert resumed.trajectory["normal"].shape == full.trajectory["normal"].shape


def test_resume_refuses_a_different_configuration(tmp_path, small_digits):
    search(tiny_config(epochs=1), small_digits, run_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="channels"):
        search(tiny_config(epochs=1, channels=6), small_digits, run_dir=tmp_path, resume=True, progress=False)


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path, small_digits):
    def poison(info):
        if info["epoch"] == 1 and info["step"] == 0:
            with torch.no_grad():
                info["model"].weight_parameters()[0].fill_(float("nan"))

    with pytest.raises(NonFiniteLossError, match=r"epoch 2, step 2.*last good checkpoint"):
        search(tiny_config(), small_digits, run_dir=tmp_path, progress=False, callback=poison)
    saved = load_checkpoint(tmp_path / "search_checkpoint.pt")
    assert (saved["state"]["epoch"], saved["state"]["step"]) == (1, 0)
    assert all(torch.isfinite(v).all() for v in saved["model"].values() if v.is_floating_point())


def test_history_and_trajectory_are_recorded(tmp_path, small_digits):
    result = search(tiny_config(), small_digits, run_dir=tmp_path, progress=False)
    assert [h["epoch"] for h in result.history] == [1, 2]
    for row in result.history:
        assert 0.0 <= row["val_acc"] <= 1.0 and row["train_loss"] > 0
        assert 0 <= row["skip_normal"] <= 4
    # Learning-rate schedule: cosine from w_lr down towards w_lr_min.
    assert result.history[0]["lr"] == pytest.approx(0.025)
    assert result.history[1]["lr"] < result.history[0]["lr"]
    t = result.trajectory
    assert t["normal"].shape[0] == t["epoch"].shape[0] and t["epoch"][0] == 0 and t["epoch"][-1] == 2
    torch.testing.assert_close(t["normal"][-1], torch.softmax(result.alphas["normal"], -1))
    torch.testing.assert_close(t["normal"].sum(-1), torch.ones(t["normal"].shape[:2]))


def test_batch_larger_than_the_data_is_a_clear_error(tmp_path, small_digits):
    with pytest.raises(ValueError, match="batch_size 4096"):
        search(tiny_config(batch_size=4096), small_digits, run_dir=tmp_path, progress=False)


def test_train_network_learns_and_resumes_exactly(tmp_path, small_digits):
    genotype = search(tiny_config(epochs=1), small_digits, run_dir=tmp_path / "s", progress=False).genotype
    # 5 epochs: after 3 (12 steps) BatchNorm's running statistics still lag, and the eval-mode test sat
    # near chance even with the training loss down to 1.0
    config = TrainConfig(layers=3, channels=8, epochs=5, batch_size=32, device="cpu", drop_path_prob=0.2,
                         auxiliary_weight=0.4)
    full = train_network(genotype, config, small_digits, run_dir=tmp_path / "full", progress=False)
    assert full.history[-1]["train_loss"] < full.history[0]["train_loss"]
    assert full.test["acc"] > 0.2  # 10 classes: chance is 0.1 (4 sd below 0.2 on 128 images)

    def stop_in_epoch_2(info):
        if info["epoch"] == 1 and info["step"] == 3:
            info["stop"]()

    with pytest.raises(KeyboardInterrupt):
        train_network(genotype, config, small_digits, run_dir=tmp_path / "cut", progress=False,
                      callback=stop_in_epoch_2)
    resumed = train_network(genotype, config, small_digits, run_dir=tmp_path / "cut", resume=True,
                            progress=False)
    for name, value in full.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value, atol=1e-6, rtol=0, msg=name)
    assert resumed.test == pytest.approx(full.test, abs=1e-6)


def test_early_stop_on_skip_connections_ends_the_search_and_stays_ended(tmp_path, small_digits):
    # With only `none` and skip_connect, every derived edge is a skip: the DARTS+ rule must fire at once.
    config = tiny_config(epochs=3, primitives=("none", "skip_connect"), early_stop_skips=2)
    result = search(config, small_digits, run_dir=tmp_path, progress=False)
    assert len(result.history) == 1 and result.history[0]["skip_normal"] == 4
    again = search(config, small_digits, run_dir=tmp_path, resume=True, progress=False)
    assert len(again.history) == 1
    assert len(search(config.replace(early_stop_skips=0), small_digits, run_dir=tmp_path / "off",
                      progress=False).history) == 3


def test_decisive_schedule_resumes_bit_exactly(tmp_path, small_digits):
    """Warm-up, Gumbel sampling and the temperature schedule all survive a Ctrl-C: the same bits."""
    config = tiny_config(epochs=3, warmup_epochs=1, sampling="gumbel", tau_max=10.0, tau_min=0.1, arch_lr=0.1)
    full = search(config, small_digits, run_dir=tmp_path / "full", progress=False)

    def ctrl_c(info):
        if info["epoch"] == 1 and info["step"] == 1:
            info["stop"]()

    with pytest.raises(KeyboardInterrupt):
        search(config, small_digits, run_dir=tmp_path / "cut", progress=False, callback=ctrl_c)
    resumed = search(config, small_digits, run_dir=tmp_path / "cut", resume=True, progress=False)
    a, b = _final_state(full), _final_state(resumed)
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert [h["tau"] for h in full.history] == pytest.approx([10.0, 5.05, 0.1])


def test_warmup_epochs_train_weights_only(tmp_path, small_digits):
    config = tiny_config(epochs=2, warmup_epochs=1, alpha_init_std=0.0)
    seen = []
    search(config, small_digits, run_dir=tmp_path, progress=False,
           callback=lambda info: seen.append((info["epoch"],
                                              info["model"].alphas["normal"].detach().abs().max().item())))
    assert all(m == 0.0 for epoch, m in seen if epoch == 0)   # no architecture step in the warm-up
    assert any(m > 0.0 for epoch, m in seen if epoch == 1)


def test_search_records_its_decision(tmp_path, small_digits):
    result = search(tiny_config(epochs=1), small_digits, run_dir=tmp_path, progress=False)
    row = result.history[-1]
    for kind in ("normal", "reduce"):
        assert row[f"kept_weight_{kind}"] == pytest.approx(result.decision[kind]["kept_weight"])
        assert 0 < row[f"entropy_ratio_{kind}"] <= 1
    assert result.decision["decided"] is False  # 4 steps at 3e-3 cannot move the alphas far from uniform


def test_gumbel_needs_first_order():
    from darts_lite.core.config import ConfigError
    with pytest.raises(ConfigError, match="order must be 1"):
        tiny_config(sampling="gumbel", order=2)


def test_budget_rule_spreads_the_travel_over_the_alpha_steps():
    from darts_lite.darts.search import arch_lr
    config = tiny_config(epochs=10, warmup_epochs=3, arch_travel=21.0)
    assert arch_lr(config, steps_per_epoch=6) == pytest.approx(21.0 / (7 * 6))
    assert arch_lr(tiny_config(arch_lr=1e-3), steps_per_epoch=6) == 1e-3  # no travel: arch_lr as given


def test_an_undecided_sampled_search_names_a_remedy_it_can_use(tmp_path, small_digits):
    from darts_lite.core.decision import UndecidedSearchWarning
    with pytest.warns(UndecidedSearchWarning, match="arch_travel"):
        search(tiny_config(epochs=1, sampling="gumbel", arch_lr=1e-4), small_digits, run_dir=tmp_path, progress=False)


def test_search_many_in_processes_gives_the_results_of_one_thread_in_sequence(tmp_path, small_digits, one_thread):
    from darts_lite.darts.search_many import search_many

    configs = [tiny_config(epochs=1, seed=0), tiny_config(epochs=1, seed=1).with_schedule("decisive")]
    with pytest.warns(UserWarning, match="search tiny"):  # a worker's warnings are raised here
        parallel = search_many(configs, small_digits, [tmp_path / "a", tmp_path / "b"], workers=2)
    with one_thread():  # what each worker runs on
        sequence = search_many(configs, small_digits, [tmp_path / "c", tmp_path / "d"], workers=1)
    assert [r.config for r in parallel] == configs
    for p, s in zip(parallel, sequence):
        assert p.genotype == s.genotype
        assert all(torch.equal(p.alphas[k], s.alphas[k]) for k in p.alphas)
        drop = lambda history: [{k: v for k, v in h.items() if k != "seconds"} for h in history]  # noqa: E731
        assert drop(p.history) == drop(s.history)
    assert (tmp_path / "b" / "search_checkpoint.pt").is_file()
    with pytest.raises(ValueError, match="one run_dir per config"):
        search_many(configs, small_digits, [tmp_path / "a"])
