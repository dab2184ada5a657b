"""Wasserstein adversarial losses.

The critic minimises ``E[D(fake)] - E[D(real)]``; its negative, ``E[D(real)] - E[D(fake)]``, is only an
*estimate* of the Wasserstein-1 distance (up to the critic's Lipschitz constant and optimality), which is why
the trainer logs it as ``critic/w_estimate`` and the optimised value as ``critic/loss_penalised``.
"""

from __future__ import annotations

import torch


def critic_wasserstein_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Critic loss ``mean(D(fake)) - mean(D(real))`` (to be minimised), computed in fp32."""
    return d_fake.float().mean() - d_real.float().mean()


def generator_wasserstein_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Generator loss ``-mean(D(fake))`` (to be minimised), computed in fp32."""
    return -d_fake.float().mean()

