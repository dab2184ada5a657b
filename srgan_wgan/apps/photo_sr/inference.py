"""Whole-photo SR inference: a photo SR release run over the image in overlapping, feathered tiles (bounded memory,
no seams), as ``sr upscale --background`` uses it for everything that is not a face."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from srgan_wgan.errors import UserError, WeightsError
from srgan_wgan.inference.tiling import run_image_model, run_tiled
from srgan_wgan.io.images import quantise
from srgan_wgan.io.hub import resolve_weights
from srgan_wgan.io.weights import load_pretrained
from srgan_wgan.utils.device import resolve_device
from srgan_wgan.utils.precision import default_channels_last, inference_precision

log = logging.getLogger("srgan_wgan")

PHOTO_MODELS: dict[str, str] = {"photo-x4": "photo-x4", "photo-x4-fidelity": "photo-x4-fidelity"}
"""Shipped photo SR releases: ``photo-x4`` (the GAN stage on the degradation pipeline, the default background of
``sr upscale``) and ``photo-x4-fidelity`` (the L1 stage, the benchmark model)."""
PLANNED_PHOTO_MODELS: tuple[str, ...] = ()
"""Names the docs promise that are not shipped yet (a "not shipped yet" error rather than "unknown")."""
PHOTO_ARCHS: tuple[str, ...] = ("CompactSR", "SRResNet")


def resolve_photo_model(model: str | os.PathLike[str]) -> Path:
    """A shipped photo model name or a release path -> its generator file (one-line errors)."""
    name = str(model)
    if name not in PHOTO_MODELS and not Path(model).exists():
        what = f"{name} is not shipped yet" if name in PLANNED_PHOTO_MODELS else f"unknown photo model {name!r}"
        raise UserError(f"{what}: use {', '.join(PHOTO_MODELS)}, a photo SR release folder (sr train --task photo), "
                        "or for sr upscale --background lanczos")
    return resolve_weights(model, tuple(PHOTO_MODELS))


def receptive_radius(G: torch.nn.Module) -> int:
    """How far, in input pixels, one output pixel of an SR network sees (3x3 convolutions)."""
    cfg = G.config
    if type(G).__name__ == "CompactSR":
        return int(cfg.num_conv) + 2
    return 2 * int(cfg.num_blocks) + 4  # SRResNet: two convs per block, first/body convs, the upsampling stages


class PhotoUpscaler:
    """Run a photo SR model over whole images.

    Args:
        model: a shipped name or a release folder / ``generator.safetensors``.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        fp32: no bf16 autocast (the default where the CPU or GPU computes bf16 natively).
        tile: LR tile size (``0`` = the whole image at once).
        tile_overlap: tiles overlap by twice this; default: twice the network's receptive radius, so a tiled run
            equals the whole-image run (:mod:`srgan_wgan.inference.tiling` drops half the overlap and blends the rest).
    """

    def __init__(self, model: str | os.PathLike[str], device: str = "auto", fp32: bool = False, tile: int = 512,
                 tile_overlap: int | None = None) -> None:
        self.path = resolve_photo_model(model)
        self.device = resolve_device(device)
        self.G = load_pretrained(self.path, device=self.device)
        arch = type(self.G).__name__
        self.scale: int = int(getattr(self.G.config, "scale", 1))
        if arch not in PHOTO_ARCHS or self.scale < 2:
            raise WeightsError(f"{self.path}: holds a {arch} at scale {self.scale}, not a photo SR model")
        self.precision = inference_precision(self.device, fp32)
        self.channels_last = default_channels_last(self.device)
        if self.channels_last:
            self.G = self.G.to(memory_format=torch.channels_last)
        self.tile_overlap = 2 * receptive_radius(self.G) if tile_overlap is None else tile_overlap
        self.tile = max(tile, 3 * self.tile_overlap) if tile > 0 else 0  # room for the dropped + blended bands
        log.info("photo model %s, x%d, %s", self.path, self.scale, self.precision.name)

    def _run(self, lr: np.ndarray) -> np.ndarray:
        """``(h, w, 3)`` float in [0, 1] -> ``(h*s, w*s, 3)``; one forward pass."""
        return run_image_model(self.G, lr, self.device, self.precision, self.channels_last)

    def enhance(self, rgb: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        """``(h, w, 3)`` float in ``[0, 1]`` -> ``(h * scale, w * scale, 3)`` in ``dtype`` (float32 in ``[0, 1]``,
        or ``uint8`` / ``uint16``), tiled when larger than ``tile``: rows of tiles stream into the result."""
        h, w = rgb.shape[:2]
        if h < 4 or w < 4:
            raise UserError(f"image is {w}x{h} px: too small for the model (at least 4x4)")
        return run_tiled(self._run, rgb.astype(np.float32, copy=False), self.scale, self.tile, self.tile_overlap,
                         dtype=dtype)

    def __call__(self, rgb: np.ndarray, scale: int, bit_depth: int = 8, dtype: Any = np.float32) -> np.ndarray:
        """Upscale by ``scale`` (the ``background`` of :class:`~srgan_wgan.apps.face_sr.FaceUpscaler`): the model,
        then a Lanczos resize when ``scale`` is not the model's own; in ``dtype`` as :meth:`enhance`."""
        if scale == self.scale:
            return self.enhance(rgb, dtype)
        out = self.enhance(rgb)
        h, w = rgb.shape[:2]
        chans = [np.asarray(Image.fromarray(out[..., c], "F").resize((w * scale, h * scale),
                                                                      Image.Resampling.LANCZOS))
                 for c in range(3)]
        return quantise(np.clip(np.stack(chans, -1), 0, 1).astype(np.float32), dtype, inplace=True)
