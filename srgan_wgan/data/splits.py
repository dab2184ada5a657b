"""Deterministic train / validation / test splits shared by every application."""

from __future__ import annotations

import hashlib
from pathlib import Path


def split_by_hash(files: list[Path], val_fraction: float, salt: str = "") -> tuple[list[Path], list[Path]]:
    """Deterministic train/val split by a hash of each file name (stable when files are added or removed).

    A different ``salt`` draws an independent split (e.g. a validation split inside a training split)."""
    train, val = [], []
    for f in files:
        h = int.from_bytes(hashlib.blake2b((salt + f.name).encode(), digest_size=8).digest(), "little")
        (val if (h % 10_000) < val_fraction * 10_000 else train).append(f)
    return train, val
