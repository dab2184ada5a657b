"""Training engine: bit-reproducible CPU runs (fp32 and bf16 autocast), exact resume, NaN handling, run-folder
outputs, config errors."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from srgan_wgan import ConfigError, GANTrainConfig, load_pretrained
from srgan_wgan.apps.digits import DigitsExperiment
from srgan_wgan.training.checkpoint import RESUME_FILE


def tiny(steps: int, **kw) -> DigitsExperiment:
    return DigitsExperiment(steps=steps, batch_size=16, base_channels=8, z_dim=8, n_critic=2, **kw)


def all_state(trainer) -> dict[str, torch.Tensor]:
    out = {}
    for name, module in (("G", trainer.G), ("D", trainer.D), ("E", trainer.G_ema)):
        out.update({f"{name}.{k}": v for k, v in module.state_dict().items()})
    for name, opt in (("og", trainer.opt_g), ("od", trainer.opt_d)):
        for pid, st in opt.state_dict()["state"].items():
            out.update({f"{name}.{pid}.{k}": v for k, v in st.items() if torch.is_tensor(v)})
    return out


def assert_bit_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs"


@pytest.mark.parametrize("amp", ["off", "bf16"])
@pytest.mark.parametrize("penalty", ["gp", "r1", "clip"])
def test_resume_is_bit_identical_to_uninterrupted_run(tmp_path, penalty: str, amp: str) -> None:
    """Also under bf16 autocast on CPU (oneDNN's bf16 kernels are deterministic for a fixed thread count)."""
    n = 4
    full = tiny(2 * n, penalty=penalty, amp=amp).build(tmp_path / "full", tensorboard=False)
    full.fit()
    assert full.precision.name == ("fp32" if amp == "off" else "bf16")
    first = tiny(n, penalty=penalty, amp=amp).build(tmp_path / "split", tensorboard=False)
    first.fit()
    assert (tmp_path / "split" / RESUME_FILE).exists()
    del first
    torch.manual_seed(12345)  # a resumed process starts with unrelated global RNG state
    resumed = tiny(2 * n, penalty=penalty, amp=amp).build(tmp_path / "split", tensorboard=False)
    resumed.fit()
    assert resumed.step == full.step == 2 * n
    assert_bit_identical(all_state(resumed), all_state(full))
    steps = [json.loads(line)["step"] for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 2 * n


@pytest.mark.parametrize("amp", ["off", "bf16"])
def test_same_seed_same_weights_other_seed_differs(tmp_path, amp: str) -> None:
    a = tiny(3, seed=7, amp=amp).build(tmp_path / "a", tensorboard=False)
    a.fit()
    b = tiny(3, seed=7, amp=amp).build(tmp_path / "b", tensorboard=False)
    b.fit()
    c = tiny(3, seed=8, amp=amp).build(tmp_path / "c", tensorboard=False)
    c.fit()
    assert_bit_identical(all_state(a), all_state(b))
    assert any(not torch.equal(x, y) for x, y in zip(a.G.parameters(), c.G.parameters()))


def test_non_finite_loss_is_skipped_and_training_continues(tmp_path, caplog) -> None:
    trainer = tiny(4).build(tmp_path / "nan", tensorboard=False)
    calls = {"n": 0}

    def inject(kind: str, loss: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        return loss * float("nan") if calls["n"] == 3 else loss

    trainer.fault_hook = inject
    trainer.fit(steps=2)
    before = {k: v.clone() for k, v in trainer.D.state_dict().items()}
    with caplog.at_level(logging.WARNING, logger="srgan_wgan"):
        trainer.fit(steps=4)
    assert trainer.step == 4 and trainer.skipped_steps == 1
    assert "non-finite" in caplog.text
    assert all(torch.isfinite(v).all() for v in trainer.G.state_dict().values())
    assert all(torch.isfinite(v).all() for v in trainer.D.state_dict().values())
    assert any(not torch.equal(before[k], v) for k, v in trainer.D.state_dict().items())


def test_repeated_faults_stop_with_a_clear_error(tmp_path) -> None:
    trainer = tiny(50).build(tmp_path / "nan", tensorboard=False)
    trainer.config.max_bad_steps = 3
    trainer.fault_hook = lambda kind, loss: loss * float("inf")
    with pytest.raises(FloatingPointError, match="resume from the last checkpoint"):
        trainer.fit()


def test_run_folder_outputs_and_export(tmp_path) -> None:
    trainer = tiny(4).build(tmp_path / "run", tensorboard=True)
    trainer.fit()
    run = tmp_path / "run"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 4 and "critic/loss_penalised" in records[-1]
    assert (run / "loss_curve.png").stat().st_size > 0
    assert list((run / "samples").glob("step_*.png"))
    assert list((run / "tb").glob("events.*"))
    out = trainer.export()
    G = load_pretrained(out / "generator.safetensors", expected_arch="CondGenerator")
    assert G.weights_metadata["extra"]["ema"] is True
    for k, v in trainer.G_ema.state_dict().items():
        assert torch.equal(G.state_dict()[k], v)
    D = load_pretrained(out / "critic.safetensors", expected_arch="ConvCritic")
    assert D.config.cond == "class"
    # fine-tuning files are stored in fp16 (half the size) and load back into fp32 modules
    from safetensors.torch import load_file

    assert all(v.dtype == torch.float16 for v in load_file(out / "critic.safetensors").values() if v.is_floating_point())
    assert D.weights_metadata["extra"]["stored_dtype"] == "float16"
    for k, v in trainer.D.state_dict().items():
        assert D.state_dict()[k].dtype == v.dtype
        torch.testing.assert_close(D.state_dict()[k], v.cpu().half().float(), rtol=0, atol=0)
    raw = (out / "generator_raw.safetensors").stat().st_size
    assert raw < 0.6 * (out / "generator.safetensors").stat().st_size


@pytest.mark.parametrize(
    ("fields", "norm", "message"),
    [
        ({"penalty": "wgan"}, None, "unknown penalty"),
        ({"penalty": "clip", "penalty_weight": 10.0}, None, "takes no penalty weight"),
        ({"penalty": "gp"}, "batch", "BatchNorm"),
        ({"penalty": "r1"}, "batch", "BatchNorm"),
        ({"amp": "fp8"}, None, "unknown amp"),
        ({"steps": 0}, None, "steps must be"),
        ({"penalty_weight": -1.0}, None, "must be >= 0"),
        ({"ema_decay": 1.0}, None, "ema decay"),
    ],
)
def test_impossible_configs_are_rejected(fields, norm, message) -> None:
    with pytest.raises(ConfigError, match=message):
        GANTrainConfig(**fields).validate(critic_norm=norm)


def test_clip_with_batchnorm_is_allowed_and_defaults_follow_the_papers() -> None:
    clip = GANTrainConfig(penalty="clip")
    clip.validate(critic_norm="batch")
    assert clip.resolved_optimizer == "rmsprop" and clip.resolved_lr_d == 5e-5
    gp = GANTrainConfig()
    assert (gp.resolved_optimizer, gp.resolved_lr_d, gp.betas, gp.resolved_penalty_weight, gp.n_critic) == (
        "adam", 1e-4, (0.0, 0.9), 10.0, 5)


def test_class_balanced_sampler_is_balanced_and_resumable() -> None:
    from srgan_wgan.data.sampler import ResumableBatchSampler

    labels = torch.tensor([0] * 90 + [1] * 10)
    counts = torch.bincount(labels).double()
    s = ResumableBatchSampler(100, 20, seed=3, weights=1.0 / counts[labels])
    it = iter(s)
    drawn = torch.tensor([i for _ in range(50) for i, _ in next(it)])
    share = (labels[drawn] == 1).double().mean().item()
    assert 0.45 < share < 0.55  # uniform sampling would give 0.10
    resumed = iter(ResumableBatchSampler(100, 20, seed=3, start_batch=7, weights=1.0 / counts[labels]))
    assert next(resumed) == s.batch(7)


def test_grouped_sampler_lays_out_same_class_groups_for_minibatch_stddev() -> None:
    """``groups=(labels, G)``: position ``j * (B / G) + s`` of every batch holds item ``j`` of group ``s``, one class
    per group, distinct classes within a batch, classes balanced by the item weights; so the critic's minibatch
    stddev (which groups sample ``i`` with ``i mod (B / G)``) sees only the spread within a class."""
    from srgan_wgan.archs.critic import minibatch_stddev
    from srgan_wgan.data.sampler import ResumableBatchSampler

    labels = torch.tensor([0] * 60 + [1] * 25 + [2] * 10 + [3] * 5)
    counts = torch.bincount(labels).double()
    s = ResumableBatchSampler(100, 12, seed=5, weights=1.0 / counts[labels], groups=(labels, 4))
    it = iter(s)
    drawn = []
    for k in range(60):
        batch = next(it)
        assert batch == s.batch(k)
        lab = labels[[i for i, _ in batch]].reshape(4, 3)  # (member j, group s)
        assert (lab == lab[0]).all(), lab  # one class per group
        assert len(set(lab[0].tolist())) == 3  # distinct classes while there are enough
        drawn += lab.flatten().tolist()
        x = lab.flatten().double().reshape(12, 1, 1, 1).expand(12, 2, 2, 2)  # a class-constant "feature"
        assert minibatch_stddev(x, 4).abs().max() < 1e-3  # no spread within a class: zero
    share = torch.bincount(torch.tensor(drawn), minlength=4).double() / len(drawn)
    assert (share - 0.25).abs().max() < 0.05, share  # uniform sampling would give 0.60 / 0.25 / 0.10 / 0.05
    assert next(iter(ResumableBatchSampler(100, 12, seed=5, start_batch=9, weights=1.0 / counts[labels],
                                           groups=(labels, 4)))) == s.batch(9)
    plain = ResumableBatchSampler(100, 12, seed=5, weights=1.0 / counts[labels])
    mixed = labels[[i for i, _ in plain.batch(0)]].double().reshape(12, 1, 1, 1).expand(12, 2, 2, 2)
    assert minibatch_stddev(mixed, 4).abs().max() > 0.1  # the ungrouped layout mixes classes in a group
    with pytest.raises(ValueError, match="divide"):
        ResumableBatchSampler(100, 10, seed=0, groups=(labels, 4))
    with pytest.raises(ValueError, match="one label per item"):
        ResumableBatchSampler(99, 12, seed=0, groups=(labels, 4))


def test_cosine_lr_schedule_is_a_function_of_the_step(tmp_path) -> None:
    cfg = GANTrainConfig(steps=100, lr_schedule="cosine", lr_decay_start=50, lr_min_ratio=0.1)
    assert cfg.lr_factor(0) == cfg.lr_factor(50) == 1.0
    assert cfg.lr_factor(75) == pytest.approx(0.55)
    assert cfg.lr_factor(100) == pytest.approx(0.1) and cfg.lr_factor(150) == pytest.approx(0.1)
    with pytest.raises(ConfigError, match="lr schedule"):
        GANTrainConfig(lr_schedule="step").validate()
    exp = tiny(4)
    exp.extra_config = {"lr_schedule": "cosine", "lr_decay_start": 2}
    trainer = exp.build(tmp_path / "run", tensorboard=False)
    trainer.fit()
    assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(1e-4 * trainer.config.lr_factor(3))


@pytest.mark.gpu
@pytest.mark.parametrize("amp", ["off", "bf16"])
def test_cuda_deterministic_mode_repeats_a_run(tmp_path, amp: str) -> None:
    """On CUDA, ``deterministic=True`` makes two runs with one seed agree (tolerance for reduction order)."""
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    runs = []
    for name in ("a", "b"):
        t = tiny(6, seed=3, device="cuda", amp=amp, extra_config={"deterministic": True}).build(tmp_path / name)
        t.fit()
        runs.append({k: v.float().cpu() for k, v in all_state(t).items()})
    assert runs[0].keys() == runs[1].keys()
    for k in runs[0]:
        torch.testing.assert_close(runs[0][k], runs[1][k], rtol=1e-5, atol=1e-6, msg=f"{k} differs")
    assert torch.are_deterministic_algorithms_enabled()


@pytest.fixture(autouse=True)
def _restore_determinism_flags():
    """``deterministic=True`` sets process-wide torch flags; put them back after each test."""
    yield
    from srgan_wgan.utils.seed import enable_determinism

    if torch.are_deterministic_algorithms_enabled():
        enable_determinism(False)


def test_enable_determinism_false_restores_the_previous_flags() -> None:
    from srgan_wgan.utils.seed import enable_determinism

    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.backends.cudnn.benchmark)
    torch.backends.cuda.matmul.allow_tf32 = True  # e.g. a user who turned TF32 on
    try:
        enable_determinism(True)
        assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
        assert torch.are_deterministic_algorithms_enabled() and not torch.backends.cudnn.benchmark
        enable_determinism(False)
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32 == before[1]
        assert torch.backends.cudnn.benchmark == before[2] and not torch.are_deterministic_algorithms_enabled()
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before[0]


def test_deterministic_flag_sets_torch_and_leaves_cpu_math_unchanged(tmp_path) -> None:
    plain = tiny(3, seed=5).build(tmp_path / "plain", tensorboard=False)
    plain.fit()
    assert not torch.are_deterministic_algorithms_enabled()
    det = tiny(3, seed=5, extra_config={"deterministic": True}).build(tmp_path / "det", tensorboard=False)
    assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic
    det.fit()
    assert_bit_identical(all_state(det), all_state(plain))


def test_bf16_training_really_runs_in_bf16_and_differs_from_fp32(tmp_path) -> None:
    """bf16 mode is not a silent fp32 run: the weights after a few steps differ from fp32's (slightly)."""
    a = tiny(3, amp="off").build(tmp_path / "fp32", tensorboard=False)
    a.fit()
    b = tiny(3, amp="bf16").build(tmp_path / "bf16", tensorboard=False)
    b.fit()
    diffs = [(x - y).abs().max().item() for x, y in zip(a.G.parameters(), b.G.parameters())]
    assert max(diffs) > 0
    assert max(diffs) < 0.05  # three Adam steps at lr 2e-4 move a weight by at most ~6e-4 each


def test_amp_auto_on_cpu_follows_the_cpu_flags(monkeypatch) -> None:
    from srgan_wgan.utils import precision

    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_bf16_support", lambda: (True, "amx_bf16"))
    p = precision.resolve_amp("auto", cpu)
    assert p.dtype == torch.bfloat16 and "amx_bf16" in p.reason
    assert precision.inference_precision(cpu).dtype == torch.bfloat16
    assert precision.inference_precision(cpu, fp32=True).dtype is None
    monkeypatch.setattr(precision, "cpu_bf16_support", lambda: (False, "the CPU has neither AMX nor AVX512-BF16"))
    assert precision.resolve_amp("auto", cpu).dtype is None
    assert precision.inference_precision(cpu).dtype is None
    assert precision.resolve_amp("off", cpu).dtype is None


def test_fp16_on_cpu_is_a_one_line_error_and_slow_bf16_warns(tmp_path, monkeypatch, caplog) -> None:
    from srgan_wgan.utils import precision

    with pytest.raises(ConfigError, match="fp16 is not supported on CPU") as info:
        tiny(1, amp="fp16").build(tmp_path / "fp16", tensorboard=False)
    assert "\n" not in str(info.value)
    monkeypatch.setattr(precision, "cpu_bf16_support", lambda: (False, "the CPU has neither AMX nor AVX512-BF16"))
    with caplog.at_level(logging.WARNING, logger="srgan_wgan"):
        p = precision.resolve_amp("bf16", torch.device("cpu"))
    assert p.dtype == torch.bfloat16
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "slower than fp32" in warnings[0] and "\n" not in warnings[0]


def test_channels_last_is_the_default_and_does_not_change_fp32_results_much(tmp_path) -> None:
    a = tiny(2).build(tmp_path / "cl", tensorboard=False)
    assert a.channels_last
    assert next(p for p in a.G.parameters() if p.dim() == 4).is_contiguous(memory_format=torch.channels_last)
    a.fit()
    b = tiny(2, extra_config={"channels_last": False}).build(tmp_path / "nchw", tensorboard=False)
    assert not b.channels_last
    b.fit()
    for x, y in zip(a.G.parameters(), b.G.parameters()):
        torch.testing.assert_close(x, y, rtol=1e-3, atol=1e-4)
