"""Exponential moving average of a generator's weights."""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(model: nn.Module) -> nn.Module:
    """A frozen copy of ``model`` in eval mode, to be updated by :func:`update_ema`."""
    return copy.deepcopy(model).eval().requires_grad_(False)


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float, step: int) -> None:
    """``ema = beta * ema + (1 - beta) * model`` with ``beta = min(decay, (1 + step) / (10 + step))``.

    The warm-up ramp keeps the average from being dominated by the random initialisation; buffers are copied.
    """
    beta = min(decay, (1.0 + step) / (10.0 + step))
    for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
        p_ema.lerp_(p.detach().to(p_ema.dtype), 1.0 - beta)
    for b_ema, b in zip(ema.buffers(), model.buffers(), strict=True):
        b_ema.copy_(b)
