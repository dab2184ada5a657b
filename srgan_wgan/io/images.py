"""The project's one image reader, encoder and grid maker.

:func:`read_image` (inference) returns an :class:`ImageData`: float RGB in ``[0, 1]`` plus what is needed to write the
result back the same way (alpha, grayscale, 16-bit, palette, CMYK, EXIF orientation, ICC profile); every failure is
a :class:`~srgan_wgan.errors.UserError` naming the file. :func:`read_rgb` is the lenient decoder of dataset folders.
:func:`encode_image` / :func:`write_image` write every output (atomically, never overwriting without ``force``), and
:func:`image_grid` tiles a batch for sample grids, ``paint generate`` and figures.
"""

from __future__ import annotations

import io
from collections.abc import Callable
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageOps

from srgan_wgan.errors import UserError
from srgan_wgan.io.atomic import atomic_write

DEFAULT_MAX_PIXELS = 64_000_000
"""Decompression-bomb guard: inputs above this many pixels are refused (configurable)."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class ImageData:
    """An image prepared for super-resolution.

    Attributes:
        rgb: ``(H, W, 3)`` float32 in ``[0, 1]`` (grayscale replicated to 3 channels), EXIF orientation applied.
            An upscaler's result may instead be ``uint8`` / ``uint16`` of ``bit_depth`` (``integer=True``).
        alpha: ``(H, W)`` float32 in ``[0, 1]`` or ``None`` (or, in such a result, the same integer type).
        bit_depth: 8 or 16 (written back with the same depth).
        grayscale: the source had one colour channel (written back as grayscale).
        icc_profile: the source's ICC profile bytes, kept on output.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    grayscale: bool = False
    icc_profile: bytes | None = None

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``."""
        return self.rgb.shape[1], self.rgb.shape[0]


def _is_16bit_png(head: bytes) -> bool:
    return head[:8] == _PNG_SIGNATURE and len(head) > 24 and head[24] == 16


def _read_16bit_png(path: Path, data: bytes) -> ImageData:
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise UserError(f"{path}: cannot decode this 16-bit PNG")
    arr = arr.astype(np.float32) / 65535.0
    if arr.ndim == 2:
        return ImageData(np.repeat(arr[..., None], 3, 2), None, 16, True)
    if arr.shape[2] == 2:  # gray + alpha
        return ImageData(np.repeat(arr[..., :1], 3, 2), arr[..., 1], 16, True)
    rgb = arr[..., 2::-1][..., :3] if arr.shape[2] >= 3 else arr
    alpha = arr[..., 3] if arr.shape[2] == 4 else None
    return ImageData(np.ascontiguousarray(rgb), alpha, 16, False)


def read_image(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageData:
    """Decode ``path`` for super-resolution (see :class:`ImageData`). Raises :class:`UserError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    data = path.read_bytes()
    if not data:
        raise UserError(f"{path}: empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            w, h = probe.size
    except (OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"{path}: not a readable image ({exc.__class__.__name__})") from None
    except Image.DecompressionBombError:
        raise UserError(f"{path}: image too large (decompression-bomb guard)") from None
    if w * h > max_pixels:
        raise UserError(f"{path}: {w}x{h} = {w * h:,} pixels exceeds the limit of {max_pixels:,} (--max-pixels)")
    if _is_16bit_png(data):
        return _read_16bit_png(path, data)
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
        im = ImageOps.exif_transpose(im)
    except (OSError, SyntaxError, ValueError) as exc:
        raise UserError(f"{path}: truncated or corrupt image ({exc})".splitlines()[0]) from None
    icc = im.info.get("icc_profile")
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.float32)
        arr = arr / (65535.0 if arr.max() > 255 or mode.startswith("I;16") else 255.0)
        return ImageData(np.repeat(np.clip(arr, 0, 1)[..., None], 3, 2), None, 16, True, icc)
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "CMYK":
        im = im.convert("RGB")
        icc = None  # a CMYK profile does not describe the converted RGB
    elif mode in ("1",):
        im = im.convert("L")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in mode else "RGB")
    arr = np.asarray(im, dtype=np.float32) / 255.0
    if im.mode == "L":
        return ImageData(np.repeat(arr[..., None], 3, 2), None, 8, True, icc)
    if im.mode == "LA":
        return ImageData(np.repeat(arr[..., :1], 3, 2), arr[..., 1], 8, True, icc)
    alpha = arr[..., 3] if im.mode == "RGBA" else None
    return ImageData(np.ascontiguousarray(arr[..., :3]), alpha, 8, False, icc)


def read_rgb(path: str | os.PathLike[str], max_pixels: int = 8192 * 8192) -> Image.Image:
    """Decode a dataset image as RGB with its EXIF orientation applied; raises ``OSError``/``ValueError`` if
    unreadable (dataset loaders skip such files and count them)."""
    with Image.open(path) as im:
        if im.width * im.height > max_pixels:
            raise ValueError(f"{im.width}x{im.height} exceeds the pixel limit {max_pixels}")
        im = ImageOps.exif_transpose(im)
        return im.convert("RGB")


def to_rgb(x: object) -> np.ndarray:
    """A ``(C, H, W)`` tensor or ``(H, W, C)`` array in ``[0, 1]`` as float32 ``(H, W, 3)`` (grey repeated)."""
    if hasattr(x, "detach"):  # a torch tensor, channels first
        x = x.detach().float().cpu().numpy().transpose(1, 2, 0)  # type: ignore[union-attr]
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim == 2:
        arr = arr[..., None]
    return np.repeat(arr, 3, 2) if arr.shape[2] == 1 else arr[..., :3]


def resize_rgb(rgb: np.ndarray, size: int) -> np.ndarray:
    """Resize a float ``(H, W, 3)`` image to ``size x size`` with Lanczos, as 8-bit (what is shown or saved)."""
    im = Image.fromarray(_to_int(rgb, 8), "RGB").resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(im, dtype=np.float32) / 255.0


def image_grid(images: object, nrow: int = 8, pad: int = 2, pad_value: float = 1.0, size: int | None = None
               ) -> np.ndarray:
    """Tile a batch (``(N, C, H, W)`` tensor in ``[0, 1]``, or a sequence of images) into one float ``(H, W, 3)``
    image: ``min(nrow, N)`` per row, ``pad`` pixels of ``pad_value`` around each (torchvision's ``make_grid``
    layout); ``size`` first resizes each tile (Lanczos)."""
    tiles = [to_rgb(x) for x in images]  # type: ignore[attr-defined]
    if not tiles:
        raise ValueError("image_grid needs at least one image")
    if size:
        tiles = [t if t.shape[:2] == (size, size) else resize_rgb(t, size) for t in tiles]
    h, w = tiles[0].shape[:2]
    cols = min(nrow, len(tiles))
    rows = (len(tiles) + cols - 1) // cols
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), pad_value, np.float32)
    for i, t in enumerate(tiles):
        y, x = pad + (i // cols) * (h + pad), pad + (i % cols) * (w + pad)
        grid[y:y + h, x:x + w] = t
    return grid


def quantise(x: np.ndarray, dtype: Any, inplace: bool = False) -> np.ndarray:
    """Float ``x`` in ``[0, 1]`` as ``dtype``: float types unchanged (cast), ``uint8`` / ``uint16`` rounded from
    ``x * 255`` / ``x * 65535`` after clipping (``inplace``: ``x`` may be overwritten, saving a copy)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return x.astype(dtype, copy=False)
    y = np.clip(x, 0, 1, out=x if inplace else None)
    y *= float(np.iinfo(dtype).max)
    y += 0.5
    return y.astype(dtype)


def to_float(x: np.ndarray) -> np.ndarray:
    """An image as float32 in ``[0, 1]`` (integer images divided by their type's maximum)."""
    if x.dtype.kind in "ui":
        return x.astype(np.float32) / float(np.iinfo(x.dtype).max)
    return x.astype(np.float32, copy=False)


def _to_int(x: np.ndarray, depth: int) -> np.ndarray:
    """Float in ``[0, 1]`` (or an integer image of either depth) -> ``uint8`` / ``uint16``."""
    dtype = np.uint16 if depth == 16 else np.uint8
    if x.dtype == dtype:
        return x
    return quantise(to_float(x), dtype)


def encode_image(image: ImageData, suffix: str) -> bytes:
    """Encode ``image`` in the format given by ``suffix`` (``.png``, ``.jpg``, ``.webp``, ...)."""
    buf = io.BytesIO()
    encode_image_to(image, suffix, buf)
    return buf.getvalue()


def encode_image_to(image: ImageData, suffix: str, fp: BinaryIO) -> None:
    """Encode ``image`` as :func:`encode_image` does, straight into the open file ``fp`` (no encoded copy held in
    memory: what :func:`write_image` uses for photos of any size)."""
    suffix = suffix.lower()
    gray = image.rgb[..., 0] if image.grayscale else None
    if image.bit_depth == 16 and suffix in (".png", ".tif", ".tiff"):
        import cv2

        if gray is not None:
            arr = _to_int(gray if image.alpha is None else np.stack([gray, gray, gray, image.alpha], -1), 16)
        else:
            rgb = image.rgb[..., ::-1]
            arr = _to_int(rgb if image.alpha is None else np.concatenate([rgb, image.alpha[..., None]], -1), 16)
        ok, enc = cv2.imencode(suffix, np.ascontiguousarray(arr))
        if not ok:
            raise UserError(f"cannot encode a 16-bit {suffix} image")
        fp.write(enc.data)
        return
    if gray is not None:
        im = Image.fromarray(_to_int(gray, 8), "L")
        if image.alpha is not None:
            im = Image.merge("LA", (im, Image.fromarray(_to_int(image.alpha, 8), "L")))
    else:
        im = Image.fromarray(_to_int(image.rgb, 8), "RGB")
        if image.alpha is not None:
            im.putalpha(Image.fromarray(_to_int(image.alpha, 8), "L"))
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP", ".tif": "TIFF",
           ".tiff": "TIFF"}.get(suffix)
    if fmt is None:
        raise UserError(f"unsupported output format {suffix!r} (use .png, .jpg, .webp, .bmp or .tif)")
    kwargs: dict[str, object] = {}
    if image.icc_profile:
        kwargs["icc_profile"] = image.icc_profile
    if fmt == "JPEG":
        if im.mode in ("LA", "RGBA"):
            im = im.convert(im.mode[:-1] if im.mode == "LA" else "RGB")
        kwargs["quality"] = 95
    im.save(fp, format=fmt, **kwargs)


def refuse_overwrite(path: Path, force: bool) -> None:
    """:class:`UserError` if ``path`` exists and ``force`` is not set."""
    if path.exists() and not force:
        raise UserError(f"{path}: already exists (use --force to overwrite)")


def write_output(path: str | os.PathLike[str], data: bytes | Callable[[BinaryIO], None]) -> Path:
    """Write encoded output atomically into an existing folder: ``data`` is the bytes, or a function that writes them
    into the open file; failures are one-line :class:`UserError`."""
    path = Path(path)
    if not path.parent.is_dir():
        raise UserError(f"{path.parent}: output folder does not exist")
    try:
        with atomic_write(path) as tmp:
            if isinstance(data, bytes):
                tmp.write_bytes(data)
            else:
                with open(tmp, "wb") as fp:
                    data(fp)
    except PermissionError:
        raise UserError(f"{path}: permission denied (output folder not writable)") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path


def encode_gif(frames: list[np.ndarray], duration_ms: int = 150) -> bytes:
    """An endless GIF animation of float ``(H, W, 3)`` frames, ``duration_ms`` each."""
    pics = [Image.fromarray(_to_int(f, 8), "RGB") for f in frames]
    buf = io.BytesIO()
    pics[0].save(buf, format="GIF", save_all=True, append_images=pics[1:], duration=duration_ms, loop=0)
    return buf.getvalue()


def write_image(path: str | os.PathLike[str], image: ImageData, force: bool = False) -> Path:
    """Write ``image`` to ``path`` atomically; refuse to overwrite an existing file unless ``force``."""
    path = Path(path)
    refuse_overwrite(path, force)
    return write_output(path, lambda fp: encode_image_to(image, path.suffix, fp))
