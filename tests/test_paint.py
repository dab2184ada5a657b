"""Painting generation: style names, per-sample seeding, the generate / styles / interpolate commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from srgan_wgan.apps.paint import PaintGenerator, normalize_style, truncated_normal
from srgan_wgan.archs import CondGenerator
from srgan_wgan.errors import UserError
from srgan_wgan.io.weights import save_pretrained

STYLES = ["Impressionism", "Ukiyo_e", "Pop_Art"]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    G = CondGenerator(num_classes=3, z_dim=8, embed_dim=8, resolution=16, out_channels=3, base_channels=32,
                      min_channels=8)
    out = tmp_path_factory.mktemp("w") / "tiny-paint"
    save_pretrained(G, out / "generator.safetensors",
                    {"class_names": STYLES, "class_counts": {"Impressionism": 10, "Ukiyo_e": 7, "Pop_Art": 3}})
    return out


def test_style_names_are_case_and_separator_insensitive(model) -> None:
    assert normalize_style("ukiyo-e") == normalize_style("Ukiyo_e") == normalize_style("UKIYO E")
    gen = PaintGenerator(model, "cpu")
    assert gen.style_index("pop art") == 2 and gen.style_index("IMPRESSIONISM") == 0
    with pytest.raises(UserError, match="Impressionism, Ukiyo_e, Pop_Art"):
        gen.style_index("cubism")


def test_same_seed_same_image_whatever_n_or_batch(model) -> None:
    gen = PaintGenerator(model, "cpu")
    a = gen.generate("ukiyo-e", n=3, seed=5)
    b = gen.generate("ukiyo-e", n=7, seed=5, batch_size=2)
    assert a.shape == (3, 3, 16, 16) and torch.equal(a, b[:3])
    assert not torch.equal(a, gen.generate("ukiyo-e", n=3, seed=6))
    assert not torch.equal(a, gen.generate("pop_art", n=3, seed=5))
    with pytest.raises(UserError, match="-n"):
        gen.generate("pop_art", n=0)


def test_truncation_bounds_latents() -> None:
    z = truncated_normal((10000,), torch.Generator().manual_seed(0), 0.5)
    assert z.abs().max() <= 0.5 and z.std() < 0.35
    with pytest.raises(UserError):
        truncated_normal((3,), torch.Generator(), -1.0)


def test_interpolation_ends_at_the_two_styles(model) -> None:
    gen = PaintGenerator(model, "cpu")
    frames = gen.interpolate("impressionism", "pop-art", steps=4, rows=2, seed=1)
    assert frames.shape == (2, 4, 3, 16, 16)
    start = gen.generate("impressionism", n=2, seed=1)
    end = gen.generate("pop-art", n=2, seed=1)
    torch.testing.assert_close(frames[:, 0], start, atol=1e-5, rtol=0)
    torch.testing.assert_close(frames[:, -1], end, atol=1e-5, rtol=0)


def paint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "srgan_wgan", "paint", *args], capture_output=True, text=True,
                          timeout=300)


def test_generate_styles_interpolate_commands(model, tmp_path) -> None:
    grid = tmp_path / "grid.png"
    out = paint("generate", "--style", "ukiyo-e", "-n", "5", "--model", str(model), "-o", str(grid), "--size", "64",
                "--nrow", "5", "--device", "cpu")
    assert out.returncode == 0, out.stderr
    assert Image.open(grid).size == (5 * 66 + 2, 68)
    out = paint("generate", "--style", "Pop_Art", "-n", "2", "--model", str(model), "--out-dir", str(tmp_path / "d"))
    assert out.returncode == 0 and len(list((tmp_path / "d").glob("Pop_Art_seed0_*.png"))) == 2
    listing = paint("styles", "--model", str(model))
    assert listing.returncode == 0 and "Ukiyo_e" in listing.stdout + listing.stderr
    gif = tmp_path / "i.gif"
    out = paint("interpolate", "--from", "impressionism", "--to", "ukiyo_e", "--steps", "3", "--rows", "2",
                "--model", str(model), "-o", str(gif))
    assert out.returncode == 0, out.stderr
    assert Image.open(gif).n_frames == 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--style", "cubism"], "unknown style 'cubism'; this model has: Impressionism, Ukiyo_e, Pop_Art"),
        (["--style", "pop art", "-n", "0"], "-n must be at least 1"),
        (["--style", "pop art", "-n", "-3"], "-n must be at least 1"),
        (["--style", "pop art", "--size", "100"], "--size must be"),
        (["--style", "pop art", "--model", "wikiart-1024"], "unknown model"),
    ],
)
def test_generate_bad_input(model, tmp_path, args, message) -> None:
    dst = tmp_path / "g.png"
    full = [*args] if "--model" in args else [*args, "--model", str(model)]
    out = paint("generate", *full, "-o", str(dst))
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert not dst.exists()


def test_generate_never_overwrites_without_force(model, tmp_path) -> None:
    dst = tmp_path / "g.png"
    dst.write_bytes(b"keep me")
    out = paint("generate", "--style", "pop art", "--model", str(model), "-o", str(dst))
    assert out.returncode == 2 and "--force" in out.stderr and dst.read_bytes() == b"keep me"
    out = paint("generate", "--style", "pop art", "--model", str(model), "-o", str(dst), "--force")
    assert out.returncode == 0 and dst.read_bytes() != b"keep me"
