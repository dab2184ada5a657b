"""Interrupted training: kill -9 at random points, disk full at checkpoint time, corrupt checkpoints."""

from __future__ import annotations

import errno
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
from srgan_wgan.apps.digits import DigitsExperiment
exp = DigitsExperiment(steps={steps}, batch_size=16, base_channels=8, z_dim=8, n_critic=2, penalty="gp",
                       extra_config={every})
exp.build(sys.argv[1], tensorboard=False).fit()
"""


@pytest.mark.slow
def test_kill_9_at_random_points_then_resume_is_bit_identical(tmp_path) -> None:
    steps = 12
    run = tmp_path / "killed"
    rng = random.Random(0)
    script = TRAIN_SCRIPT.format(steps=steps, every=EVERY_STEP)
    kills = 0
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", script, str(run)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        time.sleep(rng.uniform(1.5, 4.0))
        if proc.poll() is None:
            proc.kill()  # SIGKILL: no cleanup handlers run
            kills += 1
        proc.wait()
        if (run / RESUME_FILE).exists():
            state = load_resume_state(run / RESUME_FILE)  # never corrupt
            if state["step"] >= steps:
                break
    assert kills >= 2, "the runs finished before they could be killed; lengthen the run"
    resumed = tiny(steps, extra_config=EVERY_STEP).build(run, tensorboard=False)
    resumed.fit()
    reference = tiny(steps, extra_config=EVERY_STEP).build(tmp_path / "reference", tensorboard=False)
    reference.fit()
    assert resumed.step == reference.step == steps
    assert_bit_identical(all_state(resumed), all_state(reference))


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
