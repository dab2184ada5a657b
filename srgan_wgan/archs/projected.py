"""A projected critic: small trainable heads over frozen ImageNet features at several scales.

After Sauer et al. 2021 ("Projected GANs Converge Faster") and Kumari et al. 2022 ("Ensembling Off-the-shelf
Models for GAN Training"): a critic trained from scratch on a few thousand paintings learns slowly, while the
features of an ImageNet network already tell forms, strokes and textures apart. The image (in ``[-1, 1]``, at its
own size: 64 or 128 px are not resized to 224) goes through a frozen VGG16 or AlexNet; the maps at ``taps`` are
projected by fixed random 1x1 convolutions (cross-channel mixing, CCM) and fused top-down by fixed random 3x3
convolutions (cross-scale mixing, CSM), which spread every feature over all channels so that no head can rely on
a few. One head per scale (stride-2 convolutions down to 4x4, LeakyReLU, no normalisation, so a per-sample
gradient penalty is exact) gives features ``phi_k``; the score is the sum over scales of
``out_k(phi_k) + <embed_k(y), phi_k>`` (projection class conditioning, Miyato & Koyama 2018). The ``out_k`` layers
and the class embeddings start at zero: a new critic scores 0 with a zero image gradient, so the gradient penalty
starts at 1 instead of the ~150 that random heads on ImageNet-scaled features give (measured at 128 px).

The random projections are persistent buffers (saved with the weights: the file alone rebuilds the critic); the
backbone is frozen into non-persistent buffers and read again from its own file (see
:func:`srgan_wgan.archs.backbones.load_backbone_features`). The penalty is taken on the image, through the frozen
backbone (double backward), so the Wasserstein critic stays 1-Lipschitz in image space.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from srgan_wgan.archs.backbones import IMAGENET_MEAN, IMAGENET_STD, load_backbone_features
from srgan_wgan.archs.critic import freeze_as_buffers
from srgan_wgan.errors import ConfigError

BACKBONE_TAPS: dict[str, tuple[int, ...]] = {"vgg16": (8, 15, 22), "alexnet": (1, 4, 11)}
"""Default taps: VGG16 relu2_2 / relu3_3 / relu4_3 (1/2, 1/4, 1/8 of the input side); AlexNet relu1 / relu2 /
relu5 (about 1/4, 1/8, 1/16)."""


@dataclass
class ProjectedCriticConfig:
    """Architecture of :class:`ProjectedCritic` (saved beside its weights)."""

    resolution: int = 128
    backbone: str = "vgg16"
    taps: tuple[int, ...] = ()
    """Indices into the backbone's ``features`` whose outputs feed the heads; empty: :data:`BACKBONE_TAPS`."""
    mix_channels: int = 64
    """Channels of every projected (CCM) and fused (CSM) map."""
    head_channels: int = 64
    max_head_channels: int = 256
    num_classes: int = 0
    cond: str = "class"
    """``class`` (projection conditioning) or ``none``."""
    projection_seed: int = 0
    """Seed of the fixed random projections (they are saved too; the seed only makes a new critic reproducible)."""
    norm: str = "none"
    """Always ``none`` (the engine checks a critic's ``norm`` against its penalty)."""

    def __post_init__(self) -> None:
        self.taps = tuple(int(t) for t in self.taps) or BACKBONE_TAPS.get(self.backbone, ())

    def validate(self) -> None:
        """Raise :class:`ConfigError` for unknown names or impossible shapes."""
        if self.backbone not in BACKBONE_TAPS:
            raise ConfigError(f"unknown projected-critic backbone {self.backbone!r}; choose one of "
                              f"{', '.join(BACKBONE_TAPS)}")
        if self.cond not in ("class", "none"):
            raise ConfigError(f"a projected critic is conditioned on class or none, got {self.cond!r}")
        if self.cond == "class" and self.num_classes < 1:
            raise ConfigError("a class-conditioned critic needs num_classes >= 1")
        if self.norm != "none":
            raise ConfigError("a projected critic has no normalisation layers (norm must be none)")
        if not self.taps or list(self.taps) != sorted(set(self.taps)):
            raise ConfigError(f"taps must be increasing layer indices, got {self.taps}")
        if self.resolution < 32:
            raise ConfigError(f"a projected critic needs images of at least 32 px, got {self.resolution}")
        if min(self.mix_channels, self.head_channels) < 1:
            raise ConfigError("mix_channels and head_channels must be positive")


def _fixed_conv(cin: int, cout: int, k: int, gen: torch.Generator) -> torch.Tensor:
    """A Kaiming-uniform random ``(cout, cin, k, k)`` kernel (the CCM / CSM projections)."""
    bound = (6.0 / (cin * k * k)) ** 0.5
    return (torch.rand(cout, cin, k, k, generator=gen) * 2 - 1) * bound


