"""Resume state: everything needed to continue a run bit-for-bit, written atomically.

Resume state (``resume.pt``: models, EMA, optimizers, GradScaler, step, sampler position, RNG states) is
separate from release weights (``export/*.safetensors``). It holds only tensors and primitive containers,
so it loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from srgan_wgan.errors import UserError
from srgan_wgan.io.atomic import atomic_write

RESUME_FILE = "resume.pt"


def save_resume_state(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """``torch.save`` to a temporary file, fsync, then rename: the previous file survives any failure."""
    try:
        with atomic_write(path) as tmp:
            torch.save(state, tmp)
    except OSError as exc:
        raise UserError(f"cannot write checkpoint {path}: {exc.strerror or exc} (previous checkpoint kept)") from exc


def load_resume_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a resume state written by :func:`save_resume_state` (safe unpickling)."""
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise UserError(f"{path}: no checkpoint to resume from") from exc
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise UserError(f"{path}: corrupt or incompatible checkpoint ({type(exc).__name__})") from exc
