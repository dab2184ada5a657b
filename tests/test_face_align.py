"""Face detection with landmarks, alignment to the template, and the feathered paste-back."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("dlib")

from srgan_wgan.data.face_align import FACE_TEMPLATE, FaceDetector, align_matrix, feather_mask, paste_face, warp_face  # noqa: E402


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    from srgan_wgan.identity import dlib_model_dir

    if dlib_model_dir() is None:
        pytest.skip("face-recognition-models not installed")
    return FaceDetector()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


def test_finds_the_face_of_a_portrait_at_every_size(detector, astronaut) -> None:
    sizes = []
    for side in (512, 256, 128):
        im = np.asarray(Image.fromarray(astronaut).resize((side, side), Image.BICUBIC))
        faces = detector.detect(im)
        assert faces, side
        sizes.append(faces[0].size)
        x0, y0, x1, y1 = faces[0].box
        assert 0.3 * side < (x0 + x1) / 2 < 0.7 * side and (y0 + y1) / 2 < 0.5 * side  # her face, not the flag
    assert sizes[0] > 1.7 * sizes[1] > 1.7 * 1.7 * sizes[2]  # the face's size follows the image's
    assert sizes[2] < 32  # a ~28 px face is found (upsampled detection)


@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket", "hubble_deep_field"])
def test_no_faces_in_photos_without_people(detector, name: str) -> None:
    from skimage import data

    assert detector.detect(getattr(data, name)()) == []


def test_alignment_maps_the_landmarks_onto_the_template(detector, astronaut) -> None:
    face = detector.detect(astronaut)[0]
    m = align_matrix(face.landmarks, 128)
    mapped = np.c_[face.landmarks, np.ones(5)] @ m.T
    assert np.abs(mapped - FACE_TEMPLATE * 128).max() < 3.0
    a, b = m[:, :2].T  # a similarity: orthogonal columns of equal length
    assert abs(a @ b) < 1e-9 and abs(np.linalg.norm(a) - np.linalg.norm(b)) < 1e-9
    # a rotated, shifted copy of the landmarks aligns to the same crop
    th = np.deg2rad(20)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    moved = face.landmarks @ rot.T * 1.5 + [40, -10]
    m2 = align_matrix(moved, 128)
    np.testing.assert_allclose(np.c_[moved, np.ones(5)] @ m2.T, mapped, atol=1e-6)


def test_paste_back_is_seamless_and_in_place(detector, astronaut) -> None:
    img = astronaut.astype(np.float32) / 255
    face = detector.detect(astronaut)[0]
    m = align_matrix(face.landmarks, 256)
    crop = warp_face(img, m, 256)
    assert crop.shape == (256, 256, 3)
    mask = feather_mask(256)
    assert mask[0].max() < 1e-3 and mask[128, 128] > 0.999
    # pasting the face's own crop back changes the photo only by interpolation
    out = paste_face(img, crop, m, scale=1.0)
    assert np.abs(out - img).mean() < 2e-3 and np.percentile(np.abs(out - img), 99.9) < 0.1
    # a flat grey patch pasted in: inside replaced, outside untouched, the transition gradual
    out = paste_face(img, np.full_like(crop, 0.5), m, scale=1.0)
    cx, cy = face.landmarks.mean(0).astype(int)
    assert np.abs(out[cy, cx] - 0.5).max() < 1e-3
    assert np.array_equal(out[:40, :40], img[:40, :40])
    # x2 canvas: the paste lands where the face is in the upscaled photo
    big = np.asarray(Image.fromarray(astronaut).resize((1024, 1024), Image.LANCZOS), np.float32) / 255
    out2 = paste_face(big, np.full_like(crop, 0.5), m, scale=2.0)
    assert np.abs(out2[2 * cy, 2 * cx] - 0.5).max() < 1e-3
    assert np.array_equal(out2[:80, :80], big[:80, :80])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_paste_into_an_integer_canvas_matches_the_float_paste(detector, astronaut, dtype) -> None:
    top = np.iinfo(dtype).max
    img = astronaut.astype(np.float32) / 255
    face = detector.detect(astronaut)[0]
    m = align_matrix(face.landmarks, 256)
    patch = np.full((256, 256, 3), 0.25, np.float32)
    canvas = np.round(img * top).astype(dtype)
    before = canvas.copy()
    copy = paste_face(canvas, patch, m)
    assert copy.dtype == dtype and np.array_equal(canvas, before)  # not in place: the input is untouched
    ref = paste_face(canvas.astype(np.float32) / top, patch, m)
    assert np.abs(copy.astype(np.float64) / top - ref).max() <= 0.5 / top + 1e-6  # only the rounding differs
    assert np.array_equal(copy[:40, :40], before[:40, :40])
    same = paste_face(canvas, patch, m, inplace=True)
    assert same is canvas and np.array_equal(canvas, copy)
    # a face cut by the border: only the part inside is blended, nothing wraps around
    edge = face.landmarks - face.landmarks.min(0) - 30
    cut = paste_face(before.copy(), patch, align_matrix(edge, 256), inplace=True)
    assert cut.shape == before.shape and np.abs(cut[:10, :10].astype(float) - 0.25 * top).max() < 0.02 * top
    assert np.array_equal(cut[-40:, -40:], before[-40:, -40:])
