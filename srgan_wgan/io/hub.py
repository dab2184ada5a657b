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


def cache_root() -> Path:
    """``$SRGAN_WGAN_CACHE``, default ``~/.cache/srgan_wgan``."""
    root = os.environ.get("SRGAN_WGAN_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "srgan_wgan"


def search_paths(kind: str) -> list[Path]:
    """The folders searched, in order, for local files of one ``kind`` (the only place this order is written):

    * ``"weights"`` (release models): ``$SRGAN_WGAN_WEIGHTS``, the checkout's ``weights/``, the cache's ``weights/``;
    * ``"backbones"`` (ImageNet VGG16 / AlexNet ``features``): ``$SRGAN_WGAN_BACKBONES``,
      ``$SRGAN_WGAN_SHARED/weights/backbones`` (the development data, when that variable is set), the cache's
      ``backbones/``;
    * ``"onnx"`` (onnxruntime exports of releases): the cache's ``onnx/``.
    """
    env = {"weights": "SRGAN_WGAN_WEIGHTS", "backbones": "SRGAN_WGAN_BACKBONES"}
    if kind not in (*env, "onnx"):
        raise ValueError(f"unknown kind of file {kind!r}")
    paths = [Path(os.environ[env[kind]])] if os.environ.get(env.get(kind, "")) else []
    if kind == "weights":
        paths.append(Path(__file__).resolve().parents[2] / "weights")
    if kind == "backbones" and os.environ.get("SRGAN_WGAN_SHARED"):
        paths.append(Path(os.environ["SRGAN_WGAN_SHARED"]) / "weights" / "backbones")
    return [*paths, cache_root() / kind]


def weights_dirs() -> list[Path]:
    """Where release models are looked up (:func:`search_paths` ``("weights")``)."""
    return search_paths("weights")


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
