"""Whole-photo SR data: a folder of natural photos, split by file hash, decoded once, and served as seeded random
HR patches (a position and one of the 8 flips/rotations per sample), so a few hundred photos give a stream of
distinct training crops."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from srgan_wgan.data.faces import FaceCrops
from srgan_wgan.data.splits import split_image_folder
from srgan_wgan.errors import UserError
from srgan_wgan.io.images import read_rgb

log = logging.getLogger("srgan_wgan")


@dataclass
class Photos:
    """Decoded photos (each ``(3, H, W)`` uint8, sizes vary), their files, and those skipped (unreadable, or smaller
    than the patch size)."""

    images: list[torch.Tensor]
    files: list[str]
    skipped: list[str] = field(default_factory=list)


def load_photos(files: list[Path], min_size: int, cache_dir: str | Path | None = None) -> Photos:
    """Decode ``files``; photos whose shorter side is under ``min_size`` are skipped (and counted)."""
    key = hashlib.blake2b(("\n".join(map(str, files)) + f"|{min_size}").encode(), digest_size=10).hexdigest()
    cache = Path(cache_dir) / f"photos_{key}.pt" if cache_dir else None
    if cache is not None and cache.is_file():
        data = torch.load(cache, weights_only=True)
        return Photos(list(data["images"]), data["files"], data["skipped"])
    images, kept, skipped = [], [], []
    for f in files:
        try:
            im = read_rgb(f)
        except (OSError, ValueError, SyntaxError) as exc:
            skipped.append(str(f))
            log.warning("skipped unreadable image %s (%s)", f, exc)
            continue
        if min(im.size) < min_size:
            skipped.append(str(f))
            continue
        images.append(torch.from_numpy(np.array(im, dtype=np.uint8)).permute(2, 0, 1).contiguous())
        kept.append(str(f))
    if not images:
        raise UserError(f"none of the {len(files)} photo(s) could be read at {min_size} px or more")
    if skipped:
        log.warning("%d photo(s) skipped (unreadable or under %d px)", len(skipped), min_size)
    photos = Photos(images, kept, skipped)
    if cache is not None:
        from srgan_wgan.io.atomic import atomic_write

        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(cache) as tmp:
            torch.save({"images": images, "files": kept, "skipped": skipped}, tmp)
    return photos


def photo_folder_splits(root: str | Path, patch: int, val_fraction: float = 0.05,
                        cache_dir: str | Path | None = None) -> tuple[Photos, Photos | None]:
    """Scan ``root`` recursively, split by file-name hash, decode both splits."""
    train, val = split_image_folder(root, val_fraction)
    return load_photos(train, patch, cache_dir), (load_photos(val, patch, cache_dir) if val else None)


def centre_patches(photos: Photos, size: int) -> FaceCrops:
    """One centre ``size`` crop per photo: the fixed validation set (and sample grid) of a photo run."""
    crops = []
    for im in photos.images:
        h, w = im.shape[-2:]
        top, left = (h - size) // 2, (w - size) // 2
        crops.append(im[:, top:top + size, left:left + size])
    return FaceCrops(torch.stack(crops), list(photos.files))


class PhotoPatches(Dataset):
    """``patches_per_photo`` random ``size`` patches per photo per epoch, drawn from the sampler's seed: position,
    then one of the 8 dihedral transforms. Items are ``(hr in [0, 1], seed)``, as :class:`FaceSRDataset`'s."""

    def __init__(self, photos: Photos, size: int, patches_per_photo: int = 16) -> None:
        self.photos = photos
        self.size = size
        self.patches_per_photo = patches_per_photo

    def __len__(self) -> int:
        return len(self.photos.images) * self.patches_per_photo

    def __getitem__(self, item: tuple[int, int] | int) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = item if isinstance(item, tuple) else (item, 0)
        im = self.photos.images[index % len(self.photos.images)]
        rng = np.random.default_rng(seed)
        h, w = im.shape[-2:]
        top, left = int(rng.integers(0, h - self.size + 1)), int(rng.integers(0, w - self.size + 1))
        x = im[:, top:top + self.size, left:left + self.size]
        k = int(rng.integers(0, 8))
        x = torch.rot90(x, k % 4, dims=(-2, -1))
        if k >= 4:
            x = x.flip(-1)
        return x.float() / 255.0, torch.tensor(seed, dtype=torch.int64)