class _Head(nn.Module):
    """Stride-2 4x4 convolutions from a ``res`` map down to under 8 px (LeakyReLU), then a linear feature layer."""

    def __init__(self, cin: int, res: int, ch: int, max_ch: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        while res >= 8:
            nxt = min(ch * 2, max_ch) if layers else ch
            layers += [nn.Conv2d(cin, nxt, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            cin, res = nxt, res // 2
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(cin * res * res, cin)
        self.out = nn.Linear(cin, 1)
        self.dim = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.fc(self.body(x).flatten(1)), 0.2)


class ProjectedCritic(nn.Module):
    """Multi-scale heads on frozen, randomly projected ImageNet features; see the module doc.

    Shape:
        - x: ``(B, 3, resolution, resolution)`` in ``[-1, 1]``
        - cond: ``(B,)`` int64 class labels for ``cond="class"``
        - output: ``(B,)`` scores (unbounded; higher = more real)
    """

    optional_state_prefixes: tuple[str, ...] = ()
    full_precision_prefixes: tuple[str, ...] = ("ccm", "csm")
    """The fixed projections stay fp32 in fp16 release files (:func:`~srgan_wgan.io.weights.save_pretrained`)."""

    def __init__(self, config: ProjectedCriticConfig | None = None, **kwargs: object) -> None:
        super().__init__()
        config = config or ProjectedCriticConfig(**kwargs)  # type: ignore[arg-type]
        config.validate()
        self.config = config
        features = load_backbone_features(config.backbone)
        self.features = freeze_as_buffers(features[: max(config.taps) + 1])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        channels, sides = self._tap_shapes(config.resolution)
        gen = torch.Generator().manual_seed(config.projection_seed)
        m = config.mix_channels
        for k, c in enumerate(channels):
            self.register_buffer(f"ccm{k}", _fixed_conv(c, m, 1, gen))
            if k < len(channels) - 1:
                self.register_buffer(f"csm{k}", _fixed_conv(m, m, 3, gen))
        self.heads = nn.ModuleList(_Head(m, s, config.head_channels, config.max_head_channels) for s in sides)
        self.embeds = (nn.ModuleList(nn.Embedding(config.num_classes, h.dim) for h in self.heads)
                       if config.cond == "class" else None)
        for head in self.heads:  # the score starts at 0 with a zero image gradient: the penalty starts at 1, not at
            nn.init.zeros_(head.out.weight)  # the (|grad| - 1)^2 of random heads on ImageNet-scaled features (~150)
            nn.init.zeros_(head.out.bias)
        for emb in self.embeds or ():
            nn.init.zeros_(emb.weight)

    def _tap_shapes(self, res: int) -> tuple[list[int], list[int]]:
        """Channels and sides of the tapped maps for a ``res`` input (one dry run of the backbone)."""
        with torch.no_grad():
            maps = self.project(torch.zeros(1, 3, res, res), mix=False)
        return [f.shape[1] for f in maps], [f.shape[-1] for f in maps]

    def project(self, x: torch.Tensor, mix: bool = True) -> list[torch.Tensor]:
        """The fixed part: backbone maps at ``taps`` (shallowest first), randomly mixed and fused with ``mix``."""
        h = ((x + 1) / 2 - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        maps = []
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in self.config.taps:
                maps.append(h)
        if not mix:
            return maps
        mixed = [F.conv2d(f, getattr(self, f"ccm{k}").to(f.dtype)) for k, f in enumerate(maps)]
        fused = [mixed[-1]]
        for k in range(len(mixed) - 2, -1, -1):  # top-down: each map plus the upsampled deeper fusion
            up = F.interpolate(fused[0], size=mixed[k].shape[-2:], mode="bilinear", align_corners=False)
            fused.insert(0, F.conv2d(mixed[k] + up, getattr(self, f"csm{k}").to(up.dtype), padding=1))
        return fused

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if self.embeds is not None and cond is None:
            raise ValueError("this critic is class-conditioned: pass the labels as cond")
        score = x.new_zeros(x.shape[0], dtype=torch.float32)
        for k, (f, head) in enumerate(zip(self.project(x), self.heads)):
            phi = head(f)
            s = head.out(phi).squeeze(1)
            if self.embeds is not None:
                s = s + (self.embeds[k](cond) * phi).sum(1)
            score = score + s.float()
        return score

    def score_and_logits(self, x: torch.Tensor, cond: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The score and no class logits (this critic has no auxiliary classifier)."""
        return self(x, cond), None

    def config_dict(self) -> dict[str, object]:
        """Constructor arguments, for saving beside the weights."""
        d = asdict(self.config)
        d["taps"] = list(self.config.taps)
        return d
