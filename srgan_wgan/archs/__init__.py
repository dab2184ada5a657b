"""Network architectures, with a name registry so a weight file alone rebuilds its model."""

from __future__ import annotations

from torch import nn

from srgan_wgan.archs.cond_generator import CondGenerator, CondGeneratorConfig
from srgan_wgan.archs.critic import CRITIC_CONDS, CRITIC_NORMS, ConvCritic, CriticConfig
from srgan_wgan.archs.sr import SRResNet, SRResNetConfig
from srgan_wgan.errors import WeightsError

ARCHS: dict[str, tuple[type[nn.Module], type]] = {
    "ConvCritic": (ConvCritic, CriticConfig),
    "CondGenerator": (CondGenerator, CondGeneratorConfig),
    "SRResNet": (SRResNet, SRResNetConfig),
}
"""Architecture name -> (module class, config dataclass). Applications register theirs with :func:`register_arch`."""


def register_arch(name: str, cls: type[nn.Module], config_cls: type) -> None:
    """Make ``cls`` buildable by name from a saved config."""
    ARCHS[name] = (cls, config_cls)


def build_arch(name: str, config: dict[str, object]) -> nn.Module:
    """Build a registered architecture from its saved config dict."""
    if name not in ARCHS:
        raise WeightsError(f"unknown architecture {name!r} (known: {', '.join(sorted(ARCHS))})")
    cls, config_cls = ARCHS[name]
    fields = set(getattr(config_cls, "__dataclass_fields__", {}))
    unknown = set(config) - fields
    if unknown:
        raise WeightsError(f"config for {name} has unknown fields {sorted(unknown)} (saved by a newer version?)")
    return cls(config_cls(**config))


__all__ = [
    "ARCHS",
    "CRITIC_CONDS",
    "CRITIC_NORMS",
    "CondGenerator",
    "CondGeneratorConfig",
    "ConvCritic",
    "CriticConfig",
    "SRResNet",
    "SRResNetConfig",
    "build_arch",
    "register_arch",
]
