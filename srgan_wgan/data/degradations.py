"""Seeded random degradations of real photos, in the manner of Real-ESRGAN (Wang et al. 2021) and GFPGAN (2021).

One pipeline serves the blind face-restoration model and the general-photo SR model:

1. blur with a random isotropic or anisotropic Gaussian kernel;
2. resize by a random factor with a random resizer (PIL, OpenCV and torch/kornia bicubic, bilinear, area, Lanczos:
   the kernels a user's photo was really made with);
3. Gaussian (colour or grey) or Poisson noise;
4. JPEG at a random quality;
5. optionally a second pass of 1-4 (Real-ESRGAN's second order);
6. a final resize to the requested size with a random resizer (and, in the second order, JPEG before or after it);
7. with a small probability the pair is made grey.

Everything is drawn from a :class:`numpy.random.Generator`, so one seed gives one degradation (the training sampler
hands each sample its seed). Images are ``(H, W, 3)`` float32 arrays in ``[0, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np
import torch
from PIL import Image

__all__ = ["DegradationConfig", "PIPELINE_PRESETS", "RESIZERS", "degrade", "degrade_batch", "gaussian_kernel",
           "resize", "jpeg", "add_gaussian_noise", "add_poisson_noise", "blur"]


# ---- resizers ---------------------------------------------------------------------------------------------------
def _pil(method: int) -> Callable[[np.ndarray, tuple[int, int]], np.ndarray]:
    def run(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        h, w = size
        chans = [np.asarray(Image.fromarray(np.ascontiguousarray(img[..., c]), mode="F").resize((w, h), method))
                 for c in range(img.shape[2])]
        return np.stack(chans, -1)

    return run


def _cv2(flag: int) -> Callable[[np.ndarray, tuple[int, int]], np.ndarray]:
    def run(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        h, w = size
        return cv2.resize(img, (w, h), interpolation=flag)

    return run


def _torch(mode: str, antialias: bool) -> Callable[[np.ndarray, tuple[int, int]], np.ndarray]:
    def run(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]
        kw = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
        if mode in ("bilinear", "bicubic"):
            kw["antialias"] = antialias
        y = torch.nn.functional.interpolate(x, size=size, mode=mode, **kw)
        return y[0].permute(1, 2, 0).numpy()

    return run


RESIZERS: dict[str, Callable[[np.ndarray, tuple[int, int]], np.ndarray]] = {
    "pil_bicubic": _pil(Image.BICUBIC),
    "pil_bilinear": _pil(Image.BILINEAR),
    "pil_lanczos": _pil(Image.LANCZOS),
    "pil_box": _pil(Image.BOX),
    "cv2_bicubic": _cv2(cv2.INTER_CUBIC),
    "cv2_bilinear": _cv2(cv2.INTER_LINEAR),
    "cv2_area": _cv2(cv2.INTER_AREA),
    "cv2_lanczos": _cv2(cv2.INTER_LANCZOS4),
    "torch_bicubic_aa": _torch("bicubic", True),  # kornia's / torchvision's antialiased bicubic
    "torch_bilinear_aa": _torch("bilinear", True),
    "torch_bicubic": _torch("bicubic", False),
    "torch_area": _torch("area", False),
}
"""Name -> ``fn(img, (h, w))``: the resizers a photo may have met (library and kernel)."""


def resize(img: np.ndarray, size: tuple[int, int], kernel: str) -> np.ndarray:
    """Resize ``(H, W, C)`` float32 ``img`` to ``size = (h, w)`` with the resizer named ``kernel``."""
    if kernel not in RESIZERS:
        raise ValueError(f"unknown resize kernel {kernel!r}; choose from {', '.join(RESIZERS)}")
    return RESIZERS[kernel](img.astype(np.float32, copy=False), size).astype(np.float32, copy=False)


# ---- blur, noise, JPEG --------------------------------------------------------------------------------------------
def gaussian_kernel(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """Normalised ``size x size`` Gaussian kernel with std ``sigma_x`` / ``sigma_y`` along axes rotated by ``theta``."""
    r = (size - 1) / 2
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    c, s = np.cos(theta), np.sin(theta)
    u, v = c * xx + s * yy, -s * xx + c * yy
    k = np.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return (k / k.sum()).astype(np.float32)


def blur(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolve each channel with ``kernel`` (reflected borders)."""
    return cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT_101)


def add_gaussian_noise(img: np.ndarray, sigma: float, grey: bool, rng: np.random.Generator) -> np.ndarray:
    """Add Gaussian noise of std ``sigma`` (on the ``[0, 1]`` scale), the same on all channels when ``grey``."""
    shape = img.shape[:2] + (1,) if grey else img.shape
    return img + rng.standard_normal(shape).astype(np.float32) * sigma


