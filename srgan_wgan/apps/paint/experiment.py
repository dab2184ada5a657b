"""Painting training runs: the experiment config, its task, the run folder round trip and fine-tuning from a release."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from srgan_wgan.apps.paint.data import UNCONDITIONAL_STYLE, PaintingDataset, normalize_style, split_classes
from srgan_wgan.apps.paint.inference import PAINT_MODELS
from srgan_wgan.archs import (
    CondGenerator,
    CondGeneratorConfig,
    ConvCritic,
    CriticConfig,
    ProjectedCritic,
    ProjectedCriticConfig,
)
from srgan_wgan.data.folders import DecodedFolder, decode_class_folders, scan_class_folders
from srgan_wgan.errors import ConfigError, UserError
from srgan_wgan.training import GANTrainConfig, GANTrainer
from srgan_wgan.training.tasks import ClassConditionalTask
from srgan_wgan.utils.device import resolve_device
from srgan_wgan.utils.seed import seed_everything

if TYPE_CHECKING:
    from srgan_wgan.training.runs import ReleaseInfo


@dataclass
class PaintExperiment:
    """A painting-generation training run (``paint train``); all fields are saved in the run and the weights."""

    data: str
    resolution: int = 64
    critic_norm: str = "none"
    base_channels: int = 64
    z_dim: int = 128
    embed_dim: int = 64
    holdout: float = 0.1
    critic_channels: int | None = None
    """Critic width at full resolution (doubling per level up to ``critic_max_channels``); None: base_channels."""
    critic_max_channels: int = 512
    crop_scale: float = 1.0
    """Random resized crops covering ``crop_scale``..1 of each painting (1 = whole painting, no crop)."""
    unconditional: bool = False
    """One class for every painting (the baseline that ``paint eval`` compares the conditional model with)."""
    init_from: str | None = None
    aux_backbone: str = "none"
    """Body of the auxiliary style classifier (with ``aux_class_weight``): ``none`` (a conv branch trained
    from scratch) or ``alexnet`` (a linear head on frozen ImageNet AlexNet features)."""
    mbstd_group: int = 0
    """Minibatch standard deviation in the critic, with this group size (0 = off; see :class:`CriticConfig`)."""
    noise: bool = False
    """Per-pixel noise inputs in the generator (StyleGAN; see :class:`CondGeneratorConfig`)."""
    sle: bool = False
    """FastGAN's skip-layer excitation in the generator (see :class:`CondGeneratorConfig`)."""
    mbstd_by_style: bool = False
    """Batches of same-style groups of ``mbstd_group`` paintings, so the critic's minibatch stddev compares the
    spread within a style (intra-style mode collapse), not across the styles of a mixed group."""
    aux_class_weight: float = 0.0
    """AC-GAN style term (:class:`~srgan_wgan.training.tasks.ClassConditionalTask`); 0 = projection only."""
    mode_seeking_weight: float = 0.0
    """MSGAN mode-seeking term (:class:`~srgan_wgan.training.tasks.ClassConditionalTask`); 0 = off."""
    critic_arch: str = "conv"
    """``conv`` (:class:`~srgan_wgan.archs.ConvCritic`, trained from scratch) or ``projected``
    (:class:`~srgan_wgan.archs.ProjectedCritic`: heads over frozen ImageNet features of ``critic_backbone``)."""
    critic_backbone: str = "vgg16"
    """The projected critic's frozen backbone: ``vgg16`` or ``alexnet``."""
    train: GANTrainConfig = field(default_factory=GANTrainConfig)

    @staticmethod
    def migrate(raw: dict[str, Any]) -> dict[str, Any]:
        """Run folders before 0.2 kept the two painting terms in ``train``: move them here."""
        train = dict(raw.get("train", {}))
        moved = {k: train.pop(k) for k in ("aux_class_weight", "mode_seeking_weight") if k in train}
        return {**raw, **{k: v for k, v in moved.items() if k not in raw}, "train": train} if moved else raw

    @property
    def aux_classifier(self) -> bool:
        """The critic carries an AC-GAN class head when the auxiliary loss is on (``aux_class_weight``)."""
        return self.aux_class_weight > 0 and not self.unconditional

    def validate(self) -> dict[str, list[Path]]:
        """Check the config and the data folder (nothing is written); returns the scanned classes."""
        self.train.validate(critic_norm=self.critic_norm)
        if not 0 <= self.holdout < 1:
            raise ConfigError(f"--holdout must be in [0, 1), got {self.holdout}")
        if not 0.1 <= self.crop_scale <= 1:
            raise ConfigError(f"--crop-scale must be in [0.1, 1], got {self.crop_scale}")
        if self.unconditional and self.init_from:
            raise ConfigError("an unconditional model is trained from scratch: drop --unconditional or --init-from")
        if self.aux_class_weight < 0 or self.mode_seeking_weight < 0:
            raise ConfigError(f"the aux class weight ({self.aux_class_weight}) and mode-seeking weight "
                              f"({self.mode_seeking_weight}) must be >= 0")
        if self.unconditional and self.aux_class_weight > 0:
            raise ConfigError("an unconditional model has no styles to classify: drop --aux-class-weight")
        if self.mbstd_by_style:
            if self.unconditional:
                raise ConfigError("--mbstd-by-style groups paintings by style: an unconditional model has none")
            if self.mbstd_group < 2:
                raise ConfigError("--mbstd-by-style needs the critic's minibatch stddev: add --mbstd-group 4")
            if self.train.batch_size % self.mbstd_group:
                raise ConfigError(f"--mbstd-by-style: the group size ({self.mbstd_group}) must divide the batch size "
                                f"({self.train.batch_size})")
        if self.critic_arch not in CRITIC_ARCHS:
            raise ConfigError(f"unknown critic {self.critic_arch!r}; choose one of {', '.join(CRITIC_ARCHS)}")
        if self.critic_arch == "projected" and (self.aux_classifier or self.mbstd_group or self.critic_norm != "none"):
            raise ConfigError("the projected critic has no auxiliary classifier, minibatch stddev or normalisation: "
                              "drop --aux-class-weight, --mbstd-group and --critic-norm")
        if self.aux_backbone != "none" and not self.aux_classifier:
            raise ConfigError("--aux-backbone chooses the auxiliary classifier: it needs --aux-class-weight > 0")
        resolve_device(self.train.device)
        self.critic_config(2).validate()
        self.generator_config(2).validate()
        return scan_class_folders(self.data)

    def generator_config(self, num_classes: int) -> CondGeneratorConfig:
        return CondGeneratorConfig(
            num_classes=num_classes, z_dim=self.z_dim, embed_dim=self.embed_dim, resolution=self.resolution,
            out_channels=3, base_channels=self.base_channels * 4, min_channels=self.base_channels, noise=self.noise,
            sle=self.sle,
        )

    def critic_config(self, num_classes: int) -> CriticConfig | ProjectedCriticConfig:
        if self.critic_arch == "projected":
            return ProjectedCriticConfig(
                resolution=self.resolution, backbone=self.critic_backbone, num_classes=0 if self.unconditional
                else num_classes, cond="none" if self.unconditional else "class",
                head_channels=self.critic_channels or self.base_channels, max_head_channels=self.critic_max_channels)
        return CriticConfig(
            in_channels=3, resolution=self.resolution, base_channels=self.critic_channels or self.base_channels,
            max_channels=self.critic_max_channels, cond="none" if self.unconditional else "class",
            num_classes=0 if self.unconditional else num_classes, norm=self.critic_norm,
            aux_classifier=self.aux_classifier, aux_backbone=self.aux_backbone, mbstd_group=self.mbstd_group,
        )

    def build(self, run_dir: str | Path, folder: DecodedFolder | None = None, tensorboard: bool = True) -> GANTrainer:
        """Decode the data (unless given), seed, and build models and trainer."""
        classes = self.validate()
        if folder is None:  # the held-out split (file-name hash, per style) is never trained on
            folder = decode_class_folders(self.data, self.resolution, split_classes(classes, self.holdout)[0])
        seed_everything(self.train.seed)
        names, counts = folder.class_names, folder.class_counts
        if self.unconditional:
            names, counts = [UNCONDITIONAL_STYLE], {UNCONDITIONAL_STYLE: int(folder.labels.numel())}
        G = CondGenerator(self.generator_config(len(names)))
        D = build_critic(self.critic_config(len(names)))
        if self.init_from:
            load_release_for_finetune(self.init_from, G, D, folder.class_names)
        task = PaintTask(names, counts, asdict(self), unconditional=self.unconditional,
                         aux_class_weight=self.aux_class_weight if self.aux_classifier else 0.0,
                         mode_seeking_weight=self.mode_seeking_weight)
        dataset = PaintingDataset(folder, single_class=self.unconditional, crop_scale=self.crop_scale,
                                  group_size=self.mbstd_group if self.mbstd_by_style else 0)
        trainer = GANTrainer(G, D, task, dataset, self.train, run_dir, tensorboard=tensorboard)
        save_run_info(self, names, counts, run_dir)
        return trainer


