"""Tiled inference (srgan_wgan.inference.tiling): tiles streamed a row at a time into an 8/16-bit or float result
equal the whole-image run, and the memory beyond the result stays about one row of tiles."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from srgan_wgan.inference.tiling import quantise, run_tiled


def _box_up(x: np.ndarray, scale: int = 2) -> np.ndarray:
    """A 3x3 box filter (receptive radius 1, zero padding like a conv) then a nearest x``scale``."""
    p = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    h, w = x.shape[:2]
    y = sum(p[i:i + h, j:j + w] for i in range(3) for j in range(3)) / 9.0
    return y.repeat(scale, 0).repeat(scale, 1).astype(np.float32)


@pytest.mark.parametrize("shape", [(37, 53), (64, 20), (20, 64), (17, 17), (12, 40), (40, 12)])
def test_streamed_tiles_equal_the_whole_image(shape) -> None:
    rgb = np.random.default_rng(1).random((*shape, 3), dtype=np.float32)
    whole = _box_up(rgb)
    tiled = run_tiled(_box_up, rgb, 2, tile=16, overlap=4)  # the radius (1) is within overlap / 2
    assert tiled.dtype == np.float32 and tiled.shape == whole.shape
    np.testing.assert_allclose(tiled, whole, atol=1e-5)
    # a receptive field wider than overlap / 2 still blends without a seam larger than the image's own steps
    wide = run_tiled(_box_up, rgb, 2, tile=16, overlap=1)
    assert np.abs(wide - whole).max() < 0.2


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_integer_results_are_the_rounded_float_result(dtype) -> None:
    rgb = np.random.default_rng(2).random((45, 31, 3), dtype=np.float32)
    ref = run_tiled(_box_up, rgb, 2, tile=16, overlap=4)
    got = run_tiled(_box_up, rgb, 2, tile=16, overlap=4, dtype=dtype)
    top = np.iinfo(dtype).max
    assert got.dtype == dtype
    assert np.abs(got.astype(np.float64) - np.round(ref.astype(np.float64) * top)).max() <= 1
    np.testing.assert_array_equal(quantise(np.array([-0.5, 0.0, 1.0, 2.0]), np.uint8), [0, 0, 255, 255])


def test_peak_memory_is_the_result_plus_one_row_of_tiles() -> None:
    rgb = np.random.default_rng(3).random((256, 256, 3), dtype=np.float32)
    scale, tile = 4, 32
    tracemalloc.start()
    try:
        out = run_tiled(lambda x: x.repeat(scale, 0).repeat(scale, 1), rgb, scale, tile=tile, overlap=4,
                        dtype=np.uint8)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    row_of_tiles = tile * scale * out.shape[1] * 4 * 4  # one float row of tiles: 3 channels + the weights
    assert out.nbytes == 1024 * 1024 * 3
    assert peak < out.nbytes + 3 * row_of_tiles  # a float32 result alone would be 4x out.nbytes
    np.testing.assert_array_equal(out, quantise(rgb.repeat(scale, 0).repeat(scale, 1), np.uint8))


@pytest.mark.parametrize("shape", [(300, 77), (50, 400), (129, 129)])
def test_integer_lanczos_background_is_the_float_one_rounded(shape) -> None:
    from srgan_wgan.apps.face_sr.inference import upscale_background

    rgb = np.random.default_rng(4).random((*shape, 3), dtype=np.float32)
    np.testing.assert_array_equal(upscale_background(rgb, 4, 8, np.uint8),
                                  np.round(upscale_background(rgb, 4, 8) * 255).astype(np.uint8))
    deep = upscale_background(rgb, 3, 16, np.uint16)
    assert deep.dtype == np.uint16
    assert np.abs(deep.astype(np.float64) - np.round(upscale_background(rgb, 3, 16) * 65535.0)).max() <= 1
