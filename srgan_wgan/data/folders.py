"""Image folders: recursive scanning, robust decoding (unreadable files are skipped and counted).

Everything here validates before any model is built, so a missing or empty folder is one clear error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srgan_wgan.errors import UserError
from srgan_wgan.io.images import read_rgb

log = logging.getLogger("srgan_wgan")

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


def scan_images(root: str | Path, recursive: bool = True) -> list[Path]:
    """Sorted image files under ``root`` (by extension). Raises :class:`UserError` if ``root`` is not a folder."""
    root = Path(root)
    if not root.exists():
        raise UserError(f"data folder not found: {root}")
    if not root.is_dir():
        raise UserError(f"not a folder: {root}")
    pattern = root.rglob("*") if recursive else root.glob("*")
    return sorted(p for p in pattern if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def scan_class_folders(root: str | Path) -> dict[str, list[Path]]:
    """ImageFolder convention: ``{class_name: [files]}`` for each sub-folder of ``root`` holding images.

    Raises :class:`UserError` if ``root`` is missing, has no sub-folders, or none of them holds images.
    """
    root = Path(root)
    scan_images(root, recursive=False)  # existence checks
    subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not subdirs:
        raise UserError(f"{root} has no sub-folders: put the images of each class (style) in its own sub-folder")
    classes = {d.name: scan_images(d) for d in subdirs}
    classes = {k: v for k, v in classes.items() if v}
    if not classes:
        raise UserError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) found in the sub-folders of {root}")
    return classes


def square_resize(im: Image.Image, size: int) -> np.ndarray:
    """Centre-crop the largest square and resize it to ``size`` (Lanczos); ``(size, size, 3)`` uint8."""
    w, h = im.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    im = im.crop((left, top, left + s, top + s)).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(im, dtype=np.uint8)


@dataclass
class DecodedFolder:
    """Images of a class folder decoded once to ``(N, 3, size, size)`` uint8, with labels and skip counts."""

    images: torch.Tensor
    labels: torch.Tensor
    class_names: list[str]
    files: list[str]
    skipped: list[str] = field(default_factory=list)

    @property
    def class_counts(self) -> dict[str, int]:
        counts = torch.bincount(self.labels, minlength=len(self.class_names)).tolist()
        return dict(zip(self.class_names, counts))


def decode_class_folders(
    root: str | Path, size: int, classes: dict[str, list[Path]] | None = None, progress: bool = False
) -> DecodedFolder:
    """Decode every image of an ImageFolder tree to ``size`` x ``size``; unreadable files are skipped and counted."""
    classes = classes if classes is not None else scan_class_folders(root)
    names = list(classes)
    images: list[np.ndarray] = []
    labels: list[int] = []
    files: list[str] = []
    skipped: list[str] = []
    for label, name in enumerate(names):
        for path in classes[name]:
            try:
                images.append(square_resize(read_rgb(path), size))
            except (OSError, ValueError, SyntaxError) as exc:
                skipped.append(str(path))
                log.warning("skipped unreadable image %s (%s)", path, exc)
                continue
            labels.append(label)
            files.append(str(path))
    if not images:
        raise UserError(f"none of the images under {root} could be read ({len(skipped)} unreadable)")
    if skipped:
        log.warning("%d unreadable image(s) skipped under %s", len(skipped), root)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return DecodedFolder(x, torch.tensor(labels, dtype=torch.int64), names, files, skipped)
