"""Scoring an SR generator on a batch of HR images under an LR recipe (PSNR-Y / SSIM-Y / LPIPS / colour shift,
optionally identity, against bicubic), and early stopping on it: shared by the face and photo applications."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from srgan_wgan.data.faces import bicubic_upscale, make_lr
from srgan_wgan.errors import UserError
from srgan_wgan.training.engine import GANTrainer

if TYPE_CHECKING:
    from srgan_wgan.identity import FaceIdentity, IdentityReference

log = logging.getLogger("srgan_wgan")


DEGRADATIONS = ("clean", "pil-bicubic", "opencv-area", "realistic")
"""LR recipes of ``sr eval --degradation``: ``clean`` = kornia's antialiased bicubic (the fixed-scale models'
training kernel), ``pil-bicubic`` / ``opencv-area`` = the resizers a user's photo was more likely made with,
``realistic[:seed]`` = the seeded random blur / resize / noise / JPEG pipeline of :mod:`srgan_wgan.data.degradations`
(each face its own draw, from ``seed`` and its index)."""

RESTORE_FACTOR = 4
"""For a restoration model (scale 1) the non-``realistic`` recipes shrink the face this many times and bicubic-upsample
it back to the working size: the model's input, and the baseline."""


def parse_degradation(spec: str) -> tuple[str, int]:
    """``realistic:7`` -> ``("realistic", 7)``; ``clean`` -> ``("clean", 0)``; a :class:`UserError` otherwise."""
    name, sep, seed = spec.partition(":")
    if name not in DEGRADATIONS:
        raise UserError(f"--degradation must be one of {', '.join(DEGRADATIONS)} (realistic may take :SEED), "
                        f"got {spec!r}")
    if sep and name != "realistic":
        raise UserError(f"--degradation {spec}: only realistic takes a seed")
    try:
        return name, int(seed) if sep else 0
    except ValueError:
        raise UserError(f"--degradation {spec}: the seed must be an integer") from None


