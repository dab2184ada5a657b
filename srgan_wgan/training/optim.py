"""Optimisers of the engine: parameter groups with per-module learning-rate multipliers, Adam / RMSProp."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def make_optimizer(name: str, params: Any, lr: float, betas: tuple[float, float], fused: bool = False
                   ) -> torch.optim.Optimizer:
    """Adam (the default) or RMSProp (weight clipping's), fused kernels on request."""
    kw = {"fused": True} if fused else {}
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, **kw)
    return torch.optim.Adam(params, lr=lr, betas=betas, **kw)


def param_groups(module: nn.Module) -> list[dict[str, Any]]:
    """``module``'s parameters in optimiser groups: one per ``lr_multiplier`` that a sub-module declares (default 1;
    e.g. a linear head on frozen features learns faster than the conv layers around it). The multiplier is kept in
    the group as ``lr_mult`` and applied by the learning-rate schedule."""
    mult_of: dict[int, float] = {}
    for sub in module.modules():  # parents come first, so the innermost declaring module wins
        if hasattr(sub, "lr_multiplier"):
            for p in sub.parameters():
                mult_of[id(p)] = float(sub.lr_multiplier)
    groups: dict[float, list[nn.Parameter]] = {}
    for p in module.parameters():
        groups.setdefault(mult_of.get(id(p), 1.0), []).append(p)
    return [{"params": ps, "lr_mult": m} for m, ps in groups.items()]
