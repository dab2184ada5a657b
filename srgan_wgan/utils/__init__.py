"""Small shared utilities: seeding, devices."""

from srgan_wgan.utils.seed import (
    capture_rng_state,
    enable_determinism,
    restore_rng_state,
    sample_seed,
    seed_everything,
)
from srgan_wgan.utils.device import resolve_device

__all__ = [
    "capture_rng_state",
    "enable_determinism",
    "resolve_device",
    "restore_rng_state",
    "sample_seed",
    "seed_everything",
]
