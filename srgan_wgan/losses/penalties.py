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

Every regulariser is one :class:`PenaltySpec` in one registry (:data:`PENALTY_REGISTRY`): its function, default
weight, whether it is per sample (no BatchNorm critic), its default optimiser, a post-step hook and a check of the
config. The training config's validation, the engine and the CLI help all read the registry, so adding a penalty
is one :func:`register_penalty` call, from inside the package or outside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from srgan_wgan.errors import ConfigError

CriticFn = Callable[[torch.Tensor], torch.Tensor]

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


# ---- the registry ------------------------------------------------------------------------------------------------
PenaltyFn = Callable[..., torch.Tensor]
"""``fn(critic_fn, real, fake, *, generator, scale) -> unweighted scalar (fp32)``."""


@dataclass(frozen=True)
class PenaltySpec:
    """One critic regulariser, as the config, the engine and the CLI see it.

    Attributes:
        name: the value of ``--penalty`` / ``GANTrainConfig.penalty``.
        description: a few words for help texts and errors.
        fn: the penalty term, or ``None`` for regularisers that act after the step (clipping) or none at all.
        default_weight: the weight when the config gives none.
        per_sample: it penalises per-sample input gradients, so the critic must not couple samples (no BatchNorm).
        optimizer: the default optimiser of critic and generator (``adam`` or ``rmsprop``).
        post_step: called as ``post_step(critic, config)`` after every critic update (e.g. clip the weights).
        check: called as ``check(config)`` during validation; raise :class:`ConfigError` on impossible settings.
    """

    name: str
    description: str
    fn: PenaltyFn | None = None
    default_weight: float = 0.0
    per_sample: bool = False
    optimizer: str = "adam"
    post_step: Callable[[nn.Module, Any], None] | None = None
    check: Callable[[Any], None] | None = None


PENALTY_REGISTRY: dict[str, PenaltySpec] = {}


def register_penalty(spec: PenaltySpec, replace: bool = False) -> PenaltySpec:
    """Add ``spec`` to the registry (``replace=True`` to redefine a name)."""
    if spec.name in PENALTY_REGISTRY and not replace:
        raise ValueError(f"penalty {spec.name!r} is already registered")
    PENALTY_REGISTRY[spec.name] = spec
    return spec


def get_penalty(name: str) -> PenaltySpec:
    """The registered spec of ``name``; :class:`ConfigError` naming the choices otherwise."""
    try:
        return PENALTY_REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown penalty {name!r}; choose one of {', '.join(PENALTY_REGISTRY)}") from None


def penalty_help() -> str:
    """``gp (two-sided gradient penalty), ...`` for help texts."""
    return ", ".join(f"{s.name} ({s.description})" for s in PENALTY_REGISTRY.values())


def _r1(critic_fn: CriticFn, real: torch.Tensor, fake: torch.Tensor, *, generator: torch.Generator | None = None,
        scale: float | None = None) -> torch.Tensor:
    return r1_penalty(critic_fn, real, scale=scale)


def _clip_after_step(critic: nn.Module, config: Any) -> None:
    clip_weights(critic, config.clip_value)


def _check_clip(config: Any) -> None:
    if config.penalty_weight not in (None, 0, 0.0):
        raise ConfigError("penalty 'clip' (weight clipping) takes no penalty weight: drop --penalty-weight, "
                          "or choose --penalty gp/lp/r1")
    if config.clip_value <= 0:
        raise ConfigError(f"clip value must be > 0, got {config.clip_value}")


register_penalty(PenaltySpec("gp", "two-sided gradient penalty", gradient_penalty, 10.0, per_sample=True))
register_penalty(PenaltySpec("lp", "one-sided Lipschitz penalty", lipschitz_penalty, 10.0, per_sample=True))
register_penalty(PenaltySpec("r1", "zero-centred penalty on reals", _r1, 5.0, per_sample=True))
register_penalty(PenaltySpec("clip", "weight clipping", None, 0.0, optimizer="rmsprop", post_step=_clip_after_step,
                             check=_check_clip))
register_penalty(PenaltySpec("none", "no regulariser"))

PENALTIES: tuple[str, ...] = tuple(PENALTY_REGISTRY)
"""The built-in names (the registry may hold more)."""
