"""Inference: image IO edge cases, tiling, face detection and pasting, and the `sr upscale` command."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srgan_wgan.archs import SRResNet
from srgan_wgan.errors import UserError, WeightsError
from srgan_wgan.apps.face_sr.inference import FaceUpscaler, resolve_model_path, upscale_background
from srgan_wgan.io.images import ImageData, read_image, write_image
from srgan_wgan.io.weights import save_pretrained
from cli_inprocess import sub_command


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    G = SRResNet(scale=4, num_feat=8, num_blocks=1)
    out = tmp_path_factory.mktemp("w") / "tiny-x4"
    save_pretrained(G, out / "generator.safetensors", {"scale": 4, "hr_size": 128, "task": "face_sr"})
    return out


def rgb_array(h: int = 24, w: int = 32) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_image_modes_round_trip(tmp_path) -> None:
    rgba = np.dstack([rgb_array(), np.full((24, 32), 100, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    im = read_image(tmp_path / "a.png")
    assert im.alpha is not None and abs(im.alpha.mean() - 100 / 255) < 1e-6 and im.size == (32, 24)
    Image.fromarray(rgb_array()[..., 0], "L").save(tmp_path / "g.png")
    assert read_image(tmp_path / "g.png").grayscale
    Image.fromarray(rgb_array()).convert("P").save(tmp_path / "p.png")
    assert read_image(tmp_path / "p.png").rgb.shape == (24, 32, 3)
    Image.fromarray(rgb_array()).convert("CMYK").save(tmp_path / "c.jpg")
    assert read_image(tmp_path / "c.jpg").rgb.shape == (24, 32, 3)
    import cv2

    deep = (np.random.default_rng(1).random((24, 32, 3)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "d.png"), deep)
    d = read_image(tmp_path / "d.png")
    assert d.bit_depth == 16
    write_image(tmp_path / "d_out.png", d)
    back = cv2.imread(str(tmp_path / "d_out.png"), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and np.array_equal(back, deep)


def test_exif_orientation_is_applied(tmp_path) -> None:
    im = Image.fromarray(rgb_array(20, 40))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when displayed
    im.save(tmp_path / "r.jpg", exif=exif.tobytes())
    assert read_image(tmp_path / "r.jpg").size == (20, 40)


@pytest.mark.parametrize("kind", ["empty", "text", "truncated_png", "truncated_jpg", "missing", "huge"])
def test_unreadable_inputs_name_the_file(tmp_path, kind: str) -> None:
    p = tmp_path / f"bad {kind}é.png"
    buf = io.BytesIO()
    Image.fromarray(rgb_array(64, 64)).save(buf, format="PNG" if kind != "truncated_jpg" else "JPEG")
    data = {"empty": b"", "text": b"hello, not an image", "truncated_png": buf.getvalue()[: len(buf.getvalue()) // 2],
            "truncated_jpg": buf.getvalue()[: len(buf.getvalue()) // 2], "huge": buf.getvalue()}.get(kind)
    if data is not None:
        p.write_bytes(data)
    with pytest.raises(UserError) as err:
        read_image(p, max_pixels=1000 if kind == "huge" else 10**8)
    assert str(p) in str(err.value)


def test_write_refuses_to_overwrite_and_leaves_no_temp_files(tmp_path) -> None:
    im = read_image(_save(tmp_path / "x.png"))
    write_image(tmp_path / "y.png", im)
    with pytest.raises(UserError, match="--force"):
        write_image(tmp_path / "y.png", im)
    write_image(tmp_path / "y.png", im, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png", "y.png"]


def _save(p: Path, arr: np.ndarray | None = None) -> Path:
    Image.fromarray(rgb_array() if arr is None else arr).save(p)
    return p


def test_tiled_equals_untiled_away_from_seams(model_path) -> None:
    lr = np.random.default_rng(2).random((40, 56, 3)).astype(np.float32)
    whole = FaceUpscaler(model_path, device="cpu", tile=0).enhance(lr)
    tiled = FaceUpscaler(model_path, device="cpu", tile=24, tile_overlap=6).enhance(lr)
    assert tiled.shape == whole.shape == (160, 224, 3)
    assert np.abs(tiled - whole).mean() < 0.01


def test_model_resolution_errors(model_path, tmp_path) -> None:
    with pytest.raises(UserError, match="unknown model"):
        resolve_model_path("face-x16")
    with pytest.raises(WeightsError, match="x4 model"):
        FaceUpscaler(model_path, scale=8, device="cpu")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(WeightsError, match="junk.safetensors"):
        FaceUpscaler(tmp_path / "junk.safetensors", device="cpu")


def test_astronaut_face_is_found_aligned_and_restored_at_every_size(model_path) -> None:
    skimage_data = pytest.importorskip("skimage.data")

    rgb = skimage_data.astronaut().astype(np.float32) / 255
    small = np.asarray(Image.fromarray(skimage_data.astronaut()).resize((128, 128), Image.Resampling.LANCZOS),
                       dtype=np.float32) / 255
    up = FaceUpscaler(model_path, device="cpu")
    out, report = up.upscale(ImageData(small))
    assert out.rgb.shape == (512, 512, 3) and report.faces_found == 1 and report.faces_enhanced == 1
    assert report.faces[0].action == "restored" and report.summary() == "1 of 1 face restored"
    x0, y0, x1, y1 = report.boxes[0]
    assert 35 <= (x0 + x1) / 2 <= 75 and 15 <= (y0 + y1) / 2 <= 45  # the astronaut's face, upper middle
    lanczos = upscale_background(small, 4)
    face_region = (slice(y0 * 4, y1 * 4), slice(x0 * 4, x1 * 4))
    assert np.abs(out.rgb[face_region] - lanczos[face_region]).mean() > 0.005  # the face went through the model
    assert np.array_equal(out.rgb[400:, :], lanczos[400:, :])  # far from the face: the background path, untouched
    _, full = up.upscale(ImageData(rgb))  # 512 px photo: a ~100 px face, larger than the 32 px model input
    assert full.faces_found == 1 and full.faces[0].action == "restored-large"
    assert full.summary() == "1 of 1 face restored (1 larger than the working size)"


def _shifting(up: FaceUpscaler, shift: np.ndarray) -> None:
    """Make ``up``'s network a colour-shifting Lanczos upscaler (the complaint colour-true paste answers)."""
    def enhance(lr: np.ndarray) -> np.ndarray:
        return np.clip(upscale_background(lr, up.model_scale, 16) + shift, 0, 1)

    up.enhance = enhance  # type: ignore[method-assign]


