"""Deterministic train / validation / test splits shared by every application."""

from __future__ import annotations

import hashlib
from pathlib import Path

from srgan_wgan.data.folders import scan_images
from srgan_wgan.errors import UserError


def split_by_hash(files: list[Path], val_fraction: float, salt: str = "") -> tuple[list[Path], list[Path]]:
    """Deterministic train/val split by a hash of each file name (stable when files are added or removed).

    A different ``salt`` draws an independent split (e.g. a validation split inside a training split)."""
    train, val = [], []
    for f in files:
        h = int.from_bytes(hashlib.blake2b((salt + f.name).encode(), digest_size=8).digest(), "little")
        (val if (h % 10_000) < val_fraction * 10_000 else train).append(f)
    return train, val


def split_image_folder(root: str | Path, val_fraction: float) -> tuple[list[Path], list[Path]]:
    """Scan ``root`` recursively and split its images by file-name hash; all of them train when the split would
    leave no training file. Raises :class:`UserError` if there are no images."""
    files = scan_images(root)
    if not files:
        raise UserError(f"no images (jpg/png/webp/...) found under {root}")
    train, val = split_by_hash(files, val_fraction)
    return (train, val) if train else (val, [])
