"""Face SR / restoration training runs: the experiment config, its task, the run folder round trip and fine-tuning
from a release.

Face super-resolution: a thin layer over the shared core.

Two stages as in ESRGAN: ``fidelity`` (L1 only, no critic: ``n_critic = 0``) and ``gan`` (L1 + VGG perceptual +
LPIPS + a WGAN critic conditioned on the LR input, initialised from the fidelity model). The same code runs
``sr train`` and ``sr finetune``.

``scale = 1`` is blind face restoration: the input is the face at the working size after the random
Real-ESRGAN/GFPGAN degradation pipeline (:mod:`srgan_wgan.data.degradations`: blur, resize by 1-8 with a random
resizer, noise, JPEG, a second pass) and the generator (an SRResNet on a 4x pixel-unshuffled input) returns it
restored at the same size. ``pipeline`` turns the same random pipeline on for a fixed-scale model, so that it
works on LR made by any common resizer.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from srgan_wgan.archs import ConvCritic, CriticConfig, SRResNet, SRResNetConfig
from srgan_wgan.data.degradations import DegradationConfig
from srgan_wgan.data.faces import (
    Degradations,
    FaceCrops,
    FaceSRDataset,
    PairedAugment,
    face_folder_splits,
    load_face_crops,
)
from srgan_wgan.errors import ConfigError, UserError
from srgan_wgan.training import GANTrainConfig, GANTrainer
from srgan_wgan.training.sr_task import (
    SR_STAGES,
    SRLossWeights,
    SRTask,
    check_sr_stage_name,
    sr_critic_config,
    validate_sr_stage,
)
from srgan_wgan.training.sr_task import lr_recipe, pipeline_for, release_losses  # noqa: F401
from srgan_wgan.utils.device import resolve_device
from srgan_wgan.utils.seed import seed_everything

if TYPE_CHECKING:
    pass


log = logging.getLogger("srgan_wgan")


STAGES = SR_STAGES


@dataclass
class SRExperiment:
    """A face-SR training run; saved into the run folder and the release weights' metadata."""

    data: str
    scale: int = 8
    stage: str = "fidelity"
    hr_size: int = 128
    crop_fraction: float = 1.0
    extra_crop_fractions: tuple[float, ...] = ()
    val_fraction: float = 0.05
    num_feat: int = 64
    num_blocks: int = 12
    critic_channels: int = 64
    critic_max_channels: int = 512
    critic_norm: str = "none"
    losses: SRLossWeights = field(default_factory=SRLossWeights)
    init_from: str | None = None
    cache_dir: str | None = None
    degradations: Degradations | None = None
    pipeline: DegradationConfig | None = None
    train: GANTrainConfig = field(default_factory=lambda: GANTrainConfig(n_critic=0, batch_size=16, lr_g=2e-4,
                                                                           betas=(0.9, 0.99), ema_decay=0.999))

    def validate(self) -> None:
        """Check the config (nothing is read or written)."""
        check_sr_stage_name(self.stage)
        self.generator_config().validate()
        for f in (self.crop_fraction, *self.extra_crop_fractions):
            if not 0 < f <= 1:
                raise ConfigError(f"crop fractions must be in (0, 1], got {f}")
        if self.scale == 1 and (self.pipeline is None or self.hr_size % 4):
            raise ConfigError("restoration (scale 1) needs the degradation pipeline and an --hr-size divisible by 4")
        if self.pipeline is not None and self.degradations is not None:
            raise ConfigError("choose one LR degradation: the random pipeline or the light --degrade")
        if self.hr_size % self.scale or self.hr_size // self.scale < 4:
            raise ConfigError(f"--hr-size {self.hr_size} must be a multiple of the scale {self.scale} (>= 4 LR px)")
        validate_sr_stage(self.stage, self.train, self.critic_norm, self.critic_config())
        resolve_device(self.train.device)

    def generator_config(self) -> SRResNetConfig:
        return SRResNetConfig(scale=self.scale, num_feat=self.num_feat, num_blocks=self.num_blocks,
                              unshuffle=4 if self.scale == 1 else 1)

    def critic_config(self) -> CriticConfig:
        return sr_critic_config(self.hr_size, self.critic_channels, self.critic_max_channels, self.critic_norm)

    def load_data(self) -> tuple[FaceCrops, FaceCrops | None]:
        """Training and validation crops. Each ``extra_crop_fractions`` entry adds every training face again with
        that (tighter or looser) framing, so the model sees faces at several scales; validation keeps
        ``crop_fraction``."""
        train, val = face_folder_splits(self.data, self.hr_size, self.val_fraction, self.crop_fraction,
                                        self.cache_dir)
        if not self.extra_crop_fractions:
            return train, val
        files = [Path(f) for f in train.files]
        extra = [load_face_crops(files, self.hr_size, f, self.cache_dir) for f in self.extra_crop_fractions]
        return FaceCrops(torch.cat([train.images, *(e.images for e in extra)]),
                         train.files + [f for e in extra for f in e.files], train.skipped), val

    def build(self, run_dir: str | Path, data: tuple[FaceCrops, FaceCrops | None] | None = None,
              tensorboard: bool = True) -> GANTrainer:
        """Load the data (unless given), seed, build the models (from ``init_from`` if set) and the trainer."""
        self.validate()
        train, val = data or self.load_data()
        seed_everything(self.train.seed)
        G = SRResNet(self.generator_config())
        D = ConvCritic(self.critic_config()) if self.stage == "gan" else None
        if self.init_from:
            init_models(self.init_from, G, D)
        task = SRTask(self.scale, self.losses, asdict(self), val, degradations=self.degradations,
                      pipeline=self.pipeline)
        trainer = GANTrainer(G, D, task, FaceSRDataset(train, PairedAugment()), self.train, run_dir,
                             tensorboard=tensorboard)
        from srgan_wgan.training.runs import save_experiment

        save_experiment(run_dir, self)  # what `sr export` and export_run rebuild the models from
        return trainer


