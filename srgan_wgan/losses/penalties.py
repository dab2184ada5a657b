"""Critic regularisers for Wasserstein GANs, selectable by name.

* ``gp``   two-sided gradient penalty, Gulrajani et al. 2017: ``E[(||grad D(x_hat)|| - 1)^2]`` on per-sample
  interpolates ``x_hat = eps * real + (1 - eps) * fake``, ``eps ~ U[0, 1]`` drawn per sample.
* ``lp``   one-sided Lipschitz penalty, Petzka et al. 2018: ``E[max(0, ||grad D(x_hat)|| - 1)^2]``.
* ``r1``   zero-centred penalty on reals, Mescheder et al. 2018: ``E[||grad D(real)||^2]``; the usual weight is
  ``gamma / 2``.
* ``clip`` weight clipping, Arjovsky et al. 2017: every critic parameter clamped to ``[-c, c]`` after each
  critic step (no penalty term; trained with RMSProp).

Norms are per sample over all of C, H, W (not per pixel) with an epsilon inside the square root, so the
gradient of the penalty is finite where the input gradient vanishes.

Mixed precision follows PyTorch's AMP recipe: when the critic output is produced under autocast with a
``GradScaler``, pass ``scale=scaler.get_scale()``; the output is multiplied by it before
``torch.autograd.grad`` (so small fp16 gradients do not underflow) and the gradient divided by it afterwards.
The norm itself is always computed in fp32.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

CriticFn = Callable[[torch.Tensor], torch.Tensor]

PENALTIES: tuple[str, ...] = ("gp", "lp", "r1", "clip", "none")
"""Names accepted by the training config's ``penalty`` field."""

DEFAULT_EPS: float = 1e-12


def input_gradient(critic_fn: CriticFn, x: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    """Gradient of ``sum(critic_fn(x))`` with respect to ``x``, flattened per sample, in fp32.

    The graph is kept (``create_graph=True``) so that a penalty on the gradient can be back-propagated into
    the critic's parameters (double backward).

    Args:
        critic_fn: maps a batch ``(B, ...)`` to scores ``(B,)`` or ``(B, 1)``.
        x: the points where the gradient is taken; detached and made to require grad here.
        scale: the GradScaler's current scale when ``critic_fn`` runs under fp16 autocast, else ``None``.

    Returns:
        Tensor of shape ``(B, numel_per_sample)``, dtype float32.
    """
    x = x.detach().requires_grad_(True)
    out = critic_fn(x).float().sum()
    if scale is not None:
        out = out * scale
    (grad,) = torch.autograd.grad(out, x, create_graph=True)
    grad = grad.float().flatten(1)
    if scale is not None:
        grad = grad * (1.0 / scale)
    return grad


def _grad_norm(grad: torch.Tensor, eps: float) -> torch.Tensor:
    return torch.sqrt(grad.pow(2).sum(dim=1) + eps)


def interpolate(
    real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Per-sample random interpolates ``eps * real + (1 - eps) * fake`` with ``eps ~ U[0, 1]``."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, generator=generator, device=real.device, dtype=torch.float32)
    return (eps * real.detach().float() + (1.0 - eps) * fake.detach().float()).to(real.dtype)


def gradient_penalty(
    critic_fn: CriticFn,
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    scale: float | None = None,
    eps: float = DEFAULT_EPS,
    interpolates: torch.Tensor | None = None,
) -> torch.Tensor:
    """Two-sided gradient penalty ``mean((||grad D(x_hat)|| - 1)^2)`` (Gulrajani et al. 2017).

    Returns the unweighted scalar (fp32); multiply by lambda (10 in the paper). ``interpolates`` may be given
    explicitly (tests); otherwise they are drawn with ``generator``.
    """
    x_hat = interpolate(real, fake, generator) if interpolates is None else interpolates
    norm = _grad_norm(input_gradient(critic_fn, x_hat, scale), eps)
    return (norm - 1.0).pow(2).mean()


def lipschitz_penalty(
    critic_fn: CriticFn,
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    scale: float | None = None,
    eps: float = DEFAULT_EPS,
    interpolates: torch.Tensor | None = None,
) -> torch.Tensor:
    """One-sided Lipschitz penalty ``mean(max(0, ||grad D(x_hat)|| - 1)^2)`` (Petzka et al. 2018)."""
    x_hat = interpolate(real, fake, generator) if interpolates is None else interpolates
    norm = _grad_norm(input_gradient(critic_fn, x_hat, scale), eps)
    return torch.clamp(norm - 1.0, min=0.0).pow(2).mean()


def r1_penalty(critic_fn: CriticFn, real: torch.Tensor, *, scale: float | None = None) -> torch.Tensor:
    """Zero-centred penalty on real data ``mean(||grad D(real)||^2)`` (Mescheder et al. 2018)."""
    return input_gradient(critic_fn, real, scale).pow(2).sum(dim=1).mean()


@torch.no_grad()
def clip_weights(module: nn.Module | Iterable[nn.Parameter], clip_value: float) -> None:
    """Clamp every parameter to ``[-clip_value, clip_value]`` in place (Arjovsky et al. 2017)."""
    params = module.parameters() if isinstance(module, nn.Module) else module
    for p in params:
        p.clamp_(-clip_value, clip_value)
