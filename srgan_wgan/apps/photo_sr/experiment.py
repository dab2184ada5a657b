"""Whole-photo SR training runs (the role Real-ESRGAN plays): a compact network trained on random patches of
natural photos, in the two stages of the face models: ``fidelity`` (L1 on clean bicubic LR, the benchmark model)
and ``gan`` (L1 + VGG + LPIPS + a critic conditioned on the LR, usually on the random degradation pipeline so that
it works on real photos). The task, engine and losses are the core's; only the data and the network are this
application's."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from srgan_wgan.apps.photo_sr.data import PhotoPatches, Photos, centre_patches, photo_folder_splits
from srgan_wgan.archs import CompactSR, CompactSRConfig, ConvCritic, CriticConfig, SRResNet, SRResNetConfig
from srgan_wgan.data.degradations import DegradationConfig
from srgan_wgan.errors import ConfigError, UserError
from srgan_wgan.training import GANTrainConfig, GANTrainer
from srgan_wgan.training.sr_task import (
    SR_STAGES,
    SRLossWeights,
    SRTask,
    check_sr_stage_name,
    pipeline_for,
    release_losses,
    sr_critic_config,
    validate_sr_stage,
)
from srgan_wgan.utils.device import resolve_device
from srgan_wgan.utils.seed import seed_everything

PHOTO_ARCHS: tuple[str, ...] = ("compact", "srresnet")
STAGES = SR_STAGES
TASK = "photo_sr"


@dataclass
class PhotoExperiment:
    """A whole-photo SR training run; saved into the run folder and the release weights' metadata."""

    data: str
    scale: int = 4
    stage: str = "fidelity"
    hr_size: int = 128
    arch: str = "compact"
    num_feat: int = 64
    num_conv: int = 16
    num_blocks: int = 12
    patches_per_photo: int = 16
    val_fraction: float = 0.05
    critic_channels: int = 64
    critic_max_channels: int = 512
    critic_norm: str = "none"
    losses: SRLossWeights = field(default_factory=SRLossWeights)
    init_from: str | None = None
    cache_dir: str | None = None
    pipeline: DegradationConfig | None = None
    train: GANTrainConfig = field(default_factory=lambda: GANTrainConfig(n_critic=0, batch_size=16, lr_g=2e-4,
                                                                           betas=(0.9, 0.99), ema_decay=0.999))

    def validate(self) -> None:
        """Check the config (nothing is read or written)."""
        check_sr_stage_name(self.stage)
        if self.arch not in PHOTO_ARCHS:
            raise ConfigError(f"unknown photo network {self.arch!r}; choose one of {', '.join(PHOTO_ARCHS)}")
        self.generator_config().validate()
        if self.hr_size % self.scale or self.hr_size // self.scale < 8:
            raise ConfigError(f"--hr-size {self.hr_size} must be a multiple of the scale {self.scale} (>= 8 LR px)")
        if self.patches_per_photo < 1:
            raise ConfigError("patches per photo must be at least 1")
        validate_sr_stage(self.stage, self.train, self.critic_norm, self.critic_config())
        resolve_device(self.train.device)

    def generator_config(self) -> CompactSRConfig | SRResNetConfig:
        if self.arch == "compact":
            return CompactSRConfig(scale=self.scale, num_feat=self.num_feat, num_conv=self.num_conv)
        return SRResNetConfig(scale=self.scale, num_feat=self.num_feat, num_blocks=self.num_blocks)

    def build_generator(self) -> nn.Module:
        cfg = self.generator_config()
        return CompactSR(cfg) if isinstance(cfg, CompactSRConfig) else SRResNet(cfg)

    def critic_config(self) -> CriticConfig:
        return sr_critic_config(self.hr_size, self.critic_channels, self.critic_max_channels, self.critic_norm)

    def load_data(self) -> tuple[Photos, Photos | None]:
        """Training and validation photos (photos smaller than a patch are skipped)."""
        return photo_folder_splits(self.data, self.hr_size, self.val_fraction, self.cache_dir)

    def build(self, run_dir: str | Path, data: tuple[Photos, Photos | None] | None = None,
              tensorboard: bool = True) -> GANTrainer:
        """Load the data (unless given), seed, build the models (from ``init_from`` if set) and the trainer."""
        from srgan_wgan.io.weights import init_from_release
        from srgan_wgan.training.runs import release_generator_file, save_experiment

        self.validate()
        train, val = data or self.load_data()
        seed_everything(self.train.seed)
        G = self.build_generator()
        D = ConvCritic(self.critic_config()) if self.stage == "gan" else None
        if self.init_from:
            g_file = release_generator_file(self.init_from)
            if not g_file.is_file():
                raise UserError(f"cannot initialise from {self.init_from}: no generator.safetensors")
            init_from_release(g_file, G, D)
        val_crops = centre_patches(val, self.hr_size) if val is not None else None
        task = SRTask(self.scale, self.losses, asdict(self), val_crops, pipeline=self.pipeline, name=TASK)
        trainer = GANTrainer(G, D, task, PhotoPatches(train, self.hr_size, self.patches_per_photo), self.train,
                             run_dir, tensorboard=tensorboard)
        save_experiment(run_dir, self)
        return trainer