def test_pasted_faces_keep_the_photos_colours(model_path) -> None:
    skimage_data = pytest.importorskip("skimage.data")

    small = np.asarray(Image.fromarray(skimage_data.astronaut()).resize((128, 128), Image.Resampling.LANCZOS),
                       dtype=np.float32) / 255
    up = FaceUpscaler(model_path, device="cpu")
    _shifting(up, np.array([0.15, -0.1, 0.05], np.float32))
    out, report = up.upscale(ImageData(small))
    x0, y0, x1, y1 = report.boxes[0]
    region = (slice(y0 * 4, y1 * 4), slice(x0 * 4, x1 * 4))
    drift = out.rgb[region].mean((0, 1)) - upscale_background(small, 4)[region].mean((0, 1))
    assert np.abs(drift).max() < 0.01, drift  # the network shifted the colour by up to 0.15; the paste did not


def test_a_failed_landmark_fit_or_a_tiny_face_is_skipped_with_its_reason(model_path, monkeypatch) -> None:
    from srgan_wgan.data.face_align import FACE_TEMPLATE, Face

    good = Face((20, 20, 46, 46), FACE_TEMPLATE * 28 + 18)
    broken = Face((70, 10, 110, 50), np.array([[80, 20], [100, 20], [90, 45], [80, 45], [100, 45]], np.float64))
    tiny = Face((5, 80, 14, 89), FACE_TEMPLATE * 10 + [5, 80])
    up = FaceUpscaler(model_path, device="cpu")
    monkeypatch.setattr(FaceUpscaler, "detect_faces", lambda self, rgb: [good, broken, tiny])
    rgb = np.random.default_rng(0).random((100, 120, 3)).astype(np.float32)
    out, report = up.upscale(ImageData(rgb))
    assert [f.action for f in report.faces] == ["restored", "skipped", "skipped"]
    assert report.faces[1].reason.startswith("landmark fit failed") and report.faces[2].reason == "too small: 9 px"
    import re

    assert re.fullmatch(r"1 of 3 faces restored \(1 landmark fit failed: residual 0\.\d\d; 1 too small: 9 px\)",
                        report.summary()), report.summary()
    assert out.rgb.shape == (400, 480, 3)
    d = report.as_dict()
    assert d["faces_restored"] == 1 and d["faces"][2]["action"] == "skipped" and d["faces"][2]["face_px"] == 9


