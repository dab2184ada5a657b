"""Style-conditioned painting generation: a class-conditional WGAN over an ImageFolder of styles.

A thin layer over the shared core: :class:`~srgan_wgan.archs.CondGenerator`, a projection
:class:`~srgan_wgan.archs.ConvCritic` and :class:`~srgan_wgan.training.GANTrainer`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from srgan_wgan.apps.digits import ClassConditionalTask
from srgan_wgan.archs import CondGenerator, CondGeneratorConfig, ConvCritic, CriticConfig
from srgan_wgan.data.folders import DecodedFolder, decode_class_folders, scan_class_folders
from srgan_wgan.training import GANTrainConfig, GANTrainer
from srgan_wgan.utils.device import resolve_device
from srgan_wgan.utils.seed import seed_everything


class PaintingDataset(Dataset):
    """Decoded paintings as ``[-1, 1]`` floats with a horizontal flip drawn from the per-sample seed."""

    def __init__(self, folder: DecodedFolder, flip: bool = True) -> None:
        self.folder = folder
        self.flip = flip
        self.class_names = folder.class_names

    def __len__(self) -> int:
        return self.folder.images.shape[0]

    def __getitem__(self, item: tuple[int, int] | int) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = item if isinstance(item, tuple) else (item, 0)
        x = self.folder.images[index].float() / 127.5 - 1.0
        if self.flip and (seed & 1):
            x = x.flip(-1)
        return x, self.folder.labels[index]


@dataclass
class PaintExperiment:
    """A painting-generation training run (``paint train``); all fields are saved in the run and the weights."""

    data: str
    resolution: int = 64
    critic_norm: str = "none"
    base_channels: int = 64
    z_dim: int = 128
    embed_dim: int = 64
    train: GANTrainConfig = field(default_factory=GANTrainConfig)

    def validate(self) -> dict[str, list[Path]]:
        """Check the config and the data folder (nothing is written); returns the scanned classes."""
        self.train.validate(critic_norm=self.critic_norm)
        resolve_device(self.train.device)
        self.critic_config(2).validate()
        self.generator_config(2).validate()
        return scan_class_folders(self.data)

    def generator_config(self, num_classes: int) -> CondGeneratorConfig:
        return CondGeneratorConfig(
            num_classes=num_classes, z_dim=self.z_dim, embed_dim=self.embed_dim, resolution=self.resolution,
            out_channels=3, base_channels=self.base_channels * 4, min_channels=self.base_channels,
        )

    def critic_config(self, num_classes: int) -> CriticConfig:
        return CriticConfig(
            in_channels=3, resolution=self.resolution, base_channels=self.base_channels, max_channels=512,
            cond="class", num_classes=num_classes, norm=self.critic_norm,
        )

    def build(self, run_dir: str | Path, folder: DecodedFolder | None = None, tensorboard: bool = True) -> GANTrainer:
        """Decode the data (unless given), seed, and build models and trainer."""
        classes = self.validate()
        folder = folder or decode_class_folders(self.data, self.resolution, classes)
        seed_everything(self.train.seed)
        n = len(folder.class_names)
        G = CondGenerator(self.generator_config(n))
        D = ConvCritic(self.critic_config(n))
        task = PaintTask(folder.class_names, folder.class_counts, asdict(self))
        return GANTrainer(G, D, task, PaintingDataset(folder), self.train, run_dir, tensorboard=tensorboard)


class PaintTask(ClassConditionalTask):
    """Class-conditional task whose release weights carry the style names and their training counts."""

    def __init__(self, class_names: list[str], counts: dict[str, int], experiment: dict[str, Any]) -> None:
        super().__init__(class_names, grid_per_class=min(8, max(1, 64 // len(class_names))))
        self.counts = counts
        self.experiment = experiment

    def release_extra(self) -> dict[str, Any]:
        return {**super().release_extra(), "task": "paint", "class_counts": self.counts}
