"""ONNX export and the onnxruntime backend: parity with PyTorch fp32 on every shipped model (<= 2/255)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from srgan_wgan.archs import build_arch
from srgan_wgan.errors import UserError, WeightsError
from srgan_wgan.io.onnx import export_onnx, load_onnx, onnx_cache_path
from cli_inprocess import sub_command

ROOT = Path(__file__).resolve().parents[1]
SR_MODELS = ("face-x4", "face-x4-fidelity", "face-x8", "face-x8-fidelity")
TOL = 2 / 255


def _inputs() -> list[np.ndarray]:
    """Fixed inputs at two sizes (dynamic axes), one photo crop and one seeded random image."""
    from skimage import data

    face = data.astronaut()[30:130, 160:260].astype(np.float32) / 255
    from PIL import Image

    small = np.asarray(Image.fromarray((face * 255).astype(np.uint8)).resize((24, 24), Image.BICUBIC))
    return [small.astype(np.float32) / 255, np.random.default_rng(0).random((20, 36, 3), dtype=np.float32)]


@pytest.mark.parametrize("name", SR_MODELS)
def test_every_shipped_sr_model_matches_pytorch(name: str) -> None:
    from srgan_wgan.apps.face_sr.inference import FaceUpscaler

    ref = FaceUpscaler(name, device="cpu", fp32=True, tile=0)
    onx = FaceUpscaler(name, backend="onnx", tile=0)
    assert onx.scale == ref.scale and onx.hr_size == ref.hr_size and onx.precision.name == "fp32"
    assert onnx_cache_path(ref.path).is_file()  # exported once, then reused
    for x in _inputs():
        a, b = ref.enhance(x), onx.enhance(x)
        assert a.shape == b.shape == (x.shape[0] * ref.scale, x.shape[1] * ref.scale, 3)
        assert np.abs(a - b).max() <= TOL
        assert np.abs(a - np.repeat(np.repeat(x, ref.scale, 0), ref.scale, 1)).mean() > 0.005  # did SR, not copy


def test_paint_model_matches_pytorch_with_seeds_noise_and_interpolation() -> None:
    from srgan_wgan.apps.paint import PaintGenerator

    ref, onx = PaintGenerator("wikiart-64", "cpu", fp32=True), PaintGenerator("wikiart-64", backend="onnx")
    assert onx.styles == ref.styles and ref.G.noise_shapes() == onx.G.noise_shapes() != []
    a = ref.generate("impressionism", n=5, seed=3)
    b = onx.generate("impressionism", n=5, seed=3, batch_size=2)  # dynamic batch
    assert a.shape == b.shape == (5, 3, 64, 64)
    assert float((a - b).abs().max()) <= TOL
    assert float((a[0] - a[1]).abs().mean()) > 0.01
    fa = ref.interpolate("impressionism", "pop-art", steps=3, rows=2, seed=1)
    fb = onx.interpolate("impressionism", "pop-art", steps=3, rows=2, seed=1)
    assert float((fa - fb).abs().max()) <= TOL


def test_skip_layer_excitation_generator_exports_at_128_px(tmp_path) -> None:
    from srgan_wgan.archs import CondGenerator
    from srgan_wgan.io.weights import save_pretrained

    torch.manual_seed(0)
    G = CondGenerator(num_classes=3, resolution=128, sle=True, base_channels=32, min_channels=8, z_dim=8, embed_dim=8)
    for p in G.sle.parameters():  # gates away from their neutral start
        p.data.normal_(0, 0.1)
    save_pretrained(G, tmp_path / "generator.safetensors", {"class_names": ["a", "b", "c"]})
    onx = load_onnx(export_onnx(tmp_path / "generator.safetensors", tmp_path / "g.onnx"))
    z, y = torch.randn(3, 8), torch.tensor([0, 1, 2])
    with torch.no_grad():
        ref = G(z, y)
    got = onx(z, y)
    assert got.shape == (3, 3, 128, 128) and float((got - ref).abs().max()) <= TOL


def test_onnx_file_carries_the_release_header(tmp_path) -> None:
    out = export_onnx(ROOT / "weights" / "face-x8" / "generator.safetensors", tmp_path / "x8.onnx")
    m = load_onnx(out)
    release = json.loads((ROOT / "weights" / "face-x8" / "generator.json").read_text())
    assert m.weights_metadata["arch"] == "SRResNet" and m.config.scale == 8
    # the release's config rebuilt as loading does, so fields added since (e.g. unshuffle) carry their defaults
    assert m.weights_metadata["config"] == build_arch(release["arch"], release["config"]).config_dict()
    assert m.weights_metadata["extra"]["scale"] == 8
    y = m(torch.rand(3, 3, 16, 12))
    assert tuple(y.shape) == (3, 3, 128, 96)


def test_wrong_files_are_one_line_weights_errors(tmp_path) -> None:
    from srgan_wgan.apps.face_sr.inference import FaceUpscaler

    paint = export_onnx(ROOT / "weights" / "wikiart-64" / "generator.safetensors", tmp_path / "p.onnx")
    with pytest.raises(WeightsError, match="holds a CondGenerator, expected a SRResNet"):
        FaceUpscaler(paint, backend="onnx")
    x4 = export_onnx(ROOT / "weights" / "face-x4" / "generator.safetensors", tmp_path / "x4.onnx")
    with pytest.raises(WeightsError, match="x4 model"):
        FaceUpscaler(x4, scale=8, backend="onnx")
    with pytest.raises(UserError, match="needs --backend onnx"):
        FaceUpscaler(x4)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(WeightsError, match="not a readable ONNX model"):
        load_onnx(junk)
    with pytest.raises(UserError, match="--backend"):
        FaceUpscaler("face-x4", backend="tensorrt")


_cli = sub_command()  # the CLI in this process (tests/cli_inprocess.py)


def test_cli_export_and_upscale_with_onnxruntime(tmp_path) -> None:
    from PIL import Image

    Image.fromarray((_inputs()[0] * 255).astype(np.uint8)).save(tmp_path / "face.png")
    r = _cli("sr", "export", "--model", "face-x4-fidelity", "--onnx", "f.onnx", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _cli("sr", "upscale", "face.png", "--aligned", "--model", "f.onnx", "--backend", "onnx", "-o", "o.png",
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _cli("sr", "upscale", "face.png", "--aligned", "--model", "face-x4-fidelity", "--fp32", "-o", "t.png",
             cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    a = np.asarray(Image.open(tmp_path / "o.png"), dtype=np.int16)
    b = np.asarray(Image.open(tmp_path / "t.png"), dtype=np.int16)
    assert a.shape == (96, 96, 3) and np.abs(a - b).max() <= 2
    again = _cli("sr", "export", "--model", "face-x4-fidelity", "--onnx", "f.onnx", cwd=tmp_path)
    assert again.returncode == 2 and "Traceback" not in again.stderr and "--force" in again.stderr
    wrong = _cli("paint", "export", "--model", str(ROOT / "weights" / "face-x4"), "--onnx", "p.onnx", cwd=tmp_path)
    assert wrong.returncode == 2 and "expected a CondGenerator" in wrong.stderr and "Traceback" not in wrong.stderr
    neither = _cli("sr", "export", "--onnx", "x.onnx", cwd=tmp_path)
    assert neither.returncode == 2 and "--run-dir" in neither.stderr


def test_cli_paint_export_generate_and_interpolate_with_onnxruntime(tmp_path) -> None:
    from PIL import Image

    r = _cli("paint", "export", "--model", "wikiart-64", "--onnx", "w.onnx", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _cli("paint", "generate", "--style", "ukiyo-e", "-n", "2", "--model", "w.onnx", "--backend", "onnx",
             "-o", "g.png", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _cli("paint", "generate", "--style", "ukiyo-e", "-n", "2", "--fp32", "-o", "t.png", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    a = np.asarray(Image.open(tmp_path / "g.png"), dtype=np.int16)
    b = np.asarray(Image.open(tmp_path / "t.png"), dtype=np.int16)
    assert a.shape == b.shape and np.abs(a - b).max() <= 2
    r = _cli("paint", "interpolate", "--from", "baroque", "--to", "cubism", "--steps", "2", "--rows", "1",
             "--model", "w.onnx", "--backend", "onnx", "-o", "i.png", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert Image.open(tmp_path / "i.png").size[0] > 128


def test_missing_onnxruntime_is_a_one_line_error_naming_the_extra(tmp_path, monkeypatch) -> None:
    from PIL import Image

    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "in.png")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime -> ImportError
    r = _cli("sr", "upscale", tmp_path / "in.png", "--aligned", "--backend", "onnx", "-o", tmp_path / "out.png")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert 'pip install "srgan-wgan[onnx]"' in r.stderr  # the extra's brackets survive rich's markup
    assert not (tmp_path / "out.png").exists()
