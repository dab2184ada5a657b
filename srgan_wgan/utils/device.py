"""Device resolution shared by training and inference."""

from __future__ import annotations

import torch

from srgan_wgan.errors import UserError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:N" | "mps"`` into a ``torch.device``.

    Raises:
        UserError: when a CUDA device is requested but none is available.
    """
    if isinstance(device, torch.device):
        return device
    name = device.strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {device}: no CUDA GPU is available on this machine (use --device cpu)")
    if name == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise UserError("--device mps: Apple MPS is not available on this machine")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise UserError(f"unknown device {device!r} (use auto, cpu, cuda or cuda:N)") from exc
