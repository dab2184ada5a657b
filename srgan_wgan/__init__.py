"""srgan-wgan: conditional Wasserstein GANs for face super-resolution and style-conditioned painting generation.

Top-level names are imported lazily, so loading release weights (``srgan_wgan.io``) never pulls in the training
engine.
"""

from __future__ import annotations

import importlib
from typing import Any

from srgan_wgan.errors import ConfigError, UserError, WeightsError
from srgan_wgan.version import __version__

_LAZY: dict[str, str] = {
    "CondGenerator": "srgan_wgan.archs",
    "CondGeneratorConfig": "srgan_wgan.archs",
    "ConvCritic": "srgan_wgan.archs",
    "CriticConfig": "srgan_wgan.archs",
    "FaceUpscaler": "srgan_wgan.apps.face_sr",
    "GANTask": "srgan_wgan.training",
    "GANTrainConfig": "srgan_wgan.training",
    "GANTrainer": "srgan_wgan.training",
    "load_pretrained": "srgan_wgan.io.weights",
    "save_pretrained": "srgan_wgan.io.weights",
    "seed_everything": "srgan_wgan.utils.seed",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'srgan_wgan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["ConfigError", "UserError", "WeightsError", "__version__", *_LAZY]