def init_models(source: str | Path, G: nn.Module, D: nn.Module | None) -> None:
    """Start from released weights: ``source`` is a folder with ``generator.safetensors`` (+ ``critic``)."""
    from srgan_wgan.io.weights import init_from_release
    from srgan_wgan.training.runs import release_generator_file

    g_file = release_generator_file(source)
    if not g_file.is_file():
        raise UserError(f"cannot initialise from {source}: no generator.safetensors")
    init_from_release(g_file, G, D)


def finetune_experiment(source: str | Path, data: str, steps: int, stage: str | None = None,
                        recipe: str | None = None, **train_overrides: Any) -> SRExperiment:
    """An :class:`SRExperiment` that continues from released weights (their scale, size, architecture and LR recipe:
    the one recorded in the weights, the full pipeline for a restoration model, or ``recipe`` when given:
    ``clean``, ``random-kernel``, ``pipeline``)."""
    from srgan_wgan.training.runs import read_release

    release = read_release(source, "SRResNet", "face SR generator")
    cfg, extra, ccfg = release.config, release.extra, release.critic_config
    stage = stage or extra.get("stage", "gan")
    critic_channels, critic_max_channels, critic_norm = 64, 512, "none"
    if ccfg:
        critic_channels, critic_max_channels, critic_norm = ccfg["base_channels"], ccfg["max_channels"], ccfg["norm"]
    gan = stage == "gan"
    fields: dict[str, Any] = {"batch_size": 16, "n_critic": 1 if gan else 0, "adv_weight": 0.005, "lr_g": 5e-5,
                              "lr_d": 5e-5, "betas": (0.0, 0.9) if gan else (0.9, 0.99), "ema_decay": 0.999}
    train = GANTrainConfig(steps=steps, **{**fields, **train_overrides})
    recipe = recipe or extra.get("lr_recipe", "pipeline" if cfg["scale"] == 1 else "clean")
    if recipe not in ("clean", "random-kernel", "pipeline"):
        raise UserError(f"LR recipe must be clean, random-kernel or pipeline, got {recipe!r}")
    return SRExperiment(
        data=data, scale=cfg["scale"], stage=stage, hr_size=int(extra.get("hr_size", 128)), num_feat=cfg["num_feat"],
        num_blocks=cfg["num_blocks"], critic_channels=critic_channels, critic_max_channels=critic_max_channels,
        critic_norm=critic_norm,
        losses=release_losses(extra, gan), init_from=str(release.g_file.parent),
        val_fraction=0.1, train=train, pipeline=pipeline_for(recipe, extra.get("pipeline")),
    )


def export_run(run_dir: str | Path, out_dir: str | Path) -> int:
    """Release weights from ``run_dir/resume.pt`` + ``experiment.json`` without building a trainer or loading data.

    Returns the checkpoint's step.
    """
    from srgan_wgan.training.runs import export_run_folder

    def build(exp: SRExperiment, extra: dict[str, Any]) -> tuple[nn.Module, nn.Module, dict[str, Any]]:
        meta = {**SRTask(exp.scale, exp.losses, asdict(exp)).release_extra(), "penalty": exp.train.penalty}
        return SRResNet(exp.generator_config()), ConvCritic(exp.critic_config()), meta  # as GANTrainer.export

    return export_run_folder(run_dir, out_dir, SRExperiment, "sr train", build)
