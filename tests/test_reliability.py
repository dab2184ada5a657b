"""Interrupted training: kill -9 at random points, disk full at checkpoint time, corrupt checkpoints."""

from __future__ import annotations

import errno
import logging
import random
import subprocess
import sys
import time

import pytest
import torch

from srgan_wgan.errors import UserError
from srgan_wgan.training.checkpoint import RESUME_FILE, load_resume_state, save_resume_state

from test_engine import all_state, assert_bit_identical, tiny

EVERY_STEP = {"checkpoint_every": 1, "log_every": 1}

TRAIN_SCRIPT = """
import sys
import torch
torch.set_num_threads(int(sys.argv[2]))  # the parent's count: CPU float reductions depend on it
from srgan_wgan.apps.digits import DigitsExperiment
exp = DigitsExperiment(steps={steps}, batch_size=16, base_channels=8, z_dim=8, n_critic=2, penalty="gp",
                       amp="{amp}", extra_config={every})
exp.build(sys.argv[1], tensorboard=False).fit()
"""


def _checkpoint_step(run) -> int:
    """The step of the run's checkpoint (0 when there is none); a checkpoint that exists must load."""
    path = run / RESUME_FILE
    return int(load_resume_state(path)["step"]) if path.exists() else 0


def _checkpoint_mtime(run) -> int | None:
    """When the run's checkpoint was last replaced (a cheap poll: no load while the trainer runs)."""
    path = run / RESUME_FILE
    return path.stat().st_mtime_ns if path.exists() else None


@pytest.mark.slow
@pytest.mark.parametrize("amp", ["off", "bf16"])
def test_kill_9_at_random_points_then_resume_is_bit_identical(tmp_path, amp: str) -> None:
    """SIGKILL each training process at a random moment after it has made progress (mid-step, mid-log or
    mid-checkpoint write), restart it, and check the final state equals an uninterrupted run's, bit for bit
    (in fp32 and in bf16 autocast)."""
    steps = 12
    run = tmp_path / "killed"
    rng = random.Random(0)
    script = TRAIN_SCRIPT.format(steps=steps, every=EVERY_STEP, amp=amp)
    threads = str(torch.get_num_threads())
    kills, resumed_from = 0, []
    for _ in range(10):
        resumed_from.append(_checkpoint_step(run))
        written = _checkpoint_mtime(run)
        proc = subprocess.Popen([sys.executable, "-c", script, str(run), threads], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while proc.poll() is None and _checkpoint_mtime(run) == written and time.monotonic() < deadline:
            time.sleep(0.02)  # wait until this process has checkpointed one step beyond where it started
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is None:
            proc.kill()  # SIGKILL: no cleanup handlers run
            kills += 1
        _, err = proc.communicate()
        assert proc.returncode in (0, -9), err.decode()[-2000:]
        if _checkpoint_step(run) >= steps:  # never corrupt, whenever the kill landed
            break
    assert kills >= 2, "the runs finished before they could be killed; lengthen the run"
    assert any(0 < s < steps for s in resumed_from), "no process resumed from a mid-run checkpoint"
    resumed = tiny(steps, amp=amp, extra_config=EVERY_STEP).build(run, tensorboard=False)
    resumed.fit()
    reference = tiny(steps, amp=amp, extra_config=EVERY_STEP).build(tmp_path / "reference", tensorboard=False)
    reference.fit()
    assert resumed.step == reference.step == steps
    assert_bit_identical(all_state(resumed), all_state(reference))


def test_resume_with_another_cpu_thread_count_warns(tmp_path, caplog) -> None:
    threads = torch.get_num_threads()
    tiny(2).build(tmp_path / "run", tensorboard=False).fit()
    torch.set_num_threads(threads + 1)
    try:
        with caplog.at_level(logging.WARNING, logger="srgan_wgan"):
            tiny(3).build(tmp_path / "run", tensorboard=False).fit()
    finally:
        torch.set_num_threads(threads)
    assert f"written with {threads} CPU threads, resuming with {threads + 1}" in caplog.text


def test_disk_full_at_checkpoint_keeps_the_previous_checkpoint(tmp_path, monkeypatch) -> None:
    trainer = tiny(2).build(tmp_path / "run", tensorboard=False)
    trainer.fit()
    path = tmp_path / "run" / RESUME_FILE
    before = path.read_bytes()

    def full_disk(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(UserError, match="No space left on device.*previous checkpoint kept"):
        trainer.fit(steps=3)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert load_resume_state(path)["step"] == 2


def test_corrupt_or_truncated_checkpoint_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / RESUME_FILE
    save_resume_state({"step": 1, "x": torch.ones(1000)}, path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(UserError, match="corrupt or incompatible checkpoint"):
        load_resume_state(path)
    with pytest.raises(UserError, match="no checkpoint"):
        load_resume_state(tmp_path / "missing.pt")
