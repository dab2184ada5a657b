"""Whole-photo SR evaluation (``sr eval --task photo``): PSNR-Y and SSIM-Y with the border shaved by the scale
(the convention of the SR literature), LPIPS-alex, and the bicubic baseline on the same images.

A folder with ``HR/`` and ``LR/`` sub-folders (Set5/Set14 as distributed: ``img_001_SRF_4_HR.png`` beside
``img_001_SRF_4_LR.png``, MATLAB-bicubic LR) is scored on its given LR; any other folder of images is scored on
LR made here with the training's clean recipe (antialiased bicubic, :func:`srgan_wgan.data.faces.make_lr`), after
cropping each HR to a multiple of the scale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from srgan_wgan.data.folders import scan_images
from srgan_wgan.errors import UserError
from srgan_wgan.io.images import read_rgb

PHOTO_SR_ARCHS: tuple[str, ...] = ("CompactSR", "SRResNet")


def _tensor(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.array(read_rgb(path), dtype=np.float32) / 255.0).permute(2, 0, 1)[None]


def find_pairs(root: str | Path, scale: int) -> list[tuple[Path, Path | None]]:
    """``(hr, lr)`` files under ``root``: given pairs from ``HR/`` + ``LR/`` (also under ``x{scale}/``), or every
    image with ``lr = None`` (made on the fly)."""
    root = Path(root)
    for base in (root, root / f"x{scale}"):
        hr_dir, lr_dir = base / "HR", base / "LR"
        if hr_dir.is_dir() and lr_dir.is_dir():
            pairs = []
            for hr in scan_images(hr_dir):
                lr = lr_dir / hr.name.replace("_HR", "_LR")
                if not lr.is_file():
                    raise UserError(f"{hr}: no LR partner {lr.name} in {lr_dir}")
                pairs.append((hr, lr))
            return pairs
    files = scan_images(root)
    if not files:
        raise UserError(f"no images found under {root}")
    return [(f, None) for f in files]


def _bicubic(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """PIL bicubic upscale of a ``(1, 3, h, w)`` image (the baseline the literature reports)."""
    from PIL import Image

    arr = (lr[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
    im = Image.fromarray(arr).resize((arr.shape[1] * scale, arr.shape[0] * scale), Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]


@torch.no_grad()
def evaluate_photo_folder(data: str | Path, model: str | Path | torch.nn.Module, device: str = "auto",
                          fp32: bool = False, lpips: bool = True, limit: int | None = None, split: str = "all",
                          val_fraction: float = 0.05, degradation: str | None = None) -> dict[str, Any]:
    """Score a photo SR model and bicubic on every image of ``data``: means and a per-image table.

    ``split``: ``all``, or ``val`` / ``train``, the file-hash split ``sr train --task photo`` makes of a training
    folder (tune on ``val``; report on a test folder such as Set14), with LR made on the fly.

    ``degradation``: ``None`` scores given LR where the folder has ``HR/`` + ``LR/`` pairs and the training recipe
    (clean antialiased bicubic) elsewhere; a recipe of :data:`~srgan_wgan.training.sr_eval.DEGRADATIONS`
    (``pil-bicubic``, ``opencv-area``, ``realistic[:seed]``...) makes every LR from the HR that way, so a model is
    also seen on resizers and degradations it was not trained on."""
    from srgan_wgan.training.sr_eval import degraded_inputs, parse_degradation
    from srgan_wgan.io.weights import load_pretrained
    from srgan_wgan.metrics import psnr, quantize, ssim
    from srgan_wgan.utils.device import resolve_device
    from srgan_wgan.utils.precision import inference_precision

    if degradation is not None:
        parse_degradation(degradation)  # a one-line error before anything is loaded
    dev = resolve_device(device)
    G = model if isinstance(model, torch.nn.Module) else load_pretrained(model, device=dev)
    arch = type(G).__name__
    if arch not in PHOTO_SR_ARCHS or getattr(G.config, "scale", 1) < 2:
        raise UserError(f"{model}: holds a {arch} at scale {getattr(G.config, 'scale', '?')}, not a photo SR model")
    G = G.to(dev).eval()
    scale = G.config.scale
    precision = inference_precision(dev, fp32)
    lp = None
    if lpips:
        from srgan_wgan.losses.perceptual import LPIPS

        lp = LPIPS("alex").to(dev)
    if split == "all":
        pairs = find_pairs(data, scale)
    elif split in ("val", "train"):
        from srgan_wgan.data.splits import split_image_folder

        train, val = split_image_folder(data, val_fraction)
        pairs = [(f, None) for f in (val if split == "val" else train) if f.parent.name != "LR"]
        if not pairs:
            raise UserError(f"{data}: the {split} split is empty")
    else:
        raise UserError(f"--split must be all, val or train, got {split!r}")
    pairs = pairs[:limit] if limit else pairs
    rows = []
    for i, (hr_file, lr_file) in enumerate(pairs):
        lr_file = lr_file if degradation is None else None
        try:
            hr = _tensor(hr_file)
        except (OSError, ValueError, SyntaxError):
            if split == "all":
                raise
            continue  # sr train skips an unreadable photo too
        h, w = hr.shape[-2] // scale * scale, hr.shape[-1] // scale * scale
        hr = hr[..., :h, :w]
        if lr_file is not None:
            lr = _tensor(lr_file)
        else:  # the reference turns grey where a realistic draw made the photo grey
            lr, hr = degraded_inputs(hr, scale, degradation or "clean", i)
        if lr.shape[-2] * scale != h or lr.shape[-1] * scale != w:
            raise UserError(f"{lr_file}: {lr.shape[-1]}x{lr.shape[-2]} is not the HR size / {scale}")
        lr = quantize(lr)
        with precision.autocast():
            sr = G(lr.to(dev)).float().cpu()
        row: dict[str, Any] = {"file": hr_file.name}
        for name, out in (("model", quantize(sr.clamp(0, 1))), ("bicubic", _bicubic(lr, scale))):
            row[f"{name}_psnr_y"] = float(psnr(out, hr, shave=scale, y_channel=True))
            row[f"{name}_ssim_y"] = float(ssim(out, hr, shave=scale, y_channel=True))
            if lp is not None:
                row[f"{name}_lpips"] = float(lp(out.to(dev), hr.to(dev)).mean())
        rows.append(row)
    if not rows:
        raise UserError(f"{data}: none of the {len(pairs)} image(s) could be read")
    keys = [k for k in rows[0] if k != "file"]
    means = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    return {"data": str(data), "split": split, "scale": scale, "images": len(rows),
            "given_lr": degradation is None and pairs[0][1] is not None, "degradation": degradation or "clean",
            "arch": arch, "precision": precision.name, "mean": means, "per_image": rows}
