"""Shared fixtures. Tests run on CPU; `slow` tests train for minutes, `shared` tests need ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("SRGAN_WGAN_SHARED", Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared folder (data and backbone weights for development); skip when absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data not found at {SHARED} (set SRGAN_WGAN_SHARED)")
    os.environ.setdefault("SRGAN_WGAN_BACKBONES", str(SHARED / "weights" / "backbones"))
    return SHARED
