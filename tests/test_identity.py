"""Optional face-identity metric of `sr eval` (dlib embedding from face-recognition-models)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from cli_inprocess import run_cli


def _astronaut_face() -> torch.Tensor:
    """The face of scikit-image's bundled astronaut photo as a 1 x 3 x 128 x 128 uint8 crop."""
    data = pytest.importorskip("skimage.data")
    img = Image.fromarray(data.astronaut()).crop((140, 20, 300, 180)).resize((128, 128), Image.LANCZOS)
    return torch.from_numpy(np.array(img)).permute(2, 0, 1)[None].contiguous()


def _needs_dlib() -> None:
    from srgan_wgan.identity import identity_unavailable_reason

    reason = identity_unavailable_reason()
    if reason:
        pytest.skip(reason)


def test_missing_model_files_are_reported(monkeypatch, tmp_path) -> None:
    pytest.importorskip("dlib")
    import importlib.util

    from srgan_wgan import identity

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv(identity.MODELS_ENV, str(tmp_path))  # an empty folder
    reason = identity.identity_unavailable_reason()
    assert reason is not None and identity.MODELS_ENV in reason and identity.MODEL_FILES[1] in reason


def test_missing_dlib_is_reported_not_raised(monkeypatch) -> None:
    from srgan_wgan.identity import FaceIdentity, identity_unavailable_reason

    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib -> ImportError
    reason = identity_unavailable_reason()
    assert reason is not None and "dlib" in reason
    with pytest.raises(ImportError, match="dlib"):
        FaceIdentity()


def test_sr_eval_identity_flag_without_dlib_is_a_one_line_error(tmp_path, monkeypatch) -> None:
    from srgan_wgan.archs import SRResNet
    from srgan_wgan.io.weights import save_pretrained

    save_pretrained(SRResNet(scale=4, num_feat=8, num_blocks=1), tmp_path / "m" / "generator.safetensors",
                    {"scale": 4, "hr_size": 64})
    faces = tmp_path / "faces"
    faces.mkdir()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(faces / "a.png")
    monkeypatch.setitem(sys.modules, "dlib", None)  # the CLI with dlib made unimportable
    out = run_cli("sr", "eval", "--data", faces, "--model", tmp_path / "m", "--hr-size", "64", "--device", "cpu",
                  "--identity", "--json", tmp_path / "r.json")
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert out.returncode != 0 and len(lines) == 1 and "identity" in lines[0] and "dlib" in lines[0], out.stderr
    assert not (tmp_path / "r.json").exists()


def test_identity_distance_grows_with_degradation() -> None:
    _needs_dlib()
    from srgan_wgan.data.faces import bicubic_upscale, make_lr
    from srgan_wgan.identity import FaceIdentity

    hr = _astronaut_face()
    ident = FaceIdentity()
    ref = ident.reference(hr)
    assert ref.detected == 1  # a clear frontal face
    x = hr.float() / 255
    same = ident.distances(x, ref).item()
    d4 = ident.distances(bicubic_upscale(make_lr(x, 4), 4).clamp(0, 1), ref).item()
    d8 = ident.distances(bicubic_upscale(make_lr(x, 8), 8).clamp(0, 1), ref).item()
    d16 = ident.distances(bicubic_upscale(make_lr(x, 16), 16).clamp(0, 1), ref).item()
    assert same < 1e-6
    assert 0 < d4 < d8 < d16
    assert d4 < 0.6 < d16  # x4 bicubic keeps the identity; a 8x8-pixel face does not


@pytest.mark.shared
def test_sr_eval_reports_identity_for_model_and_bicubic(tmp_path, shared_dir) -> None:
    _needs_dlib()
    lfw = shared_dir / "data" / "faces" / "lfw" / "images"
    if not lfw.is_dir():
        pytest.skip("LFW not in ../shared")
    out = run_cli("sr", "eval", "--data", lfw, "--model", "face-x8-fidelity", "--crop-fraction", "0.512", "--limit",
                  "24", "--device", "cpu", "--json", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    r = json.loads((tmp_path / "r.json").read_text())
    for method in ("model", "bicubic"):
        assert 0 < r[method]["identity_dist"] < 1.5 and 0 <= r[method]["identity_match"] <= 1
    # the trained x8 model recovers more of the identity than bicubic does
    assert r["model"]["identity_dist"] < r["bicubic"]["identity_dist"]
    assert "detected" in r["identity"]


def test_identity_distances_follow_the_reference_index() -> None:
    _needs_dlib()
    from srgan_wgan.identity import FaceIdentity

    face = _astronaut_face()
    other = torch.flip(face, dims=[2])  # upside down: a different "face" for the embedder
    hr = torch.cat([face, other])
    ident = FaceIdentity()
    ref = ident.reference(hr)
    d = ident.distances(hr[1:].float() / 255, ref, start=1)  # compared with reference 1, itself
    assert d.shape == (1,) and d.item() < 1e-6
    d = ident.distances(hr[:1].float() / 255, ref, start=1)  # the face against the other reference
    assert d.item() > 0.1