CRITIC_ARCHS: tuple[str, ...] = ("conv", "projected")


def build_critic(config: CriticConfig | ProjectedCriticConfig) -> torch.nn.Module:
    """The critic a painting config describes (a conv critic or a projected one)."""
    return ProjectedCritic(config) if isinstance(config, ProjectedCriticConfig) else ConvCritic(config)


RUN_INFO_FILE = "experiment.json"
"""Written into every painting run folder: what :func:`export_paint_run` needs to rebuild the models."""


def save_run_info(exp: PaintExperiment, names: list[str], counts: dict[str, int], run_dir: str | Path) -> None:
    """Write the experiment and its style names/counts as ``run_dir/experiment.json`` (atomically)."""
    from srgan_wgan.training.runs import save_experiment

    Path(run_dir).mkdir(parents=True, exist_ok=True)
    save_experiment(run_dir, exp, class_names=names, class_counts=counts)


def export_paint_run(run_dir: str | Path, out_dir: str | Path, checkpoint: str | Path | None = None) -> int:
    """Release weights (EMA generator, raw generator, critic) from a painting run's ``resume.pt`` (or another
    checkpoint file of the run, e.g. a kept copy of an earlier step) without loading data. Returns its step."""
    from srgan_wgan.training.runs import export_run_folder

    def build(exp: PaintExperiment, info: dict[str, Any]) -> tuple[torch.nn.Module, torch.nn.Module, dict[str, Any]]:
        names, counts = list(info["class_names"]), dict(info["class_counts"])
        task = PaintTask(names, counts, asdict(exp), unconditional=exp.unconditional)
        meta = {**task.release_extra(), "penalty": exp.train.penalty}
        return CondGenerator(exp.generator_config(len(names))), build_critic(exp.critic_config(len(names))), meta

    return export_run_folder(run_dir, out_dir, PaintExperiment, "paint train", build, checkpoint)


