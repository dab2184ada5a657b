"""Tiled image-to-image inference for any SR / restoration network: overlapping tiles, feathered blending,
memory bounded by the tile size.

Neighbouring tiles overlap by ``2 * overlap`` input pixels. Each tile's outer ``overlap / 2`` pixels towards a
neighbour are dropped (the network saw zero padding there) and the next ``overlap`` pixels are blended with the
neighbour's by complementary linear ramps, so a network whose receptive field reaches no further than
``overlap / 2`` pixels gives exactly the whole-image result, and a wider one gives a seam-free blend. Rows of tiles
are streamed into the result, which may be 8- or 16-bit, so an 8k photo at x4 needs the output image plus two rows
of tiles, not four float copies of the output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from srgan_wgan.io.images import quantise  # noqa: F401 (also imported from here)


def feather_weights(h: int, w: int, overlap: int, edges: tuple[bool, bool, bool, bool] | None = None
                    ) -> np.ndarray:
    """``(h, w)`` blending weights of one tile whose neighbours overlap it by ``2 * overlap`` pixels.

    ``edges`` = (top, bottom, left, right): which sides face a neighbour (default: all). On such a side the outer
    ``overlap // 2`` pixels get weight 0 (the network saw zero padding there, not the image) and the next
    ``overlap`` pixels a linear ramp, which the neighbour's mirrored ramp complements to 1; sides on the image
    border keep weight 1 (a whole-image run pads there too). Without ``edges`` every side ramps up from its edge
    (the older symmetric feather)."""
    def ramp(n: int, lo: bool, hi: bool) -> np.ndarray:
        r = np.ones(n, np.float32)
        skip, k = overlap // 2, overlap
        if skip + k > n // 2:  # a tile too small for the full band: the plain ramp
            skip, k = 0, min(overlap, n // 2)
        edge = (np.arange(k, dtype=np.float32) + 0.5) / k if skip else (np.arange(k, dtype=np.float32) + 1) / (k + 1)
        if lo and k > 0:
            r[:skip], r[skip:skip + k] = 0.0, edge
        if hi and k > 0:
            r[n - skip - k:n - skip], r[n - skip:] = edge[::-1], 0.0
        return r

    top, bottom, left, right = edges if edges is not None else (True, True, True, True)
    if edges is None:  # the symmetric feather, kept for callers that blend tiles of their own
        def plain(n: int) -> np.ndarray:
            r = np.ones(n, np.float32)
            k = min(overlap, n // 2)
            if k > 0:
                e = (np.arange(k, dtype=np.float32) + 1) / (k + 1)
                r[:k], r[n - k:] = e, e[::-1]
            return r
        return np.outer(plain(h), plain(w))
    return np.outer(ramp(h, top, bottom), ramp(w, left, right))


def tile_starts(n: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``tile`` px covering ``n`` px, neighbours overlapping by at least ``2 * overlap``."""
    step = max(tile - 2 * overlap, 1)
    starts = list(range(0, max(n - tile, 0) + 1, step)) or [0]
    if starts[-1] + tile < n:
        starts.append(n - tile)
    return starts


def run_tiled(fn: Callable[[np.ndarray], np.ndarray], image: np.ndarray, scale: int, tile: int, overlap: int,
              dtype: Any = np.float32) -> np.ndarray:
    """``fn`` (``(h, w, C)`` float -> ``(h * scale, w * scale, C)``) over ``image`` in overlapping tiles.

    The tiles are streamed one row at a time: the finished output rows are written into the result, in ``dtype``
    (``float32``, or ``uint8`` / ``uint16`` quantised as :func:`quantise` does), so the memory beyond the result
    is one float row of tiles and its temporaries, whatever the image size. ``tile <= 0``, or an image no larger
    than one tile, is a single call.
    """
    h, w = image.shape[:2]
    if tile <= 0 or (h <= tile and w <= tile):
        return quantise(fn(image), dtype)
    out: np.ndarray | None = None
    ys0, xs0 = tile_starts(h, tile, overlap), tile_starts(w, tile, overlap)
    rows = min(tile, h) * scale  # a row of tiles; the buffers start at its first output row
    acc = wsum = np.zeros(0, np.float32)
    for i, y0 in enumerate(ys0):
        for x0 in xs0:
            res = fn(image[y0 : y0 + tile, x0 : x0 + tile])
            if out is None:
                out = np.empty((h * scale, w * scale, res.shape[2]), np.dtype(dtype))
                acc = np.zeros((rows, w * scale, res.shape[2]), np.float32)
                wsum = np.zeros((rows, w * scale, 1), np.float32)
            edges = (y0 > 0, y0 + tile < h, x0 > 0, x0 + tile < w)  # sides that face a neighbouring tile
            wts = feather_weights(res.shape[0], res.shape[1], overlap * scale, edges)[..., None]
            xs = slice(x0 * scale, x0 * scale + res.shape[1])
            acc[: res.shape[0], xs] += res * wts
            wsum[: res.shape[0], xs] += wts
        assert out is not None
        done = ys0[i + 1] if i + 1 < len(ys0) else h  # input rows no later tile reaches
        n = (done - y0) * scale
        block = acc[:n]
        block /= np.maximum(wsum[:n], 1e-8)
        out[y0 * scale : done * scale] = quantise(block, dtype, inplace=True)
        keep = rows - n  # rows the next row of tiles blends into: move them to the top of the buffers
        acc[:keep], wsum[:keep] = acc[n:].copy(), wsum[n:].copy()
        acc[keep:], wsum[keep:] = 0.0, 0.0
    assert out is not None
    return out


def run_image_model(G: Callable[..., Any], rgb: np.ndarray, device: Any, precision: Any,
                    channels_last: bool = False) -> np.ndarray:
    """One forward pass of an image-to-image network on an ``(h, w, 3)`` float image in ``[0, 1]``: the output
    as ``(H, W, 3)`` float32, clamped to ``[0, 1]`` (``precision`` gives the autocast; no gradients)."""
    import torch

    from srgan_wgan.utils.precision import to_channels_last

    x = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))[None].to(device)
    with torch.no_grad(), precision.autocast():
        y = G(to_channels_last(x, channels_last))
    return y.float().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