def degraded_inputs(hr: torch.Tensor, scale: int, degradation: str = "clean", start: int = 0
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(lr, reference)`` for a float HR batch in ``[0, 1]`` under one recipe (:data:`DEGRADATIONS`).

    For a fixed-scale model ``lr`` is ``scale`` times smaller than ``hr``; for a restoration model (``scale == 1``)
    it is at the HR size. ``reference`` is ``hr``, made grey where the ``realistic`` draw made the face grey.
    ``start`` is the batch's index in the set (the ``realistic`` seeds follow the face, not the batch size).
    """
    name, seed = parse_degradation(degradation)
    factor = scale if scale > 1 else RESTORE_FACTOR
    h, w = hr.shape[-2:]
    if name == "realistic":
        from srgan_wgan.data.degradations import DegradationConfig, degrade_batch

        seeds = [seed * 1_000_003 + start + i for i in range(hr.shape[0])]
        out = (h, w) if scale == 1 else (h // scale, w // scale)
        return degrade_batch(hr, seeds, out, DegradationConfig())
    if name == "clean":
        lr = make_lr(hr, factor)
    else:
        from srgan_wgan.data.degradations import resize

        kernel = {"pil-bicubic": "pil_bicubic", "opencv-area": "cv2_area"}[name]
        imgs = [resize(x.permute(1, 2, 0).cpu().numpy(), (h // factor, w // factor), kernel) for x in hr]
        lr = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).clamp(0, 1).to(hr.device)
    if scale == 1:
        lr = bicubic_upscale(lr, factor)
    return lr, hr


def colour_shift(out: torch.Tensor, ref: torch.Tensor, cell: int = 8) -> torch.Tensor:
    """Per image, the mean CIE76 colour difference (Delta E in CIELAB; about 2.3 is a just-noticeable difference)
    between ``out`` and ``ref`` averaged over ``cell x cell`` blocks: the low-pass colour shift users complain of,
    blind to detail and noise."""
    import torch.nn.functional as F
    from kornia.color import rgb_to_lab

    a = rgb_to_lab(F.avg_pool2d(out.float().clamp(0, 1), cell))
    b = rgb_to_lab(F.avg_pool2d(ref.float().clamp(0, 1), cell))
    return (a - b).pow(2).sum(1).sqrt().flatten(1).mean(1)


@torch.no_grad()
def evaluate_sr(
    generator: nn.Module | None, hr: torch.Tensor, scale: int, batch_size: int = 32, lpips: nn.Module | None = None,
    device: str | torch.device = "cpu", identity: tuple[FaceIdentity, IdentityReference] | None = None,
    fp32: bool = False, degradation: str = "clean",
) -> dict[str, float]:
    """Mean PSNR (RGB, Y), SSIM (Y) and LPIPS-alex of ``generator`` (or bicubic when ``None``) on uint8 HR crops.

    LR is made by the ``degradation`` recipe (:func:`degraded_inputs`); the border shaved for PSNR/SSIM equals the
    scale (4 for a restoration model). For a restoration model the baseline is its input (the degraded face at the
    working size, bicubic-upsampled where the recipe shrank it). ``identity`` = ``(FaceIdentity, IdentityReference
    of hr)`` adds the mean dlib face-embedding distance to the HR face (``identity_dist``) and the fraction below
    dlib's same-person threshold (``identity_match``). The generator runs as ``sr upscale`` runs it: bf16 autocast
    where the device computes bf16 natively, fp32 with ``fp32=True``; the metrics are computed in fp32.
    ``colour_de`` is :func:`colour_shift`.
    """
    from srgan_wgan.metrics import psnr, ssim
    from srgan_wgan.utils.precision import inference_precision

    if lpips is None:
        from srgan_wgan.losses.perceptual import LPIPS

        lpips = LPIPS("alex")
    device = torch.device(device)
    precision = inference_precision(device, fp32)
    lpips = lpips.to(device)
    shave = scale if scale > 1 else RESTORE_FACTOR
    sums = {"psnr_rgb": 0.0, "psnr_y": 0.0, "ssim_y": 0.0, "lpips_alex": 0.0, "colour_de": 0.0}
    if identity is not None:
        from srgan_wgan.identity import SAME_PERSON_THRESHOLD

        sums |= {"identity_dist": 0.0, "identity_match": 0.0}
    n = 0
    for i in range(0, hr.shape[0], batch_size):
        lr, x = degraded_inputs((hr[i : i + batch_size].float() / 255).to(device), scale, degradation, start=i)
        if generator is None:
            out = bicubic_upscale(lr, scale) if scale > 1 else lr
        else:
            with precision.autocast():
                out = generator(lr)
            out = out.float().clamp(0, 1)
        sums["psnr_rgb"] += psnr(out, x, shave=shave).sum().item()
        sums["psnr_y"] += psnr(out, x, shave=shave, y_channel=True).sum().item()
        sums["ssim_y"] += ssim(out, x, shave=shave).sum().item()
        sums["lpips_alex"] += lpips(out, x).sum().item()
        sums["colour_de"] += colour_shift(out, x).sum().item()
        if identity is not None:
            d = identity[0].distances(out, identity[1], start=i)
            sums["identity_dist"] += d.sum().item()
            sums["identity_match"] += (d < SAME_PERSON_THRESHOLD).sum().item()
        n += x.shape[0]
    return {k: v / n for k, v in sums.items()} | {"images": n}


def validation_recipes(experiment: Any) -> tuple[str, ...]:
    """The LR recipes early stopping scores an experiment on (their mean LPIPS): ``realistic`` for a restoration
    model or the full pipeline, clean + PIL bicubic + OpenCV area for random kernels, else clean."""
    from srgan_wgan.training.sr_task import lr_recipe

    recipe = lr_recipe(asdict(experiment))
    if experiment.scale == 1 or recipe == "pipeline":
        return ("realistic",)
    return ("clean", "pil-bicubic", "opencv-area") if recipe == "random-kernel" else ("clean",)


class EarlyStopping:
    """Step callback: every ``every`` steps, validation LPIPS of the EMA generator (the mean over
    ``degradations``, :data:`DEGRADATIONS`); exports the best weights and asks the trainer to stop after
    ``patience`` evaluations without improvement."""

    def __init__(self, trainer: GANTrainer, val: Any, scale: int, out_dir: str | Path, every: int = 200,
                 patience: int = 5, limit: int = 64, inner: Any = None,
                 degradations: tuple[str, ...] = ("clean",)) -> None:
        """``val``: uint8 ``(N, 3, H, W)`` HR images, or an object holding them as ``.images`` (face crops)."""
        from srgan_wgan.losses.perceptual import LPIPS

        self.trainer, self.scale, self.out_dir = trainer, scale, Path(out_dir)
        self.hr = getattr(val, "images", val)[:limit]
        self.every, self.patience, self.inner = every, patience, inner
        self.degradations = degradations
        self.lpips = LPIPS("alex").to(trainer.device)
        self.best = float("inf")
        self.bad = 0
        self.history: list[tuple[int, float]] = []

    def score(self) -> float:
        G = self.trainer.G_ema or self.trainer.G
        was = G.training
        G.eval()
        scores = [evaluate_sr(G, self.hr, self.scale, lpips=self.lpips, device=self.trainer.device,
                              degradation=d)["lpips_alex"] for d in self.degradations]
        G.train(was)
        return sum(scores) / len(scores)

    def __call__(self, step: int, total: int, metrics: dict[str, float]) -> None:
        if self.inner is not None:
            self.inner(step, total, metrics)
        if step % self.every and step != total:
            return
        s = self.score()
        self.history.append((step, s))
        log.info("step %d: validation LPIPS-alex %.4f (best %.4f)", step, s, self.best)
        if s < self.best:
            self.best, self.bad = s, 0
            self.trainer.export(self.out_dir)
        else:
            self.bad += 1
            if self.bad >= self.patience:
                self.trainer.stop_requested = True
