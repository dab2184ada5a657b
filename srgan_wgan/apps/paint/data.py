"""Painting data: the style folders' dataset (seeded crops, same-style groups) and the per-style held-out splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from srgan_wgan.data.folders import DecodedFolder
from srgan_wgan.errors import UserError


class PaintingDataset(Dataset):
    """Decoded paintings as ``[-1, 1]`` floats, augmented from the per-sample seed: a horizontal flip and, with
    ``crop_scale < 1``, a random resized square crop covering ``crop_scale``..1 of the area (albumentations)."""

    def __init__(self, folder: DecodedFolder, flip: bool = True, balanced: bool = True,
                 single_class: bool = False, crop_scale: float = 1.0, group_size: int = 0) -> None:
        self.folder = folder
        self.flip = flip
        self.crop = None
        if crop_scale < 1.0:
            import albumentations as A

            r = folder.images.shape[-1]
            self.crop = A.Compose([A.RandomResizedCrop(size=(r, r), scale=(crop_scale, 1.0), ratio=(1.0, 1.0), p=1.0)])
        self.single_class = single_class
        """Every label is 0 (an unconditional model); the balanced sampling still follows the real styles."""
        self.class_names = folder.class_names
        counts = torch.bincount(folder.labels, minlength=len(folder.class_names)).double()
        self.sample_weights = (1.0 / counts[folder.labels]) if balanced else None
        """Class-balanced sampling: every style is drawn equally often, whatever its count."""
        self.sample_groups = (folder.labels, group_size) if group_size else None
        """Batches of same-style groups of ``group_size`` (for the critic's minibatch stddev), or None."""

    def __len__(self) -> int:
        return self.folder.images.shape[0]

    def __getitem__(self, item: tuple[int, int] | int) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = item if isinstance(item, tuple) else (item, 0)
        x = self.folder.images[index]
        if self.crop is not None:
            self.crop.set_random_seed(seed)
            x = torch.from_numpy(np.ascontiguousarray(self.crop(image=x.permute(1, 2, 0).numpy())["image"]))
            x = x.permute(2, 0, 1)
        x = x.float() / 127.5 - 1.0
        if self.flip and (seed & 1):
            x = x.flip(-1)
        return x, (torch.zeros((), dtype=torch.int64) if self.single_class else self.folder.labels[index])


UNCONDITIONAL_STYLE = "any"
"""The single style name of an unconditional model (``paint train --unconditional``)."""


def match_style_folders(styles: list[str], classes: dict[str, list[Path]]) -> tuple[dict[str, list[Path]], list[str]]:
    """The files of each of ``styles`` whose sub-folder exists (names matched as :func:`normalize_style` does), in
    the order of ``styles``, and the styles that have no sub-folder."""
    by_key = {normalize_style(k): k for k in classes}
    found = {s: classes[by_key[normalize_style(s)]] for s in styles if normalize_style(s) in by_key}
    return found, [s for s in styles if s not in found]


def split_classes(classes: dict[str, list[Path]], holdout: float) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """Per style, a file-name-hash split into (training, held-out) files."""
    from srgan_wgan.data.splits import split_by_hash

    train, test = {}, {}
    for name, files in classes.items():
        train[name], test[name] = split_by_hash(files, holdout)
    return train, test


EVAL_SPLITS: tuple[str, ...] = ("test", "val")


VAL_SALT = "paint-val"
"""Hash salt of the validation split: ``holdout`` of each style's *training* files, independent of the test split."""


def eval_split(files: dict[str, list[Path]], holdout: float, split: str = "test"
               ) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """``(probe_files, eval_files)`` per style. ``test``: the held-out split that training never sees, the probe fitted
    on the training split. ``val``: a share ``holdout`` of the training split (for choosing checkpoints and settings),
    the probe fitted on the rest of it; the test split is not read."""
    if split not in EVAL_SPLITS:
        raise UserError(f"unknown split {split!r}; choose one of {', '.join(EVAL_SPLITS)}")
    train, test = split_classes(files, holdout)
    if split == "test":
        return train, test
    from srgan_wgan.data.splits import split_by_hash

    fit, val = {}, {}
    for name, fs in train.items():
        fit[name], val[name] = split_by_hash(fs, holdout, salt=VAL_SALT)
    return fit, val


def normalize_style(name: str) -> str:
    """Case- and separator-insensitive key: ``"Ukiyo-e"``, ``"ukiyo_e"`` and ``"UKIYO E"`` all give ``"ukiyoe"``."""
    return "".join(ch for ch in name.casefold() if ch.isalnum())