def test_faces_cut_by_the_border_and_extreme_aspect_ratios(model_path) -> None:
    skimage_data = pytest.importorskip("skimage.data")

    small = np.asarray(Image.fromarray(skimage_data.astronaut()).resize((128, 128), Image.Resampling.LANCZOS),
                       dtype=np.float32) / 255
    up = FaceUpscaler(model_path, device="cpu")
    cut = small[:, 48:]  # the face's left edge is at the image border
    out, report = up.upscale(ImageData(np.ascontiguousarray(cut)))
    assert out.rgb.shape == (512, 320, 3) and np.isfinite(out.rgb).all() and report.faces_enhanced <= 1
    strip = np.ascontiguousarray(np.tile(small[20:40], (1, 8, 1)))  # 20 x 1024
    out, _ = up.upscale(ImageData(strip))
    assert out.rgb.shape == (80, 4096, 3)


def test_grey_16_bit_and_rgba_photos_keep_their_mode_and_depth(model_path, tmp_path) -> None:
    skimage_data = pytest.importorskip("skimage.data")
    import cv2

    small = np.asarray(Image.fromarray(skimage_data.astronaut()).resize((128, 128), Image.Resampling.LANCZOS))
    grey16 = (cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "g16.png"), grey16)
    Image.fromarray(np.dstack([small, np.full((128, 128), 200, np.uint8)]), "RGBA").save(tmp_path / "a.png")
    up = FaceUpscaler(model_path, device="cpu")
    for name in ("g16.png", "a.png"):
        image = read_image(tmp_path / name)
        out, report = up.upscale(image)
        assert report.faces_enhanced == 1, name
        write_image(tmp_path / f"out_{name}", out)
        # the integer canvas (what sr upscale uses) gives the same file within a grey level of the depth
        deep, _ = up.upscale(image, integer=True)
        assert deep.rgb.dtype == (np.uint16 if name == "g16.png" else np.uint8)
        assert deep.alpha is None if name == "g16.png" else deep.alpha.dtype == np.uint8
        write_image(tmp_path / f"int_{name}", deep)
    g = cv2.imread(str(tmp_path / "out_g16.png"), cv2.IMREAD_UNCHANGED)
    assert g.dtype == np.uint16 and g.shape == (512, 512)  # grey and 16-bit, face restored
    gi = cv2.imread(str(tmp_path / "int_g16.png"), cv2.IMREAD_UNCHANGED)
    assert gi.dtype == np.uint16 and np.abs(gi.astype(int) - g.astype(int)).max() <= 2
    a = Image.open(tmp_path / "out_a.png")
    assert a.mode == "RGBA" and a.size == (512, 512) and abs(np.asarray(a)[..., 3].mean() - 200) < 1
    ai = np.asarray(Image.open(tmp_path / "int_a.png"))
    assert ai.shape == (512, 512, 4) and np.abs(ai.astype(int) - np.asarray(a).astype(int)).max() <= 1


def test_a_restoration_model_restores_at_its_working_size_and_blends_larger_faces(tmp_path) -> None:
    from srgan_wgan.apps.face_sr.inference import blend_bands
    from srgan_wgan.data.face_align import FACE_TEMPLATE, Face

    torch.manual_seed(0)
    G = SRResNet(scale=1, num_feat=8, num_blocks=1, unshuffle=4)
    save_pretrained(G, tmp_path / "r" / "generator.safetensors", {"scale": 1, "hr_size": 64, "task": "face_restore"})
    with pytest.raises(UserError, match="1 to 8"):
        FaceUpscaler(tmp_path / "r", scale=16, device="cpu")
    up = FaceUpscaler(tmp_path / "r", scale=2, device="cpu")
    assert (up.scale, up.model_scale, up.lr_size, up.hr_size) == (2, 1, 64, 64)
    small, large = Face((4, 4, 24, 24), FACE_TEMPLATE * 24 + 2), Face((40, 0, 110, 70), FACE_TEMPLATE * 70 + [40, 0])
    up.detect_faces = lambda rgb: [large, small]  # type: ignore[method-assign]
    rgb = np.random.default_rng(1).random((80, 120, 3)).astype(np.float32)
    out, report = up.upscale(ImageData(rgb))
    assert out.rgb.shape == (160, 240, 3) and [f.action for f in report.faces] == ["restored-large", "restored"]
    crop, _ = up.upscale(ImageData(rgb[:50, :50]), aligned=True)
    assert crop.rgb.shape == (100, 100, 3)
    # the band blend: the coarse band of the restoration, the fine band of the background
    restored = np.full((16, 16, 3), 0.3, np.float32)
    background = np.random.default_rng(2).random((64, 64, 3)).astype(np.float32) * 0.2 + 0.6
    blend = blend_bands(restored, background)
    assert abs(blend.mean() - 0.3) < 0.02  # coarse: the restored face's level
    fine = background - cv2_blur(background)
    assert np.corrcoef((blend - cv2_blur(blend)).ravel(), fine.ravel())[0, 1] > 0.8  # fine: the background's