class PaintTask(ClassConditionalTask):
    """Class-conditional task whose release weights carry the style names and their training counts."""

    def __init__(self, class_names: list[str], counts: dict[str, int], experiment: dict[str, Any],
                 unconditional: bool = False, aux_class_weight: float = 0.0, mode_seeking_weight: float = 0.0) -> None:
        super().__init__(class_names, grid_per_class=min(8, max(1, 64 // len(class_names))),
                         aux_class_weight=aux_class_weight, mode_seeking_weight=mode_seeking_weight)
        self.counts = counts
        self.experiment = experiment
        self.unconditional = unconditional

    def release_extra(self) -> dict[str, Any]:
        return {**super().release_extra(), "task": "paint", "class_counts": self.counts,
                "unconditional": self.unconditional}


def _expand_class_rows(old: torch.Tensor, old_names: list[str], new_names: list[str]) -> torch.Tensor:
    """Rows for ``new_names``: a style's own row when the model knew it (names matched loosely), else the mean."""
    index = {normalize_style(n): i for i, n in enumerate(old_names)}
    mean = old.mean(0)
    return torch.stack([old[index[normalize_style(n)]] if normalize_style(n) in index else mean for n in new_names])


def _read_paint_release(source: str | Path, what: str) -> ReleaseInfo:
    """A painting release named in ``PAINT_MODELS`` or given as a folder or generator file (:func:`read_release`)."""
    from srgan_wgan.io.hub import resolve_weights
    from srgan_wgan.training.runs import read_release

    return read_release(resolve_weights(source, PAINT_MODELS), "CondGenerator", what)


def load_release_for_finetune(source: str | Path, G: torch.nn.Module, D: torch.nn.Module | None,
                              new_names: list[str]) -> dict[str, int]:
    """Initialise ``G`` (and ``D``) from released weights whose styles may differ from ``new_names``.

    Everything is copied except the per-style tables (generator and projection-critic embeddings), which are
    rebuilt row by row: known styles keep their learned row, new styles start from the mean. Returns counts of
    ``{"kept": k, "new": n}`` styles.
    """
    from srgan_wgan.io.weights import init_from_release

    release = _read_paint_release(source, "painting generator with style names")
    g_file, old_names = release.g_file, list(release.extra.get("class_names") or [])
    if not old_names:
        raise UserError(f"{g_file}: not a painting generator with style names")

    def rows(key: str, v: torch.Tensor) -> torch.Tensor:
        per_class = ("embed" in key and v.dim() == 2) or key.startswith("classifier.")
        if per_class and v.shape[0] == len(old_names):
            return _expand_class_rows(v, old_names, new_names)
        return v

    init_from_release(g_file, G, D, remap=rows)
    kept = sum(normalize_style(n) in {normalize_style(o) for o in old_names} for n in new_names)
    return {"kept": kept, "new": len(new_names) - kept}


def finetune_paint_experiment(source: str | Path, data: str, steps: int, crop_scale: float = 1.0,
                              aux_backbone: str = "none", mbstd_group: int | None = None, noise: bool | None = None,
                              mbstd_by_style: bool = False, aux_class_weight: float = 0.0,
                              mode_seeking_weight: float = 0.0, sle: bool | None = None,
                              **train_overrides: Any) -> PaintExperiment:
    """A :class:`PaintExperiment` with the source model's architecture, for ``paint finetune``; keyword arguments
    other than ``crop_scale``, ``aux_backbone``, ``mbstd_group`` (None: the source critic's), ``noise`` and ``sle``
    (None: the source generator's), ``mbstd_by_style`` and the two painting terms are :class:`GANTrainConfig`
    fields."""
    release = _read_paint_release(source, "painting generator")
    g_file, cfg, critic = release.g_file, release.config, release.critic_config
    if release.extra.get("unconditional"):
        raise UserError(f"{g_file}: an unconditional baseline has no styles to adapt; fine-tune a conditional model")
    train = GANTrainConfig(steps=steps, **{"lr_g": 5e-5, "lr_d": 5e-5, **train_overrides})
    projected = "backbone" in critic  # a ProjectedCritic's config (a ConvCritic's has base_channels)
    return PaintExperiment(data=data, resolution=cfg["resolution"], critic_norm=critic.get("norm", "none"),
                           base_channels=cfg["min_channels"], z_dim=cfg["z_dim"], embed_dim=cfg["embed_dim"],
                           critic_channels=critic.get("head_channels" if projected else "base_channels"),
                           critic_max_channels=critic.get("max_head_channels" if projected else "max_channels", 512),
                           critic_arch="projected" if projected else "conv",
                           critic_backbone=critic.get("backbone", "vgg16"), crop_scale=crop_scale,
                           init_from=str(g_file.parent), aux_backbone=aux_backbone,
                           mbstd_group=critic.get("mbstd_group", 0) if mbstd_group is None else mbstd_group,
                           noise=bool(cfg.get("noise", False)) if noise is None else noise,
                           sle=bool(cfg.get("sle", False)) if sle is None else sle,
                           mbstd_by_style=mbstd_by_style, aux_class_weight=aux_class_weight,
                           mode_seeking_weight=mode_seeking_weight, train=train)
