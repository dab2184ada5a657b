"""Differentiable augmentation of the critic's inputs (DiffAugment, Zhao et al. 2020) for small datasets.

Every image the critic sees, real or generated (and the gradient-penalty interpolates), goes through the same
random, differentiable transforms, so the critic cannot memorise a small training set while the generator still
receives gradients through the transforms. Policies (comma-separated): ``color`` (brightness, saturation,
contrast), ``translation`` (shift by up to 1/8 of the size, zero fill), ``cutout`` (a zeroed square of half the
size). Randomness comes from the ``torch.Generator`` passed in, so seeded runs stay reproducible.
"""

from __future__ import annotations

import torch

from srgan_wgan.errors import ConfigError

DIFFAUG_POLICIES: tuple[str, ...] = ("color", "translation", "cutout")


def parse_policy(policy: str) -> list[str]:
    """Split and check a policy string (``""`` = no augmentation)."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [p for p in names if p not in DIFFAUG_POLICIES]
    if unknown:
        raise ConfigError(f"unknown DiffAugment policy {', '.join(unknown)}; choose from {', '.join(DIFFAUG_POLICIES)}")
    return names


def _rand(x: torch.Tensor, generator: torch.Generator | None, *shape: int) -> torch.Tensor:
    return torch.rand(x.shape[0], *shape, generator=generator, device=x.device, dtype=torch.float32).to(x.dtype)


def augment_color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5), per sample."""
    x = x + (_rand(x, generator, 1, 1, 1) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, generator, 1, 1, 1) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, generator, 1, 1, 1) + 0.5) + mean


def augment_translation(x: torch.Tensor, generator: torch.Generator | None = None, ratio: float = 0.125) -> torch.Tensor:
    """Shift every sample by a random integer offset up to ``ratio`` of its size; uncovered pixels are zero."""
    b, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ty = torch.randint(-sh, sh + 1, (b, 1, 1), generator=generator, device=x.device)
    tx = torch.randint(-sw, sw + 1, (b, 1, 1), generator=generator, device=x.device)
    gy = torch.arange(h, device=x.device).view(1, h, 1) + ty  # source row of every output pixel
    gx = torch.arange(w, device=x.device).view(1, 1, w) + tx
    valid = ((gy >= 0) & (gy < h) & (gx >= 0) & (gx < w)).unsqueeze(1).to(x.dtype)
    flat = (gy.clamp(0, h - 1) * w + gx.clamp(0, w - 1)).view(b, 1, h * w).expand(-1, x.shape[1], -1)
    return x.flatten(2).gather(2, flat).view_as(x) * valid


def augment_cutout(x: torch.Tensor, generator: torch.Generator | None = None, ratio: float = 0.5) -> torch.Tensor:
    """Zero a random square of ``ratio`` times the size in every sample (it may overhang the border)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), generator=generator, device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), generator=generator, device=x.device)
    ys = torch.arange(h, device=x.device).view(1, h, 1) - (oy - ch // 2)
    xs = torch.arange(w, device=x.device).view(1, 1, w) - (ox - cw // 2)
    inside = (ys >= 0) & (ys < ch) & (xs >= 0) & (xs < cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


_OPS = {"color": augment_color, "translation": augment_translation, "cutout": augment_cutout}


def diff_augment(x: torch.Tensor, policy: str | list[str], generator: torch.Generator | None = None) -> torch.Tensor:
    """Apply the policy's transforms in order (``color``, ``translation``, ``cutout``) to ``(B, C, H, W)`` images."""
    names = parse_policy(policy) if isinstance(policy, str) else policy
    for name in names:
        x = _OPS[name](x, generator)
    return x