def cv2_blur(x: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(x, (0, 0), 3)


cli = sub_command("sr", "upscale")  # the CLI in this process (tests/cli_inprocess.py)


def test_upscale_batch_keeps_going_and_never_clobbers(model_path, tmp_path) -> None:
    good = _save(tmp_path / "in" / "good photo.png") if (tmp_path / "in").mkdir() is None else None
    (tmp_path / "in" / "broken.jpg").write_text("not an image")
    Image.fromarray(np.dstack([rgb_array(), np.full((24, 32), 7, np.uint8)]), "RGBA").save(tmp_path / "in" / "a.png")
    out = cli(str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--model", str(model_path), "--device", "cpu")
    assert out.returncode == 1
    err_lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(err_lines) == 1 and "broken.jpg" in err_lines[0]
    produced = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert produced == ["a_x4.png", "good photo_x4.png"]
    a = read_image(tmp_path / "out" / "a_x4.png")
    assert a.size == (128, 96) and a.alpha is not None and abs(a.alpha.mean() - 7 / 255) < 0.01
    again = cli(str(good), "-o", str(tmp_path / "out" / "good photo_x4.png"), "--model", str(model_path), "--device", "cpu")
    assert again.returncode == 1 and "--force" in again.stderr
    unknown = cli(str(good), "--model", "face-x16")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error:") and "Traceback" not in unknown.stderr


def test_upscale_lists_every_face_and_writes_a_json_report(model_path, tmp_path) -> None:
    skimage_data = pytest.importorskip("skimage.data")
    import json
    import re

    Image.fromarray(skimage_data.astronaut()).resize((128, 128), Image.Resampling.LANCZOS).save(tmp_path / "a.png")
    Image.fromarray(skimage_data.coffee()).resize((100, 75)).save(tmp_path / "coffee.png")
    out = cli(str(tmp_path / "a.png"), str(tmp_path / "coffee.png"), "-o", str(tmp_path / "out"), "--model",
              str(model_path), "--device", "cpu", "-v", "--report", str(tmp_path / "r" / "report.json"))
    assert out.returncode == 0, out.stderr
    text = out.stdout + out.stderr
    assert "a.png -> " in text and "a_x4.png: 1 of 1 face restored" in text
    assert "coffee_x4.png: no faces found: background only" in text
    assert re.search(r"face 1: box \[\d+, \d+, \d+, \d+\], \d+ px, restored", text), text
    rep = json.loads((tmp_path / "r" / "report.json").read_text())
    astro, coffee = rep["files"]
    assert astro["faces_found"] == 1 and astro["faces"][0]["action"] == "restored" and astro["scale"] == 4
    assert len(astro["faces"][0]["landmarks"]) == 5 and astro["faces"][0]["face_px"] > 12
    assert coffee["faces"] == [] and coffee["summary"] == "no faces found: background only"


def test_faces_off_gives_the_background_alone_and_integer_results_match_float(model_path, tmp_path) -> None:
    skimage_data = pytest.importorskip("skimage.data")
    import json

    small = np.asarray(Image.fromarray(skimage_data.astronaut()).resize((128, 128), Image.Resampling.LANCZOS))
    Image.fromarray(small).save(tmp_path / "a.png")
    out = cli(str(tmp_path / "a.png"), "-o", str(tmp_path / "off.png"), "--faces", "off", "--device", "cpu",
              "--report", str(tmp_path / "r.json"))  # no face model is loaded
    assert out.returncode == 0, out.stderr
    assert "faces off: background only" in out.stdout + out.stderr
    rep = json.loads((tmp_path / "r.json").read_text())["files"][0]
    assert rep["faces_off"] and rep["faces"] == []
    lanczos = np.asarray(Image.fromarray(small).resize((512, 512), Image.Resampling.LANCZOS))
    got = np.asarray(Image.open(tmp_path / "off.png"), dtype=np.float32)
    from srgan_wgan.apps.photo_sr import PhotoUpscaler  # the default background is the photo-x4 network

    net = np.clip(PhotoUpscaler("photo-x4", device="cpu")(small.astype(np.float32) / 255, 4), 0, 1) * 255
    assert np.abs(got - net).max() <= 1.0 and np.abs(got - lanczos).mean() > 0.5
    out = cli(str(tmp_path / "a.png"), "-o", str(tmp_path / "lz.png"), "--faces", "off", "--background", "lanczos")
    assert out.returncode == 0, out.stderr
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "lz.png")), lanczos)
    # with faces: the face is pasted in place into the 8-bit canvas, as into the float one
    up = FaceUpscaler(model_path, device="cpu")
    flt, _ = up.upscale(ImageData(small.astype(np.float32) / 255))
    u8, report = up.upscale(ImageData(small.astype(np.float32) / 255), integer=True)
    assert u8.rgb.dtype == np.uint8 and report.faces_enhanced == 1
    assert np.abs(u8.rgb.astype(np.float32) - flt.rgb * 255).max() <= 1.0
    both = cli(str(tmp_path / "a.png"), "--faces", "face-x8", "--model", "face-x4")
    assert both.returncode == 2 and "two face models" in both.stderr
    aligned = cli(str(tmp_path / "a.png"), "--faces", "off", "--aligned")
    assert aligned.returncode == 2 and "--faces off is for photos" in aligned.stderr
    with_model = cli(str(tmp_path / "a.png"), "--faces", "off", "--model", str(model_path))
    assert with_model.returncode == 2 and "drop --model" in with_model.stderr
    x2 = cli(str(tmp_path / "a.png"), "-o", str(tmp_path / "x2.png"), "--faces", "off", "--scale", "2")
    assert x2.returncode == 0 and Image.open(tmp_path / "x2.png").size == (256, 256)


