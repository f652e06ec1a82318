"""Ctrl-C under torchrun: a SIGINT to the launcher of a 2-process gloo search leaves a checkpoint, and
`--resume` continues from it to the same alphas as a run that was never interrupted.

torchrun forwards the SIGINT to its workers; each finishes the step in flight, the processes agree
to stop after the same step (`distributed.any_process`), rank 0 writes the checkpoint.

Two epochs suffice: the SIGINT follows the first epoch's checkpoint within a poll, a whole epoch before the end,
and the resumed run finishes an epoch begun before the interruption.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

EPOCHS = 2
ARGS = ["search", "--dataset", "digits", "--image-size", "8", "--layers", "3", "--channels", "4", "--nodes", "2",
        "--multiplier", "2", "--epochs", str(EPOCHS), "--batch-size", "32", "--device", "cpu", "--seed", "1"]


def torchrun(out: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "darts_lite", *ARGS, "--name", out.name, "--out", str(out), *extra]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    try:
        return proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise


@pytest.mark.slow
def test_sigint_to_the_launcher_leaves_a_checkpoint_that_resumes_to_the_same_alphas(tmp_path):
    # the uninterrupted run and the one to interrupt side by side: their start-up (imports) overlaps
    full, cut_dir = torchrun(tmp_path / "full"), tmp_path / "cut"
    cut = torchrun(cut_dir)
    checkpoint = cut_dir / "search_checkpoint.pt"
    deadline = time.monotonic() + 240
    while not checkpoint.exists():  # the first epoch is done: the loop is running
        assert cut.poll() is None, finish(cut)
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.2)
    cut.send_signal(signal.SIGINT)  # to the launcher only, as a Ctrl-C in its terminal reaches it first
    log = finish(cut)
    assert cut.returncode != 0, log
    assert "interrupted at epoch" in log and "checkpoint saved" in log, log
    saved = torch.load(checkpoint, weights_only=False)["state"]
    assert saved["epoch"] < EPOCHS and not (cut_dir / "alphas.pt").exists()  # it stopped before the end
    log = finish(full)
    assert full.returncode == 0, log
    reference = torch.load(tmp_path / "full" / "alphas.pt", weights_only=False)["alphas"]

    resumed = torchrun(cut_dir, "--resume")
    log = finish(resumed)
    assert resumed.returncode == 0, log
    assert "resuming" in log, log
    alphas = torch.load(cut_dir / "alphas.pt", weights_only=False)["alphas"]
    for kind in reference:
        assert torch.equal(alphas[kind], reference[kind]), kind
