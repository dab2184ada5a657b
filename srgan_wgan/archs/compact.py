"""A compact SR network for whole photos on a CPU: Real-ESRGAN's SRVGGNetCompact design.

``LR (B, 3, h, w) -> conv -> PReLU -> N x (conv -> PReLU) -> conv to 3 s^2 -> PixelShuffle(s) -> + nearest(LR)``

Every convolution runs at the LR resolution and the upsampling is one PixelShuffle at the end, so the cost per
output pixel is about ``1/s^2`` of a network that works at HR; the network learns the residual over a nearest
upscale of its input. The nearest upscale is built from ``repeat_interleave`` (not an interpolation layer), so the
backward pass is deterministic on CUDA as well.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from srgan_wgan.errors import ConfigError

COMPACT_SCALES: tuple[int, ...] = (2, 3, 4)


@dataclass
class CompactSRConfig:
    """Architecture of :class:`CompactSR` (saved beside its weights)."""

    scale: int = 4
    in_channels: int = 3
    num_feat: int = 64
    num_conv: int = 16

    def validate(self) -> None:
        if self.scale not in COMPACT_SCALES:
            raise ConfigError(f"scale must be one of {COMPACT_SCALES} for the compact network, got {self.scale}")
        if self.num_feat < 1 or self.num_conv < 0:
            raise ConfigError("num_feat must be >= 1 and num_conv >= 0")


def nearest_upscale(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Nearest-neighbour upscale by an integer factor without an interpolation kernel (deterministic backward)."""
    return x.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)


class CompactSR(nn.Module):
    """SRVGG-compact super-resolution (Wang et al., Real-ESRGAN 2021), x2/x3/x4.

    Shape:
        - lr: ``(B, in_channels, h, w)`` in ``[0, 1]``
        - output: ``(B, in_channels, h * scale, w * scale)`` (approximately ``[0, 1]``; not clamped)
    """

    def __init__(self, config: CompactSRConfig | None = None, **kwargs: object) -> None:
        super().__init__()
        config = config or CompactSRConfig(**kwargs)  # type: ignore[arg-type]
        config.validate()
        self.config = config
        nf, c = config.num_feat, config.in_channels
        layers: list[nn.Module] = [nn.Conv2d(c, nf, 3, padding=1), nn.PReLU(nf)]
        for _ in range(config.num_conv):
            layers += [nn.Conv2d(nf, nf, 3, padding=1), nn.PReLU(nf)]
        layers += [nn.Conv2d(nf, c * config.scale ** 2, 3, padding=1), nn.PixelShuffle(config.scale)]
        self.body = nn.Sequential(*layers)
        for conv in layers[:-2:2]:  # variance-preserving through the PReLU chain (PyTorch's default init shrinks
            nn.init.kaiming_normal_(conv.weight, a=0.25, nonlinearity="leaky_relu")  # it ~5x a layer: no signal
            nn.init.zeros_(conv.bias)  # reaches the last convolution of a 16-deep body, and it never learns)
        nn.init.zeros_(layers[-2].weight)  # starts as the nearest upscale: training begins from a sane image
        nn.init.zeros_(layers[-2].bias)

    @property
    def scale(self) -> int:
        return self.config.scale

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        return self.body(lr) + nearest_upscale(lr, self.config.scale)

    def config_dict(self) -> dict[str, object]:
        """Constructor arguments, for saving beside the weights."""
        return asdict(self.config)
