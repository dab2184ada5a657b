"""Bundled toy data: scikit-learn's 8x8 handwritten digits, upsampled (for tests and the penalty benchmark)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset


def load_digits_tensor(resolution: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(images, labels)``: 1,797 digits as ``(N, 1, r, r)`` floats in ``[-1, 1]`` and int64 labels.

    The 8x8 images (values 0..16) are upsampled bilinearly (no gradient is ever taken through this).
    """
    from sklearn.datasets import load_digits  # test/benchmark extra

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if resolution != 8:
        x = F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False)
    x = x.clamp(0, 1) * 2 - 1
    return x, torch.tensor(digits.target, dtype=torch.int64)


class TensorClassDataset(Dataset):
    """In-memory ``(image, label)`` dataset that accepts the sampler's ``(index, seed)`` items.

    With ``flip=False`` (digits must not be mirrored) the per-sample seed is unused.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, class_names: list[str] | None = None) -> None:
        self.images = images
        self.labels = labels
        self.class_names = class_names or [str(i) for i in range(int(labels.max()) + 1)]

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, item: tuple[int, int] | int) -> tuple[torch.Tensor, torch.Tensor]:
        index = item[0] if isinstance(item, tuple) else item
        return self.images[index], self.labels[index]
