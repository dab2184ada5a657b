"""Tiled image-to-image inference for any SR / restoration network: overlapping tiles, feathered blending,
memory bounded by the tile size.

A tile of ``t`` input pixels is run on its own and its output blended with its neighbours over the ``overlap``
band (linear ramps), so the seams of independent tiles vanish; the output of a whole image is assembled in one
float buffer of the output size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def feather_weights(h: int, w: int, overlap: int) -> np.ndarray:
    """``(h, w)`` weights: linear ramps over ``overlap`` pixels at each edge, 1 inside."""
    def ramp(n: int) -> np.ndarray:
        r = np.ones(n, np.float32)
        k = min(overlap, n // 2)
        if k > 0:
            edge = (np.arange(k, dtype=np.float32) + 1) / (k + 1)
            r[:k], r[n - k :] = edge, edge[::-1]
        return r

    return np.outer(ramp(h), ramp(w))


def tile_starts(n: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of ``tile`` px covering ``n`` px, neighbours overlapping by at least ``2 * overlap``."""
    step = max(tile - 2 * overlap, 1)
    starts = list(range(0, max(n - tile, 0) + 1, step)) or [0]
    if starts[-1] + tile < n:
        starts.append(n - tile)
    return starts


def run_tiled(fn: Callable[[np.ndarray], np.ndarray], image: np.ndarray, scale: int, tile: int, overlap: int
              ) -> np.ndarray:
    """``fn`` (``(h, w, C)`` float -> ``(h * scale, w * scale, C)``) over ``image`` in overlapping tiles.

    ``tile <= 0``, or an image no larger than one tile, is a single call.
    """
    h, w = image.shape[:2]
    if tile <= 0 or (h <= tile and w <= tile):
        return fn(image)
    out: np.ndarray | None = None
    acc = np.zeros((h * scale, w * scale, 1), np.float32)
    for y0 in tile_starts(h, tile, overlap):
        for x0 in tile_starts(w, tile, overlap):
            res = fn(image[y0 : y0 + tile, x0 : x0 + tile])
            if out is None:
                out = np.zeros((h * scale, w * scale, res.shape[2]), np.float32)
            wts = feather_weights(res.shape[0], res.shape[1], overlap * scale)[..., None]
            ys, xs = slice(y0 * scale, y0 * scale + res.shape[0]), slice(x0 * scale, x0 * scale + res.shape[1])
            out[ys, xs] += res * wts
            acc[ys, xs] += wts
    assert out is not None
    return out / np.maximum(acc, 1e-8)
