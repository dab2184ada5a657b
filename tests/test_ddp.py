"""Multi-process (torchrun, gloo on CPU) training: shares of the sampler, 2 x B/2 == 1 x B, rank-0-only files,
kill -9 then resume under torchrun, and the world-size check on resume."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from srgan_wgan.data.sampler import ResumableBatchSampler
from srgan_wgan.errors import UserError
from srgan_wgan.training.checkpoint import RESUME_FILE, load_resume_state

from test_engine import tiny
from test_face_sr import face_folder  # noqa: F401 (the synthetic face folder fixture)

DRIVER = str(Path(__file__).with_name("ddp_train.py"))


def _env() -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("RANK", None), env.pop("WORLD_SIZE", None)
    return env


def _torchrun(nproc: int, *args: str, **popen) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc), DRIVER,
           *args]
    return subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **popen)


def _kill_job(marker: str) -> None:
    """SIGKILL every process whose command line names ``marker``: torchrun's agent and its workers (which the
    agent starts in process groups of their own), as a crash or an out-of-memory kill would end them."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in cmd:
            try:
                os.kill(int(proc.name), signal.SIGKILL)
            except ProcessLookupError:
                pass


def _run(nproc: int, *args: str) -> None:
    proc = _torchrun(nproc, *args)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-3000:]


def _single(*args: str) -> None:
    """The same driver in one plain process (no torchrun), one thread like each torchrun rank."""
    out = subprocess.run([sys.executable, DRIVER, *args], env=_env(), capture_output=True, timeout=600)
    assert out.returncode == 0, out.stderr.decode()[-3000:]


@pytest.mark.parametrize("world", [2, 4])
def test_rank_shares_partition_the_global_batch_with_global_sample_seeds(world: int) -> None:
    one = ResumableBatchSampler(50, 8, seed=1)
    shares = [ResumableBatchSampler(50, 8, seed=1, rank=r, world_size=world) for r in range(world)]
    for k in (0, 5, 6, 13):  # 6 batches per epoch: across an epoch boundary too
        merged = [item for s in shares for item in s.batch(k)]
        assert merged == one.batch(k)  # disjoint, complete, same order and augmentation seeds
    it = iter(ResumableBatchSampler(50, 8, seed=1, rank=1, world_size=world, start_batch=3))
    assert next(it) == shares[1].batch(3)


def test_grouped_rank_shares_take_whole_groups() -> None:
    labels = torch.arange(60) % 6
    kw = dict(groups=(labels, 2), weights=torch.ones(60))
    one = ResumableBatchSampler(60, 8, seed=2, **kw).batch(4)  # 4 groups of 2; item j of group s at j * 4 + s
    shares = [ResumableBatchSampler(60, 8, seed=2, rank=r, world_size=2, **kw).batch(4) for r in range(2)]
    assert sorted(shares[0] + shares[1]) == sorted(one)
    for share in shares:  # local layout j * 2 + s: each local group is one class
        assert labels[share[0][0]] == labels[share[2][0]] and labels[share[1][0]] == labels[share[3][0]]
    with pytest.raises(ValueError, match="groups of a batch must divide"):
        ResumableBatchSampler(60, 6, seed=2, rank=0, world_size=2, **kw)  # 3 groups over 2 ranks
    with pytest.raises(ValueError, match="must divide by the number of processes"):
        ResumableBatchSampler(60, 9, seed=2, rank=0, world_size=2)


def test_two_processes_at_half_batch_match_one_process(tmp_path, face_folder) -> None:
    """Face SR fidelity stage, 6 steps: 2 processes x batch 4 vs 1 process x batch 8. Same samples, same
    augmentations; the only difference is the order of float sums (each rank's mean, then the average), so the
    weights agree within 1e-5 (measured: 6e-8). Both ranks hold identical weights, and rank 0 alone logs."""
    _run(2, "sr", str(tmp_path / "two" / "run"), "6", "8", "off", str(face_folder))
    _single("sr", str(tmp_path / "one" / "run"), "6", "8", "off", str(face_folder))
    r0, r1 = (torch.load(tmp_path / "two" / f"state_rank{r}.pt") for r in (0, 1))
    ref = torch.load(tmp_path / "one" / "state_rank0.pt")
    assert r0.keys() == r1.keys() == ref.keys()
    for k in r0:
        assert torch.equal(r0[k], r1[k]), f"{k}: the ranks drifted apart"
        torch.testing.assert_close(r0[k], ref[k], rtol=0, atol=1e-5, msg=f"{k}: 2 x B/2 differs from 1 x B")
    steps = [json.loads(line)["step"] for line in (tmp_path / "two" / "run" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]  # one writer: a second rank would duplicate every line
    assert int(load_resume_state(tmp_path / "two" / "run" / RESUME_FILE)["world_size"]) == 2


@pytest.mark.slow
def test_kill_9_under_torchrun_then_resume_is_bit_identical(tmp_path) -> None:
    """WGAN-GP on digits with 2 processes, checkpoint every step: SIGKILL the whole torchrun job (agent and
    ranks) at random moments, restart it, and compare the final models with an uninterrupted 2-process run."""
    steps, run = 40, tmp_path / "killed" / "run"
    rng = random.Random(0)
    reached = []
    for _ in range(3):  # three kills at random moments after some progress, then a run to the end
        path = run / RESUME_FILE
        before = path.stat().st_mtime_ns if path.exists() else None
        proc = _torchrun(2, "digits", str(run), str(steps), "16", "off")
        deadline = time.monotonic() + 180
        while proc.poll() is None and time.monotonic() < deadline and (
                (path.stat().st_mtime_ns if path.exists() else None) == before):
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.5))  # mid-step, mid-log or mid-checkpoint write
        assert proc.poll() is None, "the job ended before it could be killed; lengthen it"
        _kill_job(str(run))  # the agent and both ranks, no cleanup
        proc.communicate()
        time.sleep(0.5)  # let the kernel reap the workers before the next job starts
        reached.append(int(load_resume_state(path)["step"]))  # the checkpoint always loads
    assert 0 < reached[0] < reached[-1] < steps, reached
    _run(2, "digits", str(run), str(steps), "16", "off")
    assert int(load_resume_state(run / RESUME_FILE)["step"]) == steps
    _run(2, "digits", str(tmp_path / "full" / "run"), str(steps), "16", "off")
    for r in (0, 1):
        a = torch.load(tmp_path / "killed" / f"state_rank{r}.pt")
        b = torch.load(tmp_path / "full" / f"state_rank{r}.pt")
        for k in b:
            assert torch.equal(a[k], b[k]), f"rank {r}: {k} differs from the uninterrupted run"

    with pytest.raises(UserError, match=r"trained with 2 process\(es\) and is resumed with 1"):
        tiny(steps + 2, penalty="gp", amp="off").build(run, tensorboard=False).fit()
