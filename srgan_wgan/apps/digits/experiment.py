"""The digits experiment: a class-conditional WGAN on scikit-learn's bundled digits (16x16, CPU, minutes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from srgan_wgan.archs import CondGenerator, CondGeneratorConfig, ConvCritic, CriticConfig
from srgan_wgan.data.toy import TensorClassDataset, load_digits_tensor
from srgan_wgan.training import GANTrainConfig, GANTrainer
from srgan_wgan.training.tasks import ClassConditionalTask
from srgan_wgan.utils.seed import seed_everything

RESOLUTION = 16


@dataclass
class DigitsExperiment:
    """One run of the digits benchmark; defaults are the configuration the README reports."""

    penalty: str = "gp"
    steps: int = 300
    seed: int = 0
    batch_size: int = 64
    n_critic: int = 5
    penalty_weight: float | None = None
    critic_norm: str = "none"
    base_channels: int = 16
    z_dim: int = 32
    ema_decay: float = 0.99
    amp: str = "off"
    device: str = "cpu"
    extra_config: dict[str, Any] = field(default_factory=dict)

    def train_config(self) -> GANTrainConfig:
        """The engine config; ``extra_config`` entries override the defaults set here."""
        fields: dict[str, Any] = {
            "steps": self.steps,
            "batch_size": self.batch_size,
            "n_critic": self.n_critic,
            "penalty": self.penalty,
            "penalty_weight": self.penalty_weight,
            "ema_decay": self.ema_decay,
            "amp": self.amp,
            "seed": self.seed,
            "device": self.device,
            "log_every": 50,
            "sample_every": max(self.steps // 4, 1),
            "checkpoint_every": max(self.steps // 4, 1),
        }
        return GANTrainConfig(**{**fields, **self.extra_config})

    def build(self, run_dir: str | Path, tensorboard: bool = False) -> GANTrainer:
        """Seed, build the models and the trainer (nothing is trained yet)."""
        cfg = self.train_config()
        cfg.validate(critic_norm=self.critic_norm)
        seed_everything(self.seed)
        images, labels = load_digits_tensor(RESOLUTION)
        dataset = TensorClassDataset(images, labels)
        G = CondGenerator(
            CondGeneratorConfig(
                num_classes=10, z_dim=self.z_dim, embed_dim=32, resolution=RESOLUTION, out_channels=1,
                base_channels=self.base_channels * 4, min_channels=self.base_channels,
            )
        )
        D = ConvCritic(
            CriticConfig(
                in_channels=1, resolution=RESOLUTION, base_channels=self.base_channels, max_channels=128,
                cond="class", num_classes=10, norm=self.critic_norm,
            )
        )
        return GANTrainer(G, D, ClassConditionalTask(dataset.class_names), dataset, cfg, run_dir, tensorboard=tensorboard)
