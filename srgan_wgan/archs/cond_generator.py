"""Class-conditional image generator (painting styles, digits).

Structure (DCGAN/ResNet-like, per-sample so the image for a seed never depends on the batch):
``[z, embed(y)] -> linear -> 4x4 -> (nearest x2 -> conv3x3 -> PixelNorm -> class modulation -> LeakyReLU) * n
-> conv to RGB -> tanh``. Class modulation is conditional normalisation: after PixelNorm every channel is
scaled by ``1 + gamma(e)`` and shifted by ``beta(e)``, where ``e`` is the learned style embedding.

With ``noise=True`` every conv output also gets a per-pixel noise input (StyleGAN, Karras et al. 2019): a fresh
``N(0, 1)`` map, one channel, scaled per channel by a learned strength that starts at zero — so a generator
released without noise fine-tunes into one with it unchanged at first, and the noise is where the generator can put
stochastic detail (brushwork, texture) that the single latent at 4x4 cannot carry.

With ``sle=True`` the generator has FastGAN's skip-layer excitation (Liu et al. 2021, "Towards Faster and
Stabilized GAN Training for High-fidelity Few-shot Image Synthesis"): the 4x4 and 8x8 maps gate the channels of the
64x64 and 128x128 maps (a ratio of 16), so the coarse layout reaches the fine layers in one step. The gate is
``2 sigmoid(.)`` of a branch whose last layer starts at zero: a generator released without it fine-tunes into one
with it unchanged at first.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from srgan_wgan.errors import ConfigError


@dataclass
class CondGeneratorConfig:
    """Architecture of :class:`CondGenerator` (saved beside its weights)."""

    num_classes: int = 10
    z_dim: int = 64
    embed_dim: int = 64
    resolution: int = 64
    out_channels: int = 3
    base_channels: int = 256
    min_channels: int = 32
    noise: bool = False
    """Per-pixel noise inputs after every conv of the up-blocks (strengths learned, zero at the start)."""
    sle: bool = False
    """Skip-layer excitation from the ``side / 16`` map into every map of 64 px and more (FastGAN)."""

    def validate(self) -> None:
        if self.resolution < 8 or self.resolution & (self.resolution - 1):
            raise ConfigError(f"generator resolution must be a power of two >= 8, got {self.resolution}")
        if self.num_classes < 1:
            raise ConfigError("a class-conditional generator needs num_classes >= 1")
        if self.sle and self.resolution < 4 * SLE_RATIO:
            raise ConfigError(f"skip-layer excitation joins maps {SLE_RATIO}x apart: it needs a resolution of "
                              f"{4 * SLE_RATIO} px or more, got {self.resolution}")


NOISE_LR_MULTIPLIER = 10.0
"""Noise strengths start at zero and learn at 10x the generator's rate, so that fine-tuning for a few thousand steps
can grow them to the scale of the features they perturb (about 0.4-0.5 RMS in the shipped painting model)."""


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Normalise every pixel's feature vector to unit RMS (ProGAN)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


class _ModulatedUpBlock(nn.Module):
    def __init__(self, cin: int, cout: int, embed_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.mod1 = nn.Linear(embed_dim, 2 * cout)
        self.mod2 = nn.Linear(embed_dim, 2 * cout)
        for mod in (self.mod1, self.mod2):
            nn.init.zeros_(mod.weight)
            nn.init.zeros_(mod.bias)

    @staticmethod
    def _modulate(x: torch.Tensor, mod: nn.Linear, e: torch.Tensor) -> torch.Tensor:
        gamma, beta = mod(e).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
        return F.leaky_relu(pixel_norm(x) * (1 + gamma) + beta, 0.2)

    def forward(self, x: torch.Tensor, e: torch.Tensor,
                noise: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """``noise``: the (already scaled) noise added after conv1 and after conv2, or None."""
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.conv1(x)
        if noise is not None:
            x = x + noise[0]
        x = self._modulate(x, self.mod1, e)
        x = self.conv2(x)
        if noise is not None:
            x = x + noise[1]
        return self._modulate(x, self.mod2, e)


class SkipExcitation(nn.Module):
    """FastGAN's skip-layer excitation: a low-resolution map gates the channels of a high-resolution one.

    ``high * 2 sigmoid(conv1x1(swish(conv4x4(avgpool4(low)))))``; the 1x1 conv starts at zero (gate 1).
    """

    def __init__(self, low_channels: int, high_channels: int, low_side: int = 4) -> None:
        super().__init__()
        self.pool = max(1, low_side // 4)  # static, so that the ONNX graph needs no adaptive pooling
        self.conv4 = nn.Conv2d(low_channels, high_channels, 4)
        self.conv1 = nn.Conv2d(high_channels, high_channels, 1)
        nn.init.zeros_(self.conv1.weight)
        nn.init.zeros_(self.conv1.bias)

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        g = self.conv4(F.avg_pool2d(low, self.pool) if self.pool > 1 else low)
        return high * (2 * torch.sigmoid(self.conv1(F.silu(g))))


SLE_RATIO = 16
"""Skip-layer excitation joins maps ``SLE_RATIO`` times apart in side (FastGAN: 8 -> 128, 16 -> 256)."""


class CondGenerator(nn.Module):
    """Class-conditional generator ``G(z, y)`` producing images in ``[-1, 1]``.

    Shape:
        - z: ``(B, z_dim)``; y: ``(B,)`` int64 class indices
        - noise (with ``config.noise``): a list of ``(B, 1, h, w)`` maps, shapes from :meth:`noise_shapes`;
          drawn from the global RNG when not given
        - output: ``(B, out_channels, resolution, resolution)``
    """

    optional_state_prefixes: tuple[str, ...] = ("noise_strength.", "sle.")
    """Noise strengths and excitation gates are absent from generators released without them: they start neutral
    when fine-tuning."""

    def __init__(self, config: CondGeneratorConfig | None = None, **kwargs: object) -> None:
        super().__init__()
        config = config or CondGeneratorConfig(**kwargs)  # type: ignore[arg-type]
        config.validate()
        self.config = config
        self.embed = nn.Embedding(config.num_classes, config.embed_dim)
        ch = config.base_channels
        self.fc = nn.Linear(config.z_dim + config.embed_dim, ch * 16)
        n_up = int(math.log2(config.resolution)) - 2
        blocks = []
        for _ in range(n_up):
            nxt = max(ch // 2, config.min_channels)
            blocks.append(_ModulatedUpBlock(ch, nxt, config.embed_dim))
            ch = nxt
        self.blocks = nn.ModuleList(blocks)
        self.noise_strength = nn.ParameterList(
            [nn.Parameter(torch.zeros(b.conv1.out_channels)) for b in blocks for _ in range(2)]
        ) if config.noise else None
        if self.noise_strength is not None:  # read by the engine's optimiser groups (``param_groups``)
            self.noise_strength.lr_multiplier = NOISE_LR_MULTIPLIER
        self.to_rgb = nn.Conv2d(ch, config.out_channels, 3, padding=1)
        widths = {4: config.base_channels} | {8 * 2**k: b.conv2.out_channels for k, b in enumerate(blocks)}
        self.sle = nn.ModuleDict({str(r): SkipExcitation(widths[r // SLE_RATIO], widths[r], r // SLE_RATIO)
                                  for r in widths if r // SLE_RATIO in widths}) if config.sle else None

    @property
    def z_dim(self) -> int:
        return self.config.z_dim

    def noise_shapes(self) -> list[tuple[int, int, int]]:
        """Per-sample shapes ``(1, h, w)`` of the noise maps :meth:`forward` takes (empty without noise)."""
        if self.noise_strength is None:
            return []
        return [(1, 2 ** (3 + k // 2), 2 ** (3 + k // 2)) for k in range(2 * len(self.blocks))]

    def draw_noise(self, n: int, generator: torch.Generator | None = None,
                   device: torch.device | str | None = None) -> list[torch.Tensor]:
        """``n`` samples' noise maps (``(n, 1, h, w)`` each, in :meth:`noise_shapes` order) from ``generator`` (the
        global RNG when None); an empty list for a generator without noise inputs."""
        return [torch.randn((n, *s), generator=generator, device=device) for s in self.noise_shapes()]

    def forward(self, z: torch.Tensor, y: torch.Tensor, embedding: torch.Tensor | None = None,
                noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """Generate images; ``embedding`` overrides ``embed(y)`` (used for style interpolation); ``noise`` gives the
        noise maps (ignored by a generator without noise inputs)."""
        e = self.embed(y) if embedding is None else embedding
        h = self.fc(torch.cat([pixel_norm(z), e], dim=1)).view(z.shape[0], -1, 4, 4)
        h = F.leaky_relu(pixel_norm(h), 0.2)
        scaled: list[torch.Tensor] = []
        if self.noise_strength is not None:
            if noise is None:
                noise = self.draw_noise(z.shape[0], device=z.device)
            elif len(noise) != len(self.noise_strength):
                raise ValueError(f"expected {len(self.noise_strength)} noise maps, got {len(noise)}")
            scaled = [s.view(1, -1, 1, 1) * m.to(device=z.device, dtype=h.dtype)
                      for s, m in zip(self.noise_strength, noise)]
        maps = {4: h}
        for k, block in enumerate(self.blocks):
            h = block(h, e, (scaled[2 * k], scaled[2 * k + 1]) if scaled else None)
            side = 8 * 2**k  # static (an ONNX trace reads shapes as tensors)
            if self.sle is not None and str(side) in self.sle:
                h = self.sle[str(side)](maps[side // SLE_RATIO], h)
            maps[side] = h
        return torch.tanh(self.to_rgb(h))

    def config_dict(self) -> dict[str, object]:
        return asdict(self.config)
