"""Image-quality metrics for super-resolution: PSNR (RGB and Y), SSIM (kornia), LPIPS-alex.

Protocol (as in BasicSR / the SR literature): images in ``[0, 1]``, quantised to 8 bits, a border of ``shave``
pixels (the scale) removed before PSNR/SSIM; Y is ITU-R BT.601 luma in ``[16, 235]`` (MATLAB ``rgb2ycbcr``).
"""

from __future__ import annotations

import torch


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Round to 8-bit levels (what a saved PNG holds)."""
    return (x.clamp(0, 1) * 255).round() / 255


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of RGB in ``[0, 1]``, in ``[16/255, 235/255]`` (MATLAB convention); ``(B, 1, H, W)``."""
    w = torch.tensor([65.481, 128.553, 24.966], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return ((x * w).sum(1, keepdim=True) + 16.0) / 255.0


def _shave(x: torch.Tensor, border: int) -> torch.Tensor:
    return x[..., border:-border, border:-border] if border > 0 else x


def psnr(x: torch.Tensor, y: torch.Tensor, shave: int = 0, y_channel: bool = False) -> torch.Tensor:
    """Per-image PSNR in dB ``(B,)`` after 8-bit quantisation and shaving ``shave`` border pixels."""
    x, y = quantize(x.float()), quantize(y.float())
    if y_channel:
        x, y = rgb_to_y(x), rgb_to_y(y)
    mse = (_shave(x, shave) - _shave(y, shave)).pow(2).flatten(1).mean(1)
    return 10 * torch.log10(1.0 / mse.clamp_min(1e-12))


def ssim(x: torch.Tensor, y: torch.Tensor, shave: int = 0, y_channel: bool = True) -> torch.Tensor:
    """Per-image SSIM ``(B,)`` (kornia, 11x11 Gaussian window), on Y by default."""
    from kornia.metrics import ssim as kssim

    x, y = quantize(x.float()), quantize(y.float())
    if y_channel:
        x, y = rgb_to_y(x), rgb_to_y(y)
    return kssim(_shave(x, shave), _shave(y, shave), window_size=11).flatten(1).mean(1)

