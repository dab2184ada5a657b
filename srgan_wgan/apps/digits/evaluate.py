"""Scoring a digits run: an independent classifier (an RBF SVM trained on real digits) must recognise the
requested class in generated samples; :func:`run_digits` trains one experiment and scores it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from srgan_wgan.apps.digits.experiment import DigitsExperiment


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
