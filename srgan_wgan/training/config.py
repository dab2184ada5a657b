"""Training configuration (dataclasses) and its validation.

Validation happens before anything is built or written, so an impossible config fails with one clear line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from srgan_wgan.errors import ConfigError
from srgan_wgan.losses.penalties import get_penalty
from srgan_wgan.utils.precision import AMP_MODES

OPTIMIZERS: tuple[str, ...] = ("adam", "rmsprop")


@dataclass
class GANTrainConfig:
    """How a (conditional) Wasserstein GAN is trained; shared by both applications.

    ``steps`` counts generator steps; every generator step follows ``n_critic`` critic steps. With
    ``n_critic = 0`` no critic is trained and the generator is fitted to its supervised losses only (the
    fidelity stage of super-resolution).
    """

    steps: int = 1000
    batch_size: int = 64
    n_critic: int = 5
    penalty: str = "gp"
    penalty_weight: float | None = None
    penalty_every: int = 1
    clip_value: float = 0.01
    adv_weight: float = 1.0
    optimizer: str | None = None
    lr_g: float | None = None
    lr_d: float | None = None
    betas: tuple[float, float] = (0.0, 0.9)
    lr_schedule: str = "constant"
    lr_decay_start: int = 0
    lr_min_ratio: float = 0.01
    ema_decay: float = 0.999
    amp: str = "auto"
    seed: int = 0
    device: str = "auto"
    num_workers: int = 0
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 500
    max_bad_steps: int = 20
    channels_last: bool | None = None
    """NHWC models and batches; ``None`` = where it measures faster (CPU and CUDA)."""
    fused_optimizer: bool | None = None
    compile_generator: bool = False
    deterministic: bool = False
    diffaug: str = ""

    RETIRED_FIELDS: ClassVar[tuple[str, ...]] = ("drift", "extra", "aux_class_weight", "mode_seeking_weight")
    """Keys of earlier versions, dropped when an old run folder's config is read (the last two are the painting
    task's terms now: ``PaintExperiment.aux_class_weight`` / ``mode_seeking_weight``)."""

    # ---- resolved values -------------------------------------------------------------------------------
    @property
    def resolved_penalty_weight(self) -> float:
        if self.penalty_weight is not None:
            return float(self.penalty_weight)
        return get_penalty(self.penalty).default_weight

    def resolved_fused(self, device_type: str) -> bool:
        """Fused Adam/RMSProp kernels: on by default on CUDA."""
        return device_type == "cuda" if self.fused_optimizer is None else bool(self.fused_optimizer)

    @property
    def resolved_optimizer(self) -> str:
        if self.optimizer is not None:
            return self.optimizer
        return get_penalty(self.penalty).optimizer

    @property
    def resolved_lr_g(self) -> float:
        if self.lr_g is not None:
            return self.lr_g
        return 5e-5 if self.resolved_optimizer == "rmsprop" else 1e-4

    @property
    def resolved_lr_d(self) -> float:
        if self.lr_d is not None:
            return self.lr_d
        return 5e-5 if self.resolved_optimizer == "rmsprop" else 1e-4

    def lr_factor(self, step: int) -> float:
        """Learning-rate multiplier at generator step ``step``: 1, or a cosine from ``lr_decay_start`` to ``steps``
        down to ``lr_min_ratio`` (a pure function of the step, so resuming needs no scheduler state)."""
        if self.lr_schedule == "constant" or step < self.lr_decay_start:
            return 1.0
        span = max(1, self.steps - self.lr_decay_start)
        t = min(1.0, (step - self.lr_decay_start) / span)
        return self.lr_min_ratio + (1 - self.lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * t))

    def validate(self, critic_norm: str | None = None) -> None:
        """Raise :class:`ConfigError` on unknown names or impossible combinations."""
        if self.lr_schedule not in ("constant", "cosine"):
            raise ConfigError(f"unknown lr schedule {self.lr_schedule!r}; choose constant or cosine")
        spec = get_penalty(self.penalty)
        if self.amp not in AMP_MODES:
            raise ConfigError(f"unknown amp mode {self.amp!r}; choose one of {', '.join(AMP_MODES)}")
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if spec.check is not None:
            spec.check(self)
        if critic_norm == "batch" and spec.per_sample:
            raise ConfigError(
                f"a BatchNorm critic cannot be trained with the per-sample penalty {self.penalty!r} "
                "(batch statistics couple the samples); use critic norm 'layer', 'group' or 'none'"
            )
        if self.penalty_weight is not None and self.penalty_weight < 0:
            raise ConfigError(f"penalty weight must be >= 0, got {self.penalty_weight}")
        for name in ("steps", "batch_size", "penalty_every", "log_every", "sample_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.replace('_', ' ')} must be >= 1, got {getattr(self, name)}")
        if self.n_critic < 0:
            raise ConfigError(f"n_critic must be >= 0, got {self.n_critic}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"ema decay must be in [0, 1), got {self.ema_decay}")
        from srgan_wgan.training.diffaug import parse_policy

        parse_policy(self.diffaug)
        if self.num_workers < 0:
            raise ConfigError(f"num_workers must be >= 0, got {self.num_workers}")
