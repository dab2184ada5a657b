"""The image-to-image SR task every SR application trains with (faces, restoration, whole photos): HR crops in,
their LR made on the fly, L1 + VGG perceptual + LPIPS for the generator, the critic conditioned on the LR."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from srgan_wgan.data.degradations import DegradationConfig, degrade_batch
from srgan_wgan.data.faces import Degradations, FaceCrops, bicubic_upscale, degrade_lr, make_lr
from srgan_wgan.archs import CriticConfig
from srgan_wgan.errors import ConfigError
from srgan_wgan.training.tasks import GANTask


@dataclass
class SRLossWeights:
    """Weights of the generator's loss terms (the adversarial weight is ``GANTrainConfig.adv_weight``)."""

    l1: float = 1.0
    perceptual: float = 0.0
    lpips: float = 0.0


def _layout(x: torch.Tensor) -> torch.memory_format:
    """The memory format of a batch, so that frozen loss networks match the trainer's (no per-call reorders)."""
    return torch.channels_last if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) \
        and not x.is_contiguous() else torch.contiguous_format


class SRTask(GANTask):
    """Batches are HR crops; the condition is their LR (bicubic, light degradations or the random pipeline); the
    generator maps LR to SR. ``name`` is the release's task (``face_sr``, ``face_restore``, ``photo_sr``); by default
    ``face_restore`` at scale 1 and ``face_sr`` otherwise."""

    def __init__(self, scale: int, weights: SRLossWeights, experiment: dict[str, Any],
                 val: FaceCrops | None = None, grid_size: int = 8, degradations: Degradations | None = None,
                 pipeline: DegradationConfig | None = None, name: str | None = None) -> None:
        self.scale = scale
        self.name = name or ("face_restore" if scale == 1 else "face_sr")
        self.degradations = degradations
        self.pipeline = pipeline
        self.weights = weights
        self.experiment = experiment
        self._vgg_losses: nn.Module | None = None
        self.val_hr = val.images[:grid_size].float() / 255 if val is not None else None

    def prepare(self, batch: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        hr, seeds = batch if isinstance(batch, (tuple, list)) else (batch, None)
        if self.pipeline is not None and seeds is not None:  # numpy/OpenCV pipeline on the CPU copy
            size = (hr.shape[-2] // self.scale, hr.shape[-1] // self.scale)
            lr, hr = degrade_batch(hr, seeds, size, self.pipeline)
            return hr.to(device, non_blocking=True), lr.to(device, non_blocking=True)
        hr = hr.to(device, non_blocking=True)
        if self.degradations is not None and seeds is not None:
            return hr, degrade_lr(hr, self.scale, seeds, self.degradations)
        return hr, make_lr(hr, self.scale)

    def generate(self, generator: nn.Module, real: torch.Tensor, cond: torch.Tensor | None,
                 noise: torch.Generator) -> torch.Tensor:
        return generator(cond)

    def generator_losses(self, fake: torch.Tensor, real: torch.Tensor, cond: torch.Tensor | None
                         ) -> dict[str, torch.Tensor]:
        w = self.weights
        terms: dict[str, torch.Tensor] = {}
        if w.l1 > 0:
            terms["gen/l1"] = w.l1 * F.l1_loss(fake.float(), real.float())
        if w.perceptual > 0 or w.lpips > 0:
            if self._vgg_losses is None:  # one VGG16 pass per image serves both terms
                from srgan_wgan.losses.perceptual import VGGFeatureLosses

                self._vgg_losses = VGGFeatureLosses(perceptual=w.perceptual > 0, lpips=w.lpips > 0).to(
                    fake.device, memory_format=_layout(fake))
            perceptual, distance = self._vgg_losses(fake, real)
            if perceptual is not None:
                terms["gen/perceptual"] = w.perceptual * perceptual
            if distance is not None:
                terms["gen/lpips"] = w.lpips * distance.mean()
        return terms

    @torch.no_grad()
    def samples(self, generator: nn.Module, device: torch.device) -> torch.Tensor | None:
        """Rows of (bicubic, SR, HR) on fixed validation faces, in ``[-1, 1]`` for the grid writer."""
        if self.val_hr is None:
            return None
        hr = self.val_hr.to(device)
        lr = self.validation_lr(hr)
        was = generator.training
        generator.eval()
        sr = generator(lr).clamp(0, 1)
        generator.train(was)
        grid = torch.stack([bicubic_upscale(lr, self.scale), sr, hr], 1).flatten(0, 1)
        return grid * 2 - 1

    def validation_lr(self, hr: torch.Tensor) -> torch.Tensor:
        """The inputs of the fixed validation faces: clean bicubic, or the pipeline with fixed seeds 0, 1, ..."""
        if self.pipeline is None:
            return make_lr(hr, self.scale)
        size = (hr.shape[-2] // self.scale, hr.shape[-1] // self.scale)
        return degrade_batch(hr, list(range(hr.shape[0])), size, self.pipeline)[0]

    def release_extra(self) -> dict[str, Any]:
        extra = {"task": self.name, "scale": self.scale,
                 "stage": self.experiment["stage"], "hr_size": self.experiment["hr_size"], "value_range": [0, 1]}
        recipe = lr_recipe(self.experiment)
        if recipe != "clean":  # what the weights were trained on; `sr finetune` continues with it
            extra["lr_recipe"] = recipe
        if recipe == "pipeline":  # its exact ranges (a preset, a clean share)
            extra["pipeline"] = dict(self.experiment["pipeline"])
        if self.experiment["stage"] == "gan":
            extra["losses"] = asdict(self.weights)
        return extra


def release_losses(extra: dict[str, Any], gan: bool) -> SRLossWeights:
    """The loss weights to fine-tune a release with: its own for a GAN release (``extra["losses"]``), else L1 +
    perceptual 0.1 + LPIPS 0.1 for the GAN stage and L1 alone for the fidelity stage."""
    if gan and extra.get("stage") == "gan" and extra.get("losses"):
        return SRLossWeights(**{k: float(v) for k, v in extra["losses"].items()})
    return SRLossWeights(1.0, 0.1 if gan else 0.0, 0.1 if gan else 0.0)


def lr_recipe(experiment: dict[str, Any]) -> str:
    """How an experiment (as a dict) made its LR: ``clean``, ``degrade``, ``random-kernel`` or ``pipeline``."""
    pipe = experiment.get("pipeline")
    if pipe:
        from srgan_wgan.utils.config_io import from_dict

        pipe = pipe if isinstance(pipe, DegradationConfig) else from_dict(DegradationConfig, dict(pipe), "pipeline")
        return "random-kernel" if pipe == DegradationConfig.random_kernel() else "pipeline"
    return "degrade" if experiment.get("degradations") else "clean"


def pipeline_for(recipe: str, stored: dict[str, Any] | None = None) -> DegradationConfig | None:
    """The LR pipeline of a recipe named by :func:`lr_recipe` (``None`` for clean and degrade); ``stored``: a
    release's own pipeline ranges (``extra["pipeline"]``), used for ``pipeline`` instead of the defaults."""
    if recipe == "pipeline" and stored:
        from srgan_wgan.utils.config_io import from_dict

        return from_dict(DegradationConfig, dict(stored), "pipeline")
    return {"pipeline": DegradationConfig(), "random-kernel": DegradationConfig.random_kernel()}.get(recipe)


SR_STAGES: tuple[str, ...] = ("fidelity", "gan")


def sr_critic_config(hr_size: int, base_channels: int, max_channels: int, norm: str) -> CriticConfig:
    """The critic of every SR application: it scores an HR image beside its (upsampled) LR input."""
    return CriticConfig(in_channels=3, resolution=hr_size, base_channels=base_channels, max_channels=max_channels,
                        min_resolution=4, cond="image", cond_channels=3, norm=norm)


def check_sr_stage_name(stage: str) -> None:
    """:class:`ConfigError` unless ``stage`` is ``fidelity`` or ``gan``."""
    if stage not in SR_STAGES:
        raise ConfigError(f"unknown stage {stage!r}; choose one of {', '.join(SR_STAGES)}")


def validate_sr_stage(stage: str, train: Any, critic_norm: str, critic: CriticConfig) -> None:
    """The stage checks every SR experiment ends with: a critic only in the gan stage, the engine config."""
    if stage == "gan" and train.n_critic < 1:
        raise ConfigError("the gan stage needs n_critic >= 1")
    if stage == "fidelity" and train.n_critic:
        raise ConfigError("the fidelity stage trains no critic: n_critic must be 0")
    train.validate(critic_norm=critic_norm if stage == "gan" else None)
    if stage == "gan":
        critic.validate()
