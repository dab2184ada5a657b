"""Shared fixtures. Tests run on CPU; `slow` tests train for minutes, `shared` tests need ../shared.

Every test not marked ``shared`` runs as on a fresh clone: ../shared, the backbone cache, torch's download cache and
the pip-installed FID Inception are hidden from it (and from the processes it starts), and downloads fail. So a green
run here means a green run on a machine that has none of them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("SRGAN_WGAN_SHARED", Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture(autouse=True)
def _fresh_machine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide ../shared and every cached weight from tests that are not marked ``shared``."""
    if request.node.get_closest_marker("shared") is not None:
        return
    empty = tmp_path_factory.mktemp("no_shared")
    for var in ("SRGAN_WGAN_SHARED", "SRGAN_WGAN_BACKBONES", "TORCH_HOME"):
        monkeypatch.setenv(var, str(empty))  # inherited by subprocesses too
    monkeypatch.setenv("HOME", str(empty))  # ~/.cache/srgan_wgan/{backbones,weights}
    monkeypatch.delenv("SRGAN_WGAN_FID_INCEPTION", raising=False)
    import srgan_wgan.gan_metrics

    monkeypatch.setattr(srgan_wgan.gan_metrics, "find_fid_inception", lambda: None)  # CI does not install it

    def no_download(url: str, *args: object, **kwargs: object) -> None:
        raise RuntimeError(f"test tried to download {url} (mark it `shared` or avoid the backbone)")

    import torch.hub

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_download)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder (data and backbone weights for development); skip when absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED} (set SRGAN_WGAN_SHARED)")
    os.environ.setdefault("SRGAN_WGAN_BACKBONES", str(SHARED / "weights" / "backbones"))
    return SHARED