def add_poisson_noise(img: np.ndarray, scale: float, grey: bool, rng: np.random.Generator) -> np.ndarray:
    """Shot noise as Real-ESRGAN draws it: photon counts at the image's level of detail, times ``scale``."""
    x = np.clip(img, 0, 1)
    if grey:
        x = x.mean(2, keepdims=True)
    levels = len(np.unique((x * 255).round())) if x.size else 1
    vals = 2 ** np.ceil(np.log2(max(levels, 2)))
    noisy = rng.poisson(x * vals).astype(np.float32) / vals
    return img + (noisy - x) * scale


def jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip through an 8-bit JPEG at ``quality`` (OpenCV's libjpeg, 4:2:0 chroma)."""
    u8 = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", u8[..., ::-1], [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid array
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float32) / 255


# ---- the pipeline -----------------------------------------------------------------------------------------------
@dataclass
class DegradationConfig:
    """Ranges of the random pipeline; the defaults follow Real-ESRGAN / GFPGAN's published settings."""

    blur_prob: float = 0.9
    kernel_sizes: tuple[int, int] = (7, 21)
    sigma: tuple[float, float] = (0.2, 3.0)
    aniso_prob: float = 0.5
    resize_factor: tuple[float, float] = (1.0, 8.0)  # downscale factor of the first pass (log-uniform)
    kernels: tuple[str, ...] = tuple(RESIZERS)
    noise_prob: float = 0.8
    gaussian_sigma: tuple[float, float] = (1 / 255, 25 / 255)
    poisson_scale: tuple[float, float] = (0.05, 2.5)
    poisson_prob: float = 0.4
    grey_noise_prob: float = 0.4
    jpeg_prob: float = 0.9
    jpeg_quality: tuple[int, int] = (30, 95)
    second_pass_prob: float = 0.5
    second_blur_prob: float = 0.6
    second_sigma: tuple[float, float] = (0.2, 1.5)
    second_resize: tuple[float, float] = (1.0, 2.0)  # further downscale of the second pass
    grey_prob: float = 0.02
    clean_prob: float = 0.0
    """Share of samples whose LR is only resized, by a random kernel (no blur, noise or JPEG), so that a model
    trained on the pipeline keeps its fidelity on clean input too (no extra random draw when 0)."""

    @classmethod
    def random_kernel(cls) -> DegradationConfig:
        """Clean LR made by a resizer drawn at random from :data:`RESIZERS` (no blur, noise, JPEG or second pass):
        a fixed-scale model trained on it works on LR from any common library, not only kornia's bicubic."""
        return cls(blur_prob=0.0, resize_factor=(1.0, 1.0), noise_prob=0.0, jpeg_prob=0.0, second_pass_prob=0.0,
                   grey_prob=0.0)

    @classmethod
    def light(cls) -> DegradationConfig:
        """A milder pipeline for whole photos: blur sigma <= 1.5, an extra downscale <= 2x, less noise, JPEG 40-95, a
        second pass for 30 %. Real-ESRGAN's ranges teach a small network to sharpen every input hard, which costs
        PSNR on clean LR; real photos are mostly compressed and a little soft rather than blurred 8x."""
        return cls(blur_prob=0.7, sigma=(0.2, 1.5), resize_factor=(1.0, 2.0), noise_prob=0.6,
                   gaussian_sigma=(1 / 255, 15 / 255), poisson_scale=(0.05, 1.5), jpeg_quality=(40, 95),
                   second_pass_prob=0.3, second_sigma=(0.2, 1.0), second_resize=(1.0, 1.5))

    def __post_init__(self) -> None:
        unknown = [k for k in self.kernels if k not in RESIZERS]
        if unknown or not self.kernels:
            raise ValueError(f"unknown resize kernels {unknown}; choose from {', '.join(RESIZERS)}")
        lo, hi = self.resize_factor
        if not 1.0 <= lo <= hi:
            raise ValueError(f"resize_factor must satisfy 1 <= low <= high, got {self.resize_factor}")
        if not 0.0 <= self.clean_prob <= 1.0:
            raise ValueError(f"clean_prob must be in [0, 1], got {self.clean_prob}")


PIPELINE_PRESETS: dict[str, Callable[[], DegradationConfig]] = {
    "realesrgan": DegradationConfig, "light": DegradationConfig.light}
"""Named pipelines of ``sr train --pipeline --pipeline-preset NAME``: Real-ESRGAN's ranges (the default) or milder."""


