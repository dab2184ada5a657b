"""A convolutional critic family shared by both applications.

One class covers three uses:

* ``cond="none"``  unconditional ``D(x)``;
* ``cond="image"`` input-conditioned ``D(x, lr)``: the condition image is resized to ``x``'s size (nearest,
  no gradient needed) and concatenated on channels; used by face super-resolution;
* ``cond="class"`` class-conditioned by projection (Miyato & Koyama 2018):
  ``D(x, y) = psi(phi(x)) + <embed(y), phi(x)>``; used by painting generation. With ``aux_classifier`` an
  auxiliary classifier also predicts the class (AC-GAN, Odena et al. 2017): the engine trains it on real images and
  asks the generator's fakes to be recognised as their class (``aux_class_weight``). It is a branch of its own (a
  small conv net) rather than a head on the critic's features: under a Wasserstein loss those features carry little
  class information and the score's gradients swamp a shared head's cross-entropy. ``aux_backbone="alexnet"``
  replaces the branch by a linear head on frozen ImageNet AlexNet features (a vision-aided classifier, as in
  Kumari et al. 2022, "Ensembling off-the-shelf models for GAN training"): from-scratch branches learn styles
  slowly on a few thousand paintings.

Normalisation options: ``none`` (default), ``layer`` (GroupNorm with one group = LayerNorm over C, H, W, the
WGAN-GP paper's recommendation), ``group`` (GroupNorm), ``batch`` (BatchNorm, allowed only with weight
clipping, because a per-sample gradient penalty is wrong when samples interact through batch statistics).
Spectral normalisation was a switch of earlier versions: ``CriticConfig.RETIRED_FIELDS`` lets their files load.

``mbstd_group`` adds ProGAN's minibatch standard deviation (Karras et al. 2018, also in StyleGAN2-ADA): the spread of
the 4x4 features across each group of samples enters the critic's last layer, so a generator that draws the same
few paintings again is told apart from the varied real ones. Its weights start at zero (a critic without it loads
and scores as before; a fine-tune learns them). Scores then depend on the other samples of the group: the engine
scores reals, fakes and penalty interpolates in separate batches, as ProGAN did with WGAN-GP.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from srgan_wgan.errors import ConfigError
from srgan_wgan.archs.backbones import IMAGENET_MEAN, IMAGENET_STD, load_backbone_features, pooled_features

CRITIC_NORMS: tuple[str, ...] = ("none", "layer", "group", "batch")
CRITIC_CONDS: tuple[str, ...] = ("none", "image", "class")
AUX_BACKBONES: tuple[str, ...] = ("none", "alexnet")


@dataclass
class CriticConfig:
    """Architecture of :class:`ConvCritic` (saved beside its weights)."""

    in_channels: int = 3
    resolution: int = 64
    base_channels: int = 64
    max_channels: int = 512
    min_resolution: int = 4
    cond: str = "none"
    cond_channels: int = 3
    num_classes: int = 0
    norm: str = "none"
    aux_classifier: bool = False
    aux_backbone: str = "none"
    """Auxiliary classifier body: ``none`` (a conv branch trained from scratch) or ``alexnet`` (frozen ImageNet
    features, only the linear head is trained; needs the AlexNet weights, see ``load_backbone_features``)."""
    mbstd_group: int = 0
    """Minibatch standard deviation group size (StyleGAN2-ADA uses 4); 0 = off."""

    RETIRED_FIELDS: ClassVar[tuple[str, ...]] = ("spectral_norm",)
    """Keys of earlier versions' saved configs: dropped on loading when they hold their old default (False), a
    :class:`~srgan_wgan.errors.WeightsError` otherwise (see :func:`srgan_wgan.archs.build_arch`)."""

    def validate(self) -> None:
        """Raise :class:`ConfigError` for unknown names or impossible shapes."""
        if self.norm not in CRITIC_NORMS:
            raise ConfigError(f"unknown critic norm {self.norm!r}; choose one of {', '.join(CRITIC_NORMS)}")
        if self.cond not in CRITIC_CONDS:
            raise ConfigError(f"unknown critic conditioning {self.cond!r}; choose one of {', '.join(CRITIC_CONDS)}")
        if self.cond == "class" and self.num_classes < 1:
            raise ConfigError("a class-conditioned critic needs num_classes >= 1")
        if self.aux_classifier and self.cond != "class":
            raise ConfigError("an auxiliary classifier needs a class-conditioned critic (cond='class')")
        if self.aux_backbone not in AUX_BACKBONES:
            raise ConfigError(f"unknown auxiliary classifier backbone {self.aux_backbone!r}; "
                              f"choose one of {', '.join(AUX_BACKBONES)}")
        if self.mbstd_group < 0 or self.mbstd_group == 1:
            raise ConfigError(f"minibatch-stddev group size must be 0 (off) or >= 2, got {self.mbstd_group}")
        if self.min_resolution < 1 or self.resolution < self.min_resolution or self.final_resolution % 1:
            raise ConfigError(f"critic resolution must be >= {self.min_resolution} and halve exactly down to under "
                              f"{2 * self.min_resolution} (a power of two, or e.g. 96 or 192), got {self.resolution}")

    @property
    def final_resolution(self) -> float:
        """Side of the last feature map: ``resolution`` halved while the half is at least ``min_resolution`` (4 for
        a power of two, 6 for 192); not a whole number when a halving is inexact (e.g. 100 -> 50 -> 25 -> 12.5)."""
        res: float = self.resolution
        while res / 2 >= self.min_resolution:
            res /= 2
        return res


def minibatch_stddev(x: torch.Tensor, group_size: int, eps: float = 1e-8) -> torch.Tensor:
    """Standard deviation of ``x`` across each group of samples, averaged over its other dimensions (ProGAN).

    Sample ``i`` belongs to group ``i mod (B / G)``; the group size ``G`` is ``group_size``, or the largest divisor
    of the batch below it. Computed in fp32.

    Shape:
        - x: ``(B, ...)``
        - output: ``(B, 1)``, the same value for every sample of a group (0 for a batch of one)
    """
    b = x.shape[0]
    g = max(1, min(group_size, b))
    while b % g:
        g -= 1
    y = x.float().reshape(g, b // g, -1)
    std = (y - y.mean(0)).square().mean(0).add(eps).sqrt().mean(1)  # (B / G,)
    if g == 1:
        std = torch.zeros_like(std)
    return std.repeat(g).unsqueeze(1)


def _norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "group":
        return nn.GroupNorm(min(32, max(1, channels // 4)), channels)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


class _DownBlock(nn.Module):
    def __init__(self, cin: int, cout: int, norm: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm1 = _norm_layer(norm, cout)
        self.conv2 = nn.Conv2d(cout, cout, 4, stride=2, padding=1)
        self.norm2 = _norm_layer(norm, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.norm1(self.conv1(x)), 0.2)
        return F.leaky_relu(self.norm2(self.conv2(x)), 0.2)


class AuxClassifier(nn.Module):
    """The auxiliary classifier branch: stride-2 conv blocks (LeakyReLU, GroupNorm) down to 4x4, global average
    pooling, a linear layer to ``num_classes`` logits."""

    def __init__(self, in_channels: int, resolution: int, base_channels: int, max_channels: int,
                 num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin, ch, res = in_channels, base_channels, resolution
        while res > 4:
            layers += [nn.Conv2d(cin, ch, 4, stride=2, padding=1), nn.GroupNorm(min(8, ch), ch), nn.LeakyReLU(0.2)]
            cin, ch, res = ch, min(ch * 2, max_channels), res // 2
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x).mean((2, 3)))


def freeze_as_buffers(module: nn.Module) -> nn.Module:
    """Turn every parameter of ``module`` into a non-persistent buffer, in place.

    The weights then follow ``.to()`` but are not trained by an optimiser over ``parameters()``, are left alone by
    ``requires_grad_`` and weight clipping, and stay out of ``state_dict`` (they are rebuilt from their own file).
    """
    for sub in module.modules():
        for name, p in list(sub.named_parameters(recurse=False)):
            delattr(sub, name)
            sub.register_buffer(name, p.detach(), persistent=False)
    return module


class PretrainedAuxClassifier(nn.Module):
    """Auxiliary classifier on frozen ImageNet AlexNet features: images in ``[-1, 1]`` are resized to
    ``input_size``, ImageNet-normalised, and the global-average-pooled ReLU outputs of conv3, conv4 and conv5
    (1,024 values) go through a parameter-free LayerNorm to a linear layer, the only trained part."""

    taps: tuple[int, ...] = (7, 9, 11)  # ReLU after conv3, conv4, conv5 in torchvision's alexnet().features
    lr_multiplier: float = 10.0
    """The head learns at 10x the critic's learning rate (honoured by the training engine's optimiser groups): a
    linear layer on fixed features must keep up with the generator from its first steps."""

    def __init__(self, num_classes: int, backbone: str = "alexnet", input_size: int = 128) -> None:
        super().__init__()
        features = load_backbone_features(backbone)
        self.features = freeze_as_buffers(features[: max(self.taps) + 1])
        dim = sum(features[i - 1].out_channels for i in self.taps)
        self.input_size = input_size
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)
        self.fc = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate((x + 1) / 2, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return self.fc(self.norm(pooled_features(self.features, x, self.taps, self.mean, self.std)))


class ConvCritic(nn.Module):
    """Conv critic: stride-2 blocks from ``resolution`` down to ``CriticConfig.final_resolution`` (``min_resolution``
    for a power of two), then a linear score.

    Args:
        config: a :class:`CriticConfig` (or its fields as keyword arguments).

    Shape:
        - x: ``(B, in_channels, resolution, resolution)``
        - cond: ``(B, cond_channels, h, w)`` for ``cond="image"``, ``(B,)`` int64 for ``cond="class"``
        - output: ``(B,)`` scores (unbounded; higher = more real)
    """

    optional_state_prefixes: tuple[str, ...] = ("classifier.", "mbstd.")
    """Tensors that a checkpoint may lack (a head added for fine-tuning keeps its fresh initialisation)."""

    def __init__(self, config: CriticConfig | None = None, **kwargs: object) -> None:
        super().__init__()
        config = config or CriticConfig(**kwargs)  # type: ignore[arg-type]
        config.validate()
        self.config = config
        cin = config.in_channels + (config.cond_channels if config.cond == "image" else 0)
        ch = config.base_channels
        self.stem = nn.Conv2d(cin, ch, 3, padding=1)
        blocks = []
        res = config.resolution
        while res > config.final_resolution:
            nxt = min(ch * 2, config.max_channels)
            blocks.append(_DownBlock(ch, nxt, config.norm))
            ch, res = nxt, res // 2
        self.blocks = nn.Sequential(*blocks)
        self.feature_dim = ch * res * res
        self.fc = nn.Linear(self.feature_dim, ch)
        self.mbstd: nn.Linear | None = None
        if config.mbstd_group:
            self.mbstd = nn.Linear(1, ch, bias=False)
            nn.init.zeros_(self.mbstd.weight)
        self.out = nn.Linear(ch, 1)
        self.embed = nn.Embedding(config.num_classes, ch) if config.cond == "class" else None
        self.classifier: nn.Module | None = None
        if config.aux_classifier and config.aux_backbone != "none":
            self.classifier = PretrainedAuxClassifier(config.num_classes, config.aux_backbone)
        elif config.aux_classifier:
            self.classifier = AuxClassifier(config.in_channels, config.resolution, config.base_channels * 2,
                                            config.max_channels, config.num_classes)

    def features(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Penultimate features ``phi(x)`` of shape ``(B, C)``."""
        if self.config.cond == "image":
            if cond is None:
                raise ValueError("this critic is conditioned on an image: pass cond")
            if cond.shape[-2:] != x.shape[-2:]:
                with torch.no_grad():
                    cond = F.interpolate(cond, size=x.shape[-2:], mode="nearest")
            x = torch.cat([x, cond.to(x.dtype)], dim=1)
        h = F.leaky_relu(self.stem(x), 0.2)
        h = self.blocks(h).flatten(1)
        pre = self.fc(h)
        if self.mbstd is not None:
            pre = pre + self.mbstd(minibatch_stddev(h, self.config.mbstd_group).to(pre.dtype))
        return F.leaky_relu(pre, 0.2)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        h = self.features(x, cond)
        score = self.out(h).squeeze(1)
        if self.embed is not None:
            if cond is None:
                raise ValueError("this critic is class-conditioned: pass the labels as cond")
            score = score + (self.embed(cond) * h).sum(dim=1)
        return score

    def score_and_logits(self, x: torch.Tensor, cond: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The score ``(B,)`` and, with an auxiliary classifier, its class logits ``(B, num_classes)`` (else None).
        :meth:`forward` (scores of fakes, gradient-penalty interpolates) never runs the classifier branch."""
        return self(x, cond), (self.classifier(x) if self.classifier is not None else None)

    def config_dict(self) -> dict[str, object]:
        """Constructor arguments, for saving beside the weights."""
        return asdict(self.config)
