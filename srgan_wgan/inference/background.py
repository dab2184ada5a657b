"""Upscaling the whole photo under the faces: the Lanczos background (8- or 16-bit, in strips when the result is an
integer image, so large photos stay in bounded memory), the canvas a ``background`` function makes, and the
finished result with its alpha plane. Shared by the face pipeline and ``sr upscale --faces off``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from srgan_wgan.io.images import ImageData, quantise


def native_dtype(image: ImageData) -> Any:
    """The integer type of an image's depth: ``uint16`` for 16-bit, else ``uint8``."""
    return np.uint16 if image.bit_depth == 16 else np.uint8


def background_canvas(fn: Callable[..., np.ndarray], image: ImageData, scale: int, integer: bool) -> np.ndarray:
    """The upscaled photo under the faces: ``fn(rgb, scale, bit_depth)`` (float in ``[0, 1]``), or with
    ``integer`` ``fn(rgb, scale, bit_depth, dtype)`` in the image's own integer type; copied when read-only."""
    out = fn(image.rgb, scale, image.bit_depth, native_dtype(image)) if integer else fn(image.rgb, scale,
                                                                                        image.bit_depth)
    return out if out.flags.writeable else np.array(out)


def finish_upscale(out: np.ndarray, image: ImageData, scale: int, integer: bool) -> ImageData:
    """The result of upscaling ``image`` to ``out``: its alpha upscaled alone (Lanczos; in strips in the integer
    type with ``integer``), ``out`` clipped or quantised, mode, depth and ICC profile kept."""
    alpha = None
    h, w = image.rgb.shape[:2]
    if integer:
        dtype = native_dtype(image)
        out = quantise(out, dtype) if out.dtype.kind == "f" else out
        if image.alpha is not None:
            alpha = upscale_background(image.alpha[..., None], scale, image.bit_depth, dtype)[..., 0]
    else:
        out = np.clip(out, 0, 1)
        if image.alpha is not None:
            alpha = _resize_float(image.alpha[..., None], (w * scale, h * scale))[..., 0]
    return ImageData(out, alpha, image.bit_depth, image.grayscale, image.icc_profile)


def upscale_photo(image: ImageData, scale: int, background: Callable[..., np.ndarray] | None = None,
                  integer: bool = False) -> ImageData:
    """``image`` upscaled by ``background`` alone (default Lanczos), no face model: ``sr upscale --faces off``."""
    return finish_upscale(background_canvas(background or upscale_background, image, scale, integer), image, scale,
                          integer)


def upscale_background(rgb: np.ndarray, scale: int, bit_depth: int = 8, dtype: Any = np.float32) -> np.ndarray:
    """The fast path for everything that is not a face: Lanczos (8-bit exact; float precision for 16-bit), as
    float32 in ``[0, 1]`` or in ``dtype`` (``uint8`` / ``uint16``, with no float copy of the output: the horizontal
    pass is made whole, then the vertical pass in strips of rows, which is exactly Pillow's two-pass resize)."""
    h, w = rgb.shape[:2]
    size = (w * scale, h * scale)
    if np.dtype(dtype).kind == "f":
        if bit_depth == 16:
            return _resize_float(rgb, size)
        im = Image.fromarray(quantise(rgb, np.uint8))
        return np.asarray(im.resize(size, Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
    out = np.empty((size[1], size[0], rgb.shape[2]), dtype)
    if bit_depth == 16:
        planes = [Image.fromarray(rgb[..., c].astype(np.float32), "F") for c in range(rgb.shape[2])]
    else:  # RGB, or one channel (an alpha plane) as mode L
        planes = [Image.fromarray(quantise(rgb if rgb.shape[2] == 3 else rgb[..., 0], np.uint8))]
    wide = [p.resize((size[0], h), Image.Resampling.LANCZOS) for p in planes]  # the horizontal pass
    step = 128  # input rows per strip; every strip is this tall (the last one starts earlier), as in one pass
    for y0 in range(0, h, step):
        y1 = min(h, y0 + step)
        b0 = max(0, y1 - step)
        strip = [np.asarray(p.resize((size[0], (y1 - b0) * scale), Image.Resampling.LANCZOS,
                                     box=(0, b0, size[0], y1)))[(y0 - b0) * scale:] for p in wide]
        rows = slice(y0 * scale, y1 * scale)
        if bit_depth == 16:
            out[rows] = quantise(np.stack(strip, -1), dtype, inplace=True)
        else:
            eight = strip[0].reshape(out[rows].shape)
            out[rows] = eight if out.dtype == np.uint8 else quantise(eight / np.float32(255), dtype)
    return out


def _resize_float(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Lanczos resize of a float ``(h, w, 3)`` image to ``size = (w, h)`` (per channel, float precision)."""
    chans = [np.asarray(Image.fromarray(x[..., c].astype(np.float32), "F").resize(size, Image.Resampling.LANCZOS))
             for c in range(x.shape[2])]
    return np.clip(np.stack(chans, -1), 0, 1)
