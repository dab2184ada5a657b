"""Losses: Wasserstein adversarial terms and the critic penalties (GP, LP, R1, weight clipping)."""

from srgan_wgan.losses.adversarial import critic_wasserstein_loss, generator_wasserstein_loss
from srgan_wgan.losses.penalties import (
    PENALTIES,
    PENALTY_REGISTRY,
    PenaltySpec,
    clip_weights,
    get_penalty,
    gradient_penalty,
    input_gradient,
    lipschitz_penalty,
    r1_penalty,
    register_penalty,
)

__all__ = [
    "PENALTIES",
    "clip_weights",
    "critic_wasserstein_loss",
    "generator_wasserstein_loss",
    "gradient_penalty",
    "input_gradient",
    "lipschitz_penalty",
    "r1_penalty",
    "PENALTY_REGISTRY",
    "PenaltySpec",
    "get_penalty",
    "register_penalty",
]
