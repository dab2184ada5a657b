"""Super-resolution generator: an SRResNet/EDSR-class residual network with PixelShuffle upsampling.

``LR (B, 3, h, w) in [0, 1] -> conv -> N residual blocks (no BatchNorm, residual scaling) -> conv + long skip
-> log2(scale) x (conv -> PixelShuffle(2) -> LeakyReLU) -> conv -> conv -> SR (B, 3, h*s, w*s)``

With ``unshuffle = u > 1`` the input is first folded into ``3 u^2`` channels at ``1/u`` of its size
(``pixel_unshuffle``, as Real-ESRGAN's x1/x2 models do), so the residual body runs at low resolution and the
upsampling stages return ``scale * u``: ``scale=1, unshuffle=4`` is a same-size restoration network
(the blind face-restoration model) at the cost of an x4 SR network.

The width halves at each upsampling stage after the first (down to ``min_up_feat``): most of the compute of an
SR network sits at the high resolutions, and faces need little width there.

No bilinear/bicubic interpolation inside the network (its CUDA backward is non-deterministic); the output is
not clamped during training (clamp for display/metrics).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from srgan_wgan.errors import ConfigError

SR_SCALES: tuple[int, ...] = (2, 4, 8)
RESTORE_SCALE = 1  # same-size restoration (with ``unshuffle``)


@dataclass
class SRResNetConfig:
    """Architecture of :class:`SRResNet` (saved beside its weights)."""

    scale: int = 4
    in_channels: int = 3
    num_feat: int = 64
    num_blocks: int = 12
    res_scale: float = 0.2
    min_up_feat: int = 16
    unshuffle: int = 1

    @property
    def up_factor(self) -> int:
        """The factor the upsampling stages apply (``scale * unshuffle``)."""
        return self.scale * self.unshuffle

    def validate(self) -> None:
        if self.scale not in (RESTORE_SCALE, *SR_SCALES):
            raise ConfigError(f"scale must be one of {SR_SCALES} (or 1 for restoration), got {self.scale}")
        if self.unshuffle not in (1, 2, 4) or self.up_factor not in SR_SCALES:
            raise ConfigError(f"unshuffle must be 1, 2 or 4 and scale x unshuffle one of {SR_SCALES}, got "
                              f"scale {self.scale}, unshuffle {self.unshuffle}")
        if self.num_feat < 1 or self.num_blocks < 0:
            raise ConfigError("num_feat must be >= 1 and num_blocks >= 0")


class ResidualBlock(nn.Module):
    """``x + res_scale * conv(lrelu(conv(x)))`` (EDSR-style, no BatchNorm)."""

    def __init__(self, num_feat: int, res_scale: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.conv2(F.leaky_relu(self.conv1(x), 0.2))


class SRResNet(nn.Module):
    """Residual SR network, x2/x4/x8 by repeated conv + PixelShuffle(2).

    Shape:
        - lr: ``(B, in_channels, h, w)`` in ``[0, 1]``
        - output: ``(B, in_channels, h * scale, w * scale)`` (approximately ``[0, 1]``; not clamped)
    """

    def __init__(self, config: SRResNetConfig | None = None, **kwargs: object) -> None:
        super().__init__()
        config = config or SRResNetConfig(**kwargs)  # type: ignore[arg-type]
        config.validate()
        self.config = config
        nf = config.num_feat
        self.conv_first = nn.Conv2d(config.in_channels * config.unshuffle ** 2, nf, 3, padding=1)
        self.body = nn.Sequential(*[ResidualBlock(nf, config.res_scale) for _ in range(config.num_blocks)])
        self.conv_body = nn.Conv2d(nf, nf, 3, padding=1)
        widths = [nf] + [max(nf >> i, min(nf, config.min_up_feat)) for i in range(int(math.log2(config.up_factor)))]
        self.upsample = nn.ModuleList(
            nn.Conv2d(cin, cout * 4, 3, padding=1) for cin, cout in zip(widths[:-1], widths[1:])
        )
        self.conv_hr = nn.Conv2d(widths[-1], widths[-1], 3, padding=1)
        self.conv_last = nn.Conv2d(widths[-1], config.in_channels, 3, padding=1)

    @property
    def scale(self) -> int:
        return self.config.scale

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        x = lr * 2 - 1
        if self.config.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.config.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        for conv in self.upsample:
            feat = F.leaky_relu(F.pixel_shuffle(conv(feat), 2), 0.2)
        out = self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))
        return (out + 1) / 2

    def config_dict(self) -> dict[str, object]:
        """Constructor arguments, for saving beside the weights."""
        return asdict(self.config)