def test_one_pixel_image_and_missing_output_folder(model_path, tmp_path) -> None:
    one = tmp_path / "one.png"
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(one)
    out = cli(str(one), "--aligned", "--model", str(model_path), "--device", "cpu")
    assert out.returncode == 1 and "one.png" in out.stderr and "too small" in out.stderr
    assert not (tmp_path / "one_x4.png").exists()
    out = cli(str(one), "--model", str(model_path), "--device", "cpu")  # photo path: the photo-x4 network
    assert out.returncode == 1 and "too small for the model (at least 4x4)" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not (tmp_path / "one_x4.png").exists()
    out = cli(str(one), "--model", str(model_path), "--device", "cpu", "--background", "lanczos")  # no face, 4x4
    assert out.returncode == 0, out.stderr
    assert read_image(tmp_path / "one_x4.png").size == (4, 4)
    out = cli(str(one), "-o", str(tmp_path / "no" / "such" / "dir.png"), "--model", str(model_path), "--device", "cpu",
              "--background", "lanczos")
    assert out.returncode == 1 and "output folder does not exist" in out.stderr


def test_unwritable_output_folder_is_a_one_line_error(model_path, tmp_path, monkeypatch) -> None:
    """A folder the user may not write to: a real read-only folder when not root; as root (who may write anywhere),
    the OS refusal is simulated where the file is created."""
    import os
    import tempfile

    src = tmp_path / "in.png"
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(src)
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:
        real = tempfile.mkstemp

        def refuse(*args, dir=None, **kw):  # noqa: A002 - mkstemp's own keyword
            if dir is not None and Path(dir) == locked:
                raise PermissionError(13, "Permission denied", str(dir))
            return real(*args, dir=dir, **kw)

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    else:
        locked.chmod(0o500)
    try:
        with pytest.raises(UserError, match=r"locked/out.png: permission denied"):
            write_image(locked / "out.png", read_image(src))
    finally:
        locked.chmod(0o700)
    assert list(locked.iterdir()) == []
