"""Release weights: safetensors + config + version, rebuilt without any training code."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass

import pytest
import torch
from safetensors import safe_open
from torch import nn

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


def test_init_from_release_loads_fitting_weights_and_reports_misfits(tmp_path, generator, caplog) -> None:
    from srgan_wgan.io.weights import init_from_release

    def critic(channels: int) -> ConvCritic:
        return ConvCritic(in_channels=3, resolution=16, base_channels=channels, max_channels=32, min_resolution=4,
                          cond="class", num_classes=3)

    torch.manual_seed(1)
    d = critic(8)
    g_file = save_pretrained(generator, tmp_path / "r" / "generator.safetensors")
    save_pretrained(d, tmp_path / "r" / "critic.safetensors")

    torch.manual_seed(2)
    G, D = CondGenerator(**generator.config_dict()), critic(8)
    assert init_from_release(g_file, G, D)
    for a, b in ((G, generator), (D, d)):
        for k, v in b.state_dict().items():
            assert torch.equal(a.state_dict()[k], v), k

    # remap rewrites tensors before loading (here: the class-embedding table, scaled)
    G2 = CondGenerator(**generator.config_dict())
    init_from_release(g_file, G2, remap=lambda k, v: v * 2 if "embed" in k else v)
    key = next(k for k in G2.state_dict() if "embed" in k)
    assert torch.equal(G2.state_dict()[key], 2 * generator.state_dict()[key])

    # a critic of another width: warned and left at its fresh initialisation
    D_other = critic(16)
    fresh = {k: v.clone() for k, v in D_other.state_dict().items()}
    with caplog.at_level("WARNING", logger="srgan_wgan"):
        assert not init_from_release(g_file, CondGenerator(**generator.config_dict()), D_other)
    assert "critic starts from scratch" in caplog.text
    assert all(torch.equal(D_other.state_dict()[k], v) for k, v in fresh.items())

    # a generator that does not fit, or of another architecture, is an error naming the file; nothing is loaded
    wide = CondGenerator(**{**generator.config_dict(), "embed_dim": 16})
    before = {k: v.clone() for k, v in wide.state_dict().items()}
    with pytest.raises(WeightsError, match="generator.safetensors.*does not fit"):
        init_from_release(g_file, wide)
    assert all(torch.equal(wide.state_dict()[k], v) for k, v in before.items())
    with pytest.raises(WeightsError, match="holds a CondGenerator, not this run's ConvCritic"):
        init_from_release(g_file, critic(8))


@dataclass
class ToyConfig:
    """Config of :class:`ToyNet`, an architecture defined outside the package."""

    width: int = 4
    scale: float = 2.0


class ToyNet(nn.Module):
    """A tiny model with the interface the registry needs: built from its config, ``config_dict()`` back."""

    def __init__(self, config: ToyConfig | None = None) -> None:
        super().__init__()
        self.config = config or ToyConfig()
        self.fc = nn.Linear(3, self.config.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.config.scale * torch.tanh(self.fc(x))

    def config_dict(self) -> dict[str, object]:
        return asdict(self.config)


def test_register_arch_makes_an_outside_model_loadable_by_name(tmp_path, monkeypatch) -> None:
    from srgan_wgan.archs import ARCHS, register_arch

    torch.manual_seed(3)
    toy = ToyNet(ToyConfig(width=5, scale=0.5)).eval()
    with pytest.raises(WeightsError, match="not a registered architecture"):
        save_pretrained(toy, tmp_path / "unregistered.safetensors")

    monkeypatch.setitem(ARCHS, "ToyNet", None)  # so that the entry is removed again after the test
    register_arch("ToyNet", ToyNet, ToyConfig)  # what an application outside the package calls
    path = save_pretrained(toy, tmp_path / "toy.safetensors", {"note": "outside"})
    meta = read_weights_metadata(path)
    assert meta["arch"] == "ToyNet" and meta["config"] == {"width": 5, "scale": 0.5}
    loaded = load_pretrained(path, expected_arch="ToyNet")  # the file alone names and configures the model
    assert isinstance(loaded, ToyNet) and loaded.config == toy.config
    x = torch.randn(4, 3)
    torch.testing.assert_close(loaded(x), toy(x), rtol=0, atol=0)

    monkeypatch.delitem(ARCHS, "ToyNet")  # a file whose architecture is not registered: one clear error
    with pytest.raises(WeightsError, match="toy.safetensors: unknown architecture 'ToyNet'"):
        load_pretrained(path)


def test_read_release_checks_the_arch_and_reads_the_critic_config(tmp_path, generator) -> None:
    from srgan_wgan.errors import UserError
    from srgan_wgan.training.runs import ReleaseInfo, read_release

    folder = tmp_path / "release"
    g_file = save_pretrained(generator, folder / "generator.safetensors", {"class_names": ["a", "b", "c"]})
    info = read_release(folder, "CondGenerator", "painting generator")  # a folder or its generator file
    assert info == read_release(g_file, "CondGenerator", "painting generator")
    assert isinstance(info, ReleaseInfo) and info.g_file == g_file
    assert info.config == generator.config_dict() and info.extra == {"class_names": ["a", "b", "c"]}
    assert info.critic_config == {}  # no critic beside the generator
    with pytest.raises(UserError, match="generator.safetensors: holds a CondGenerator, not a face SR generator"):
        read_release(folder, "SRResNet", "face SR generator")
    with pytest.raises(WeightsError, match="not found"):
        read_release(tmp_path / "nowhere" / "generator.safetensors", "CondGenerator", "painting generator")

    D = ConvCritic(in_channels=3, resolution=16, base_channels=8, cond="class", num_classes=3, mbstd_group=2)
    c_file = save_pretrained(D, folder / "critic.safetensors")
    assert read_release(folder, "CondGenerator", "painting generator").critic_config == D.config_dict()

    # a critic saved by an earlier version, with the retired spectral_norm switch
    from safetensors.torch import load_file, save_file

    def rewrite(value: bool) -> None:
        with safe_open(str(c_file), framework="pt") as fh:
            meta = dict(fh.metadata())
        config = json.dumps({**D.config_dict(), "spectral_norm": value})
        save_file(load_file(str(c_file)), str(c_file), metadata={**meta, "config": config})

    rewrite(False)
    assert read_release(folder, "CondGenerator", "painting generator").critic_config == D.config_dict()
    rewrite(True)
    with pytest.raises(WeightsError, match="critic.safetensors: .*spectral_norm=True, which this version no longer"):
        read_release(folder, "CondGenerator", "painting generator")