def _random_blur(img: np.ndarray, sigma: tuple[float, float], cfg: DegradationConfig,
                 rng: np.random.Generator) -> np.ndarray:
    lo, hi = cfg.kernel_sizes
    size = int(rng.integers(lo // 2, hi // 2 + 1)) * 2 + 1
    sx = float(rng.uniform(*sigma))
    if rng.random() < cfg.aniso_prob:
        sy, theta = float(rng.uniform(*sigma)), float(rng.uniform(0, np.pi))
    else:
        sy, theta = sx, 0.0
    return blur(img, gaussian_kernel(size, sx, sy, theta))


def _random_noise(img: np.ndarray, cfg: DegradationConfig, rng: np.random.Generator) -> np.ndarray:
    grey = bool(rng.random() < cfg.grey_noise_prob)
    if rng.random() < cfg.poisson_prob:
        return add_poisson_noise(img, float(rng.uniform(*cfg.poisson_scale)), grey, rng)
    return add_gaussian_noise(img, float(rng.uniform(*cfg.gaussian_sigma)), grey, rng)


def _log_uniform(lo: float, hi: float, rng: np.random.Generator) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if hi > lo else float(lo)


def _shrink(img: np.ndarray, factor: float, kernel: str) -> np.ndarray:
    h, w = img.shape[:2]
    return resize(img, (max(1, round(h / factor)), max(1, round(w / factor))), kernel)


def degrade(hr: np.ndarray, out_size: tuple[int, int], cfg: DegradationConfig, rng: np.random.Generator
            ) -> tuple[np.ndarray, bool]:
    """A random low-quality version of ``hr`` at ``out_size = (h, w)``, and whether the pair is to be made grey.

    For a fixed-scale SR model ``out_size`` is the HR size over the scale; for a restoration model it is the HR size
    itself (the face comes back blurred, small, noisy and compressed at its working size).
    """
    x = hr.astype(np.float32, copy=True)
    kernels = cfg.kernels
    if cfg.clean_prob > 0 and rng.random() < cfg.clean_prob:
        return np.clip(resize(x, out_size, kernels[int(rng.integers(len(kernels)))]), 0, 1), False
    if rng.random() < cfg.blur_prob:
        x = _random_blur(x, cfg.sigma, cfg, rng)
    x = _shrink(x, _log_uniform(*cfg.resize_factor, rng), kernels[int(rng.integers(len(kernels)))])
    if rng.random() < cfg.noise_prob:
        x = _random_noise(x, cfg, rng)
    if rng.random() < cfg.jpeg_prob:
        x = jpeg(x, int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)))
    if rng.random() < cfg.second_pass_prob:
        if rng.random() < cfg.second_blur_prob:
            x = _random_blur(x, cfg.second_sigma, cfg, rng)
        x = _shrink(x, _log_uniform(*cfg.second_resize, rng), kernels[int(rng.integers(len(kernels)))])
        if rng.random() < cfg.noise_prob:
            x = _random_noise(x, cfg, rng)
        if rng.random() < 0.5:  # Real-ESRGAN: final resize then JPEG, or JPEG then final resize
            x = resize(x, out_size, kernels[int(rng.integers(len(kernels)))])
            x = jpeg(x, int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)))
        else:
            x = jpeg(x, int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)))
    if x.shape[:2] != tuple(out_size):
        x = resize(x, out_size, kernels[int(rng.integers(len(kernels)))])
    grey = bool(rng.random() < cfg.grey_prob)
    return np.clip(x, 0, 1).astype(np.float32), grey


def _to_grey(x: torch.Tensor) -> torch.Tensor:
    w = torch.tensor([0.299, 0.587, 0.114], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True).expand_as(x).contiguous()


def degrade_batch(hr: torch.Tensor, seeds: torch.Tensor | list[int], out_size: tuple[int, int],
                  cfg: DegradationConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """``(lr, hr)`` float batches in ``[0, 1]`` from an HR batch (uint8 or float ``(B, 3, H, W)``), one seed each.

    The HR of a sample drawn grey is made grey as well, so that the model is not taught to invent colour.
    """
    hr_f = hr.float() / 255 if hr.dtype == torch.uint8 else hr.float()
    lrs, hrs = [], []
    for img, seed in zip(hr_f.cpu(), list(map(int, seeds))):
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0xDE6])
        lr, grey = degrade(img.permute(1, 2, 0).numpy(), out_size, cfg, rng)
        lr_t = torch.from_numpy(lr).permute(2, 0, 1)[None]
        hr_t = img[None]
        if grey:
            lr_t, hr_t = _to_grey(lr_t), _to_grey(hr_t)
        lrs.append(lr_t)
        hrs.append(hr_t)
    return torch.cat(lrs).to(hr.device), torch.cat(hrs).to(hr.device)
