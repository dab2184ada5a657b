"""Critic family and conditional generator: shapes, conditioning, norms, retired config fields."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from srgan_wgan.archs import CondGenerator, ConvCritic, CriticConfig, build_arch
from srgan_wgan.errors import ConfigError, WeightsError
from srgan_wgan.io.weights import load_pretrained, save_pretrained

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("norm", ["none", "layer", "group", "batch"])
@pytest.mark.parametrize("cond", ["none", "image", "class"])
def test_critic_variants(norm: str, cond: str) -> None:
    torch.manual_seed(0)
    D = ConvCritic(in_channels=3, resolution=32, base_channels=8, cond=cond, num_classes=4, norm=norm).eval()
    x = torch.randn(3, 3, 32, 32)
    c = {"none": None, "image": torch.rand(3, 3, 8, 8), "class": torch.tensor([0, 1, 3])}[cond]
    out = D(x, c)
    assert out.shape == (3,) and torch.isfinite(out).all()
    has_bn = any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert has_bn == (norm == "batch")


def test_projection_uses_the_label_and_image_condition_matters() -> None:
    torch.manual_seed(0)
    D = ConvCritic(in_channels=3, resolution=16, base_channels=8, cond="class", num_classes=3)
    x = torch.randn(2, 3, 16, 16)
    assert not torch.allclose(D(x, torch.tensor([0, 0])), D(x, torch.tensor([2, 2])))
    Di = ConvCritic(in_channels=3, resolution=16, base_channels=8, cond="image")
    assert not torch.allclose(Di(x, torch.zeros(2, 3, 4, 4)), Di(x, torch.ones(2, 3, 4, 4)))
    with pytest.raises(ValueError, match="pass"):
        Di(x)


def test_retired_spectral_norm_field_and_bad_configs(tmp_path) -> None:
    """Configs saved with ``spectral_norm: false`` (every shipped critic) still load; ``true`` is a clear error."""
    D = ConvCritic(in_channels=1, resolution=16, base_channels=8).eval()
    assert "spectral_norm" not in D.config_dict()
    assert not any(nn.utils.parametrize.is_parametrized(m) for m in D.modules())
    saved = {**D.config_dict(), "spectral_norm": False}  # as weights/*/critic.safetensors hold it
    assert build_arch("ConvCritic", saved).config_dict() == D.config_dict()
    with pytest.raises(WeightsError, match="saved with spectral_norm=True, which this version no longer supports"):
        build_arch("ConvCritic", {**saved, "spectral_norm": True})
    with pytest.raises(WeightsError, match="unknown fields"):
        build_arch("ConvCritic", {**saved, "bogus": 1})
    with pytest.raises(TypeError):
        CriticConfig(spectral_norm=True)  # type: ignore[call-arg]

    # through the release-weights loader: the file named, one line
    path = save_pretrained(D, tmp_path / "critic.safetensors")
    x = torch.randn(2, 1, 16, 16)
    for value, ok in ((False, True), (True, False)):
        _rewrite_config(path, {**D.config_dict(), "spectral_norm": value})
        if ok:
            torch.testing.assert_close(load_pretrained(path)(x), D(x), rtol=0, atol=0)
        else:
            with pytest.raises(WeightsError, match=r"critic\.safetensors: .*spectral_norm=True") as err:
                load_pretrained(path)
            assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="norm"):
        ConvCritic(norm="instance")
    with pytest.raises(ConfigError, match="num_classes"):
        ConvCritic(cond="class")
    with pytest.raises(ConfigError, match="halve exactly"):
        ConvCritic(resolution=100)  # 100 -> 50 -> 25 -> 12.5
    with pytest.raises(ConfigError, match="halve exactly"):
        ConvCritic(resolution=2)


def _rewrite_config(path: Path, config: dict[str, object]) -> None:
    """Replace the architecture config in the header of the weights file ``path`` (as an older version wrote it)."""
    tensors = load_file(str(path))
    with safe_open(str(path), framework="pt") as fh:
        meta = dict(fh.metadata())
    save_file(tensors, str(path), metadata={**meta, "config": json.dumps(config, sort_keys=True)})


@pytest.mark.parametrize("name", ["face-x4", "face-x8", pytest.param("wikiart-64", marks=pytest.mark.shared)])
def test_shipped_critics_saved_with_spectral_norm_false_load(name: str, request: pytest.FixtureRequest) -> None:
    """The shipped critics' headers hold ``spectral_norm: false``; they load (wikiart-64's needs the AlexNet
    backbone of ../shared for its auxiliary classifier)."""
    path = ROOT / "weights" / name / "critic.safetensors"
    with safe_open(str(path), framework="pt") as fh:
        config = json.loads(fh.metadata()["config"])
    assert config["spectral_norm"] is False
    if config.get("aux_backbone", "none") != "none":
        request.getfixturevalue("shared_dir")
    D = load_pretrained(path, expected_arch="ConvCritic")
    assert isinstance(D, ConvCritic) and not any(nn.utils.parametrize.is_parametrized(m) for m in D.modules())
    assert D.config_dict() == {k: v for k, v in {**asdict(CriticConfig()), **config}.items() if k != "spectral_norm"}


@pytest.mark.parametrize(("resolution", "final"), [(64, 4), (128, 4), (192, 6), (96, 6), (48, 6)])
def test_critic_takes_sizes_that_halve_exactly(resolution: int, final: int) -> None:
    """The face-restore models work at 192 px: the critic halves to 6x6 there (4x4 for a power of two, as before)."""
    D = ConvCritic(resolution=resolution, base_channels=8, max_channels=16, cond="image")
    assert D.config.final_resolution == final and D.feature_dim == 16 * final * final
    x = torch.rand(2, 3, resolution, resolution)
    assert D(x, x).shape == (2,)


def test_generator_is_class_conditional_and_registry_rebuilds() -> None:
    torch.manual_seed(0)
    G = CondGenerator(num_classes=5, z_dim=8, embed_dim=8, resolution=16, out_channels=3, base_channels=32,
                      min_channels=8).eval()
    z = torch.randn(2, 8)
    a, b = G(z, torch.tensor([0, 0])), G(z, torch.tensor([4, 4]))
    assert a.shape == (2, 3, 16, 16) and a.abs().max() <= 1 and not torch.allclose(a, b)
    G2 = build_arch("CondGenerator", G.config_dict())
    assert sum(p.numel() for p in G2.parameters()) == sum(p.numel() for p in G.parameters())
    with pytest.raises(WeightsError, match="unknown architecture"):
        build_arch("Nope", {})
