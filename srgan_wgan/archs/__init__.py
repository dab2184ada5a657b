"""Network architectures, with a name registry so a weight file alone rebuilds its model."""

from __future__ import annotations

import dataclasses

from torch import nn

from srgan_wgan.archs.compact import CompactSR, CompactSRConfig
from srgan_wgan.archs.cond_generator import CondGenerator, CondGeneratorConfig
from srgan_wgan.archs.critic import CRITIC_CONDS, CRITIC_NORMS, ConvCritic, CriticConfig
from srgan_wgan.archs.projected import ProjectedCritic, ProjectedCriticConfig
from srgan_wgan.archs.sr import SRResNet, SRResNetConfig
from srgan_wgan.errors import WeightsError

ARCHS: dict[str, tuple[type[nn.Module], type]] = {
    "CompactSR": (CompactSR, CompactSRConfig),
    "ConvCritic": (ConvCritic, CriticConfig),
    "CondGenerator": (CondGenerator, CondGeneratorConfig),
    "ProjectedCritic": (ProjectedCritic, ProjectedCriticConfig),
    "SRResNet": (SRResNet, SRResNetConfig),
}
"""Architecture name -> (module class, config dataclass). Applications register theirs with :func:`register_arch`."""


def register_arch(name: str, cls: type[nn.Module], config_cls: type) -> None:
    """Make ``cls`` buildable by name from a saved config."""
    ARCHS[name] = (cls, config_cls)


def _config_class(name: str) -> type:
    """The config dataclass registered for ``name`` (a :class:`WeightsError` naming the known ones if none)."""
    if name not in ARCHS:
        raise WeightsError(f"unknown architecture {name!r} (known: {', '.join(sorted(ARCHS))})")
    return ARCHS[name][1]


def drop_retired_fields(name: str, config: dict[str, object]) -> dict[str, object]:
    """``config`` (saved for architecture ``name``) without the keys its config class lists in ``RETIRED_FIELDS``.

    A retired key holding its old default (a falsy value such as ``False`` or ``0``) is dropped: the model it
    describes is the one built today. Any other value describes a model this version cannot build.

    Raises:
        WeightsError: for an unknown ``name`` or a retired key with a non-default value.
    """
    retired = tuple(getattr(_config_class(name), "RETIRED_FIELDS", ()))
    for key in retired:
        if config.get(key):
            raise WeightsError(f"this {name} was saved with {key}={config[key]!r}, "
                               "which this version no longer supports")
    return {k: v for k, v in config.items() if k not in retired}


def build_arch(name: str, config: dict[str, object]) -> nn.Module:
    """Build a registered architecture from its saved config dict (retired fields: :func:`drop_retired_fields`)."""
    config = drop_retired_fields(name, config)
    cls, config_cls = ARCHS[name]
    known = dataclasses.fields(config_cls) if dataclasses.is_dataclass(config_cls) else ()
    unknown = set(config) - {f.name for f in known if f.init}  # ClassVars such as RETIRED_FIELDS are no fields
    if unknown:
        raise WeightsError(f"config for {name} has unknown fields {sorted(unknown)} (saved by a newer version?)")
    return cls(config_cls(**config))


__all__ = [
    "ARCHS",
    "CRITIC_CONDS",
    "CRITIC_NORMS",
    "CompactSR",
    "CompactSRConfig",
    "CondGenerator",
    "CondGeneratorConfig",
    "ConvCritic",
    "CriticConfig",
    "ProjectedCritic",
    "ProjectedCriticConfig",
    "SRResNet",
    "SRResNetConfig",
    "build_arch",
    "drop_retired_fields",
    "register_arch",
]
