"""Release weights: safetensors + config + version, rebuilt without any training code."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from safetensors import safe_open

from srgan_wgan import CondGenerator, ConvCritic, WeightsError, load_pretrained, save_pretrained
from srgan_wgan.io.weights import read_weights_metadata
from srgan_wgan.version import __version__


@pytest.fixture
def generator() -> CondGenerator:
    torch.manual_seed(0)
    return CondGenerator(num_classes=3, z_dim=8, embed_dim=8, resolution=16, out_channels=3, base_channels=32,
                         min_channels=8).eval()


def test_round_trip_gives_identical_outputs(tmp_path, generator) -> None:
    path = save_pretrained(generator, tmp_path / "g.safetensors", {"class_names": ["a", "b", "c"]})
    loaded = load_pretrained(path, expected_arch="CondGenerator")
    z, y = torch.randn(5, 8), torch.tensor([0, 1, 2, 0, 1])
    torch.testing.assert_close(loaded(z, y), generator(z, y), rtol=0, atol=0)
    meta = read_weights_metadata(path)
    assert meta["version"] == __version__ and meta["extra"]["class_names"] == ["a", "b", "c"]
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["config"]["z_dim"] == 8 and sidecar["arch"] == "CondGenerator"
    with safe_open(str(path), framework="pt") as fh:  # plain safetensors readers see the config too
        assert json.loads(fh.metadata()["config"])["num_classes"] == 3


def test_critic_round_trip(tmp_path) -> None:
    torch.manual_seed(1)
    D = ConvCritic(in_channels=3, resolution=16, base_channels=8, cond="image", cond_channels=3).eval()
    path = save_pretrained(D, tmp_path / "d.safetensors")
    x, lr = torch.randn(2, 3, 16, 16), torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(load_pretrained(path)(x, lr), D(x, lr), rtol=0, atol=0)


def test_loading_needs_no_training_code(tmp_path, generator) -> None:
    path = save_pretrained(generator, tmp_path / "g.safetensors")
    code = (
        "import sys; from srgan_wgan.io.weights import load_pretrained; import torch;"
        f"m = load_pretrained(r'{path}'); print(m(torch.zeros(1, 8), torch.tensor([1])).shape);"
        "print(any(k.startswith('srgan_wgan.training') for k in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[-1] == "False", "loading release weights imported the training engine"


def test_missing_corrupt_and_mismatched_files(tmp_path, generator) -> None:
    with pytest.raises(WeightsError, match="not found"):
        load_pretrained(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(WeightsError, match="bad.safetensors"):
        load_pretrained(bad)
    path = save_pretrained(generator, tmp_path / "g.safetensors")
    with pytest.raises(WeightsError, match="expected a ConvCritic"):
        load_pretrained(path, expected_arch="ConvCritic")
    truncated = tmp_path / "t.safetensors"
    truncated.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(WeightsError):
        load_pretrained(truncated)