ARCH_NAMES = {"CompactSR": "compact", "SRResNet": "srresnet"}
"""Registered generator architecture -> ``PhotoExperiment.arch``."""


def is_photo_release(source: str | Path) -> bool:
    """Whether a release folder or generator file holds a photo SR model (its ``task`` is ``photo_sr``)."""
    from srgan_wgan.io.weights import read_weights_metadata
    from srgan_wgan.training.runs import release_generator_file

    return read_weights_metadata(release_generator_file(source))["extra"].get("task") == TASK


def photo_finetune_experiment(source: str | Path, data: str, steps: int, stage: str | None = None,
                              recipe: str | None = None, **train_overrides: Any) -> PhotoExperiment:
    """A :class:`PhotoExperiment` that continues from a photo SR release on a user's own photos: the release's
    network, patch size, stage and LR recipe (``recipe`` overrides it: ``clean``, ``random-kernel``,
    ``pipeline``), with the fine-tuning learning rates of the face models."""
    from srgan_wgan.io.weights import read_weights_metadata
    from srgan_wgan.training.runs import read_release, release_generator_file

    arch = read_weights_metadata(release_generator_file(source))["arch"]
    if arch not in ARCH_NAMES:
        raise UserError(f"{source}: holds a {arch}, not a photo SR generator")
    release = read_release(source, arch, "photo SR generator")
    cfg, extra, ccfg = release.config, release.extra, release.critic_config
    if extra.get("task") != TASK:
        raise UserError(f"{release.g_file}: is not a photo SR release (task {extra.get('task')!r}); fine-tune face "
                        "models with their own name or folder")
    stage = stage or extra.get("stage", "gan")
    gan = stage == "gan"
    fields: dict[str, Any] = {"batch_size": 16, "n_critic": 1 if gan else 0, "adv_weight": 0.005, "lr_g": 5e-5,
                              "lr_d": 5e-5, "betas": (0.0, 0.9) if gan else (0.9, 0.99), "ema_decay": 0.999}
    train = GANTrainConfig(steps=steps, **{**fields, **train_overrides})
    recipe = recipe or extra.get("lr_recipe", "clean")
    if recipe not in ("clean", "random-kernel", "pipeline"):
        raise UserError(f"LR recipe must be clean, random-kernel or pipeline, got {recipe!r}")
    critic = {"critic_channels": ccfg["base_channels"], "critic_max_channels": ccfg["max_channels"],
              "critic_norm": ccfg["norm"]} if ccfg else {}
    net = {"num_conv": cfg["num_conv"]} if arch == "CompactSR" else {"num_blocks": cfg["num_blocks"]}
    return PhotoExperiment(
        data=data, scale=cfg["scale"], stage=stage, hr_size=int(extra.get("hr_size", 128)), arch=ARCH_NAMES[arch],
        num_feat=cfg["num_feat"], **net, **critic, losses=release_losses(extra, gan),
        init_from=str(release.g_file.parent), val_fraction=0.1, train=train,
        pipeline=pipeline_for(recipe, extra.get("pipeline")))


def export_photo_run(run_dir: str | Path, out_dir: str | Path) -> int:
    """Release weights from a photo run's ``resume.pt`` + ``experiment.json`` (no data loaded). Returns the step."""
    from srgan_wgan.training.runs import export_run_folder

    def build(exp: PhotoExperiment, extra: dict) -> tuple[nn.Module, nn.Module, dict]:
        meta = {**SRTask(exp.scale, exp.losses, asdict(exp), name=TASK).release_extra(), "penalty": exp.train.penalty}
        return exp.build_generator(), ConvCritic(exp.critic_config()), meta

    return export_run_folder(run_dir, out_dir, PhotoExperiment, "sr train --task photo", build)
