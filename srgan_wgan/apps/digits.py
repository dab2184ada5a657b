"""The core's proof of work: a class-conditional WGAN on scikit-learn's bundled digits (16x16, CPU, minutes).

Used by the test suite and by ``python -m benchmarks.penalties`` (the WGAN vs WGAN-GP vs R1 table).
Quality is measured by an independent classifier (an RBF SVM trained on real digits) that must recognise
the requested class in generated samples.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

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


class DigitsJudge:
    """An independent classifier of real digits (RBF SVM on 8x8 intensities), trained once per instance."""

    def __init__(self, seed: int = 0) -> None:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        from sklearn.svm import SVC

        d = load_digits()
        x_tr, x_te, y_tr, y_te = train_test_split(d.data, d.target, test_size=0.25, random_state=seed, stratify=d.target)
        self.clf = SVC(gamma=0.001, C=10.0).fit(x_tr, y_tr)
        self.real_accuracy = float(self.clf.score(x_te, y_te))

    @staticmethod
    def to_features(images: torch.Tensor) -> np.ndarray:
        """``(N, 1, 16, 16)`` images in ``[-1, 1]`` -> sklearn's 8x8 features in ``[0, 16]``."""
        x = (images.float().clamp(-1, 1) + 1) / 2 * 16
        x = F.adaptive_avg_pool2d(x, 8)
        return x.flatten(1).cpu().numpy()

    def accuracy(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        pred = self.clf.predict(self.to_features(images))
        return float((pred == labels.cpu().numpy()).mean())


@torch.no_grad()
def generated_accuracy(
    generator: nn.Module, judge: DigitsJudge, per_class: int = 100, seed: int = 999
) -> float:
    """Share of generated samples (``per_class`` per digit) that the judge assigns to the requested class."""
    generator.eval()
    device = next(generator.parameters()).device
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat_interleave(per_class)
    z = torch.randn(labels.shape[0], generator.z_dim, generator=g)
    images = generator(z.to(device), labels.to(device))
    return judge.accuracy(images, labels)


def save_digit_grid(generator: nn.Module, path: str | Path, per_class: int = 10, seed: int = 999) -> None:
    """Save a grid with one row per digit 0-9 (``per_class`` samples each), scaled up 4x for viewing."""
    from srgan_wgan.io.images import ImageData, image_grid, write_image

    generator.eval()
    device = next(generator.parameters()).device
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat_interleave(per_class)
    with torch.no_grad():
        x = generator(torch.randn(labels.shape[0], generator.z_dim, generator=g).to(device), labels.to(device))
    x = F.interpolate((x.float().cpu() + 1) / 2, scale_factor=4, mode="nearest")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_image(path, ImageData(image_grid(x, per_class, pad_value=1.0)), force=True)


def run_digits(
    exp: DigitsExperiment, run_dir: str | Path, judge: DigitsJudge | None = None, grid_path: str | Path | None = None
) -> dict[str, Any]:
    """Train one digits experiment and score it: ``{penalty, seed, steps, accuracy, wall_s, ...}``."""
    judge = judge or DigitsJudge()
    trainer = exp.build(run_dir)
    t0 = time.perf_counter()
    metrics = trainer.fit()
    wall = time.perf_counter() - t0
    G = trainer.G_ema if trainer.G_ema is not None else trainer.G
    if grid_path is not None:
        save_digit_grid(G, grid_path)
    return {
        "penalty": exp.penalty,
        "seed": exp.seed,
        "steps": exp.steps,
        "n_critic": exp.n_critic,
        "optimizer": trainer.config.resolved_optimizer,
        "lr": trainer.config.resolved_lr_d,
        "accuracy": generated_accuracy(G, judge),
        "accuracy_raw_g": generated_accuracy(trainer.G, judge),
        "judge_real_accuracy": judge.real_accuracy,
        "wall_s": wall,
        "final_w_estimate": metrics.get("critic/w_estimate"),
    }
