"""Face images for super-resolution: recursive folders, HR crops, hash-based splits, seeded paired augmentation.

HR crops are decoded once (centre square, optionally a centre crop fraction, Lanczos to ``hr_size``) and kept as
uint8 in memory, cached on disk as ``.pt`` when a cache folder is given. Low-resolution inputs are made from the
(augmented) HR batch by :func:`make_lr` (bicubic with antialias, kornia), so LR/HR pairs stay aligned.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from srgan_wgan.io.images import read_rgb
from srgan_wgan.data.splits import split_image_folder
from srgan_wgan.errors import UserError

log = logging.getLogger("srgan_wgan")


def centre_crop_resize(im: Image.Image, size: int, crop_fraction: float = 1.0) -> np.ndarray:
    """Centre square of side ``crop_fraction * min(w, h)``, resized to ``size`` (Lanczos); ``(size, size, 3)``."""
    w, h = im.size
    s = max(1, round(min(w, h) * crop_fraction))
    left, top = (w - s) // 2, (h - s) // 2
    im = im.crop((left, top, left + s, top + s))
    if im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(im, dtype=np.uint8)


@dataclass
class FaceCrops:
    """HR face crops ``(N, 3, size, size)`` uint8 with their source files and the unreadable ones skipped."""

    images: torch.Tensor
    files: list[str]
    skipped: list[str] = field(default_factory=list)


def load_face_crops(
    files: list[Path], size: int, crop_fraction: float = 1.0, cache_dir: str | Path | None = None
) -> FaceCrops:
    """Decode ``files`` into HR crops (unreadable files are skipped, counted and logged)."""
    key = hashlib.blake2b(
        ("\n".join(str(f) for f in files) + f"|{size}|{crop_fraction}").encode(), digest_size=10
    ).hexdigest()
    cache = Path(cache_dir) / f"faces_{size}_{key}.pt" if cache_dir else None
    if cache is not None and cache.is_file():
        data = torch.load(cache, weights_only=True)
        return FaceCrops(data["images"], data["files"], data["skipped"])
    images, kept, skipped = [], [], []
    for f in files:
        try:
            images.append(centre_crop_resize(read_rgb(f), size, crop_fraction))
            kept.append(str(f))
        except (OSError, ValueError, SyntaxError) as exc:
            skipped.append(str(f))
            log.warning("skipped unreadable image %s (%s)", f, exc)
    if not images:
        raise UserError(f"none of the {len(files)} image(s) could be read")
    if skipped:
        log.warning("%d unreadable image(s) skipped", len(skipped))
    crops = FaceCrops(torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(), kept, skipped)
    if cache is not None:
        from srgan_wgan.io.atomic import atomic_write

        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(cache) as tmp:
            torch.save({"images": crops.images, "files": crops.files, "skipped": crops.skipped}, tmp)
    return crops


def face_folder_splits(
    root: str | Path, size: int, val_fraction: float = 0.05, crop_fraction: float = 1.0,
    cache_dir: str | Path | None = None,
) -> tuple[FaceCrops, FaceCrops | None]:
    """Scan ``root`` recursively, split by file hash and decode both splits. Raises :class:`UserError` if empty."""
    train, val = split_image_folder(root, val_fraction)
    return (
        load_face_crops(train, size, crop_fraction, cache_dir),
        load_face_crops(val, size, crop_fraction, cache_dir) if val else None,
    )


class PairedAugment:
    """Seeded HR augmentation (albumentations): horizontal flip and a small colour jitter.

    The LR input is computed from the augmented HR afterwards, so the pair stays aligned. Optional
    degradations for real photos (blur, noise, JPEG) act on the LR side; see :func:`degrade_lr`.
    """

    def __init__(self, flip: bool = True, color_jitter: float = 0.05) -> None:
        import albumentations as A

        ops = []
        if flip:
            ops.append(A.HorizontalFlip(p=0.5))
        if color_jitter > 0:
            ops.append(A.ColorJitter(brightness=color_jitter, contrast=color_jitter, saturation=color_jitter,
                                     hue=0.0, p=0.5))
        self.transform = A.Compose(ops) if ops else None

    def __call__(self, image: np.ndarray, seed: int) -> np.ndarray:
        if self.transform is None:
            return image
        self.transform.set_random_seed(seed)
        return self.transform(image=image)["image"]


class FaceSRDataset(Dataset):
    """HR crops as float ``[0, 1]`` tensors, augmented with the sampler's per-sample seed."""

    def __init__(self, crops: FaceCrops, augment: PairedAugment | None = None) -> None:
        self.crops = crops
        self.augment = augment

    def __len__(self) -> int:
        return self.crops.images.shape[0]

    def __getitem__(self, item: tuple[int, int] | int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(hr, seed)``: the seed also drives the optional LR degradations (:func:`degrade_lr`)."""
        index, seed = item if isinstance(item, tuple) else (item, 0)
        x = self.crops.images[index]
        if self.augment is not None:
            x = torch.from_numpy(np.ascontiguousarray(self.augment(x.permute(1, 2, 0).numpy(), seed))).permute(2, 0, 1)
        return x.float() / 255.0, torch.tensor(seed, dtype=torch.int64)


def make_lr(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic downscale with antialias (kornia), clamped to ``[0, 1]``: the standard SR degradation."""
    from kornia.geometry.transform import rescale

    return rescale(hr, 1.0 / scale, interpolation="bicubic", antialias=True).clamp(0, 1)


@dataclass
class Degradations:
    """Optional LR degradations for models meant for real photos (off by default: clean bicubic LR).

    Per sample, drawn from its seed: Gaussian blur (before downscaling) with sigma in ``[0, blur_sigma]``,
    Gaussian noise with std in ``[0, noise_std]`` and JPEG at quality in ``jpeg_quality`` (each applied with
    probability ``p``).
    """

    blur_sigma: float = 1.2
    noise_std: float = 0.02
    jpeg_quality: tuple[int, int] = (50, 95)
    p: float = 0.5


def degrade_lr(hr: torch.Tensor, scale: int, seeds: torch.Tensor, cfg: Degradations) -> torch.Tensor:
    """LR from HR with per-sample random blur, noise and JPEG (deterministic given the seeds)."""
    import io

    from kornia.filters import gaussian_blur2d

    out = []
    for x, seed in zip(hr, seeds.tolist()):
        g = torch.Generator().manual_seed(int(seed) ^ 0x5EED)
        u = torch.rand(6, generator=g).tolist()
        x = x[None]
        if u[0] < cfg.p and cfg.blur_sigma > 0:
            sigma = 0.2 + u[1] * cfg.blur_sigma
            k = 2 * int(3 * sigma * scale / 2) + 1
            x = gaussian_blur2d(x, (k, k), (sigma * scale / 2, sigma * scale / 2))
        lr = make_lr(x, scale)
        if u[2] < cfg.p and cfg.noise_std > 0:
            lr = (lr + torch.randn(lr.shape, generator=g).to(lr.device) * u[3] * cfg.noise_std).clamp(0, 1)
        if u[4] < cfg.p:
            q = int(cfg.jpeg_quality[0] + u[5] * (cfg.jpeg_quality[1] - cfg.jpeg_quality[0]))
            arr = (lr[0].permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
            buf = io.BytesIO()
            Image.fromarray(arr).save(buf, format="JPEG", quality=q)
            dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), dtype=np.float32) / 255
            lr = torch.from_numpy(dec).permute(2, 0, 1)[None].to(lr.device)
        out.append(lr)
    return torch.cat(out)


def bicubic_upscale(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """The bicubic baseline every report compares against (``align_corners=False``), clamped to ``[0, 1]``."""
    import torch.nn.functional as F

    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False).clamp(0, 1)
