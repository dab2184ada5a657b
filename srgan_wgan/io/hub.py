"""Named release weights: where they are looked up and where they would be downloaded from.

Nothing is downloaded at run time unless asked: a missing model is a clear error that names the folders searched
and the release URL to fetch it from.
"""

from __future__ import annotations

import os
from pathlib import Path

from srgan_wgan.errors import UserError, WeightsError
from srgan_wgan.version import __version__

RELEASE_URL = "https://github.com/srgan-wgan/srgan-wgan/releases/download/v{version}/{name}.zip"


def weights_dirs() -> list[Path]:
    """Search order: ``$SRGAN_WGAN_WEIGHTS``, the checkout's ``weights/``, ``~/.cache/srgan_wgan/weights``."""
    dirs = []
    if os.environ.get("SRGAN_WGAN_WEIGHTS"):
        dirs.append(Path(os.environ["SRGAN_WGAN_WEIGHTS"]))
    dirs.append(Path(__file__).resolve().parents[2] / "weights")
    dirs.append(Path.home() / ".cache" / "srgan_wgan" / "weights")
    return dirs


def resolve_weights(model: str | os.PathLike[str], known: tuple[str, ...], file: str = "generator.safetensors") -> Path:
    """A model name from ``known`` or a path (file, or folder holding ``file``) -> the weights file."""
    p = Path(model)
    if p.exists():
        p = p / file if p.is_dir() else p
        if not p.is_file():
            raise WeightsError(f"{model}: no {file} in this folder")
        return p
    name = str(model)
    if name not in known:
        raise UserError(f"unknown model {name!r}: use one of {', '.join(known)} or a path to weights")
    for d in weights_dirs():
        f = d / name / file
        if f.is_file():
            return f
    raise WeightsError(
        f"model {name!r} is not installed (looked in {', '.join(str(d) for d in weights_dirs())}); "
        f"get it from {RELEASE_URL.format(version=__version__, name=name)} and unpack it into one of them"
    )
