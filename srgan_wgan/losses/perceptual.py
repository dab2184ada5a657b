"""VGG16 perceptual loss and LPIPS, both on genuine ImageNet backbones (:mod:`srgan_wgan.archs.backbones`)."""

from __future__ import annotations

import logging
import warnings

import torch
import torch.nn.functional as F
from torch import nn

from srgan_wgan.archs.backbones import IMAGENET_MEAN, IMAGENET_STD, load_backbone_features

log = logging.getLogger("srgan_wgan")

VGG16_CONV_INDEX: dict[str, int] = {
    "conv1_1": 0, "conv1_2": 2, "conv2_1": 5, "conv2_2": 7, "conv3_1": 10, "conv3_2": 12, "conv3_3": 14,
    "conv4_1": 17, "conv4_2": 19, "conv4_3": 21, "conv5_1": 24, "conv5_2": 26, "conv5_3": 28,
}
"""Index of each conv layer in ``torchvision.models.vgg16().features`` (features are taken before its ReLU)."""


LPIPS_VGG_TAPS: tuple[int, ...] = (3, 8, 15, 22, 29)
"""The layers LPIPS-vgg compares: relu1_2, relu2_2, relu3_3, relu4_3 and relu5_3 of ``vgg16().features``."""


def vgg_taps(features: nn.Sequential, x: torch.Tensor, taps: set[int]) -> dict[int, torch.Tensor]:
    """Outputs of the layers ``taps`` of ``features`` for an already normalised ``x``.

    A tapped convolution keeps its pre-activation output: the in-place ReLU after it runs out of place instead
    (torchvision's VGG ReLUs are in place and would otherwise overwrite the tapped tensor)."""
    out: dict[int, torch.Tensor] = {}
    h = x
    for i, layer in enumerate(features[: max(taps) + 1]):
        h = torch.relu(h) if isinstance(layer, nn.ReLU) and (i - 1) in out else layer(h)
        if i in taps:
            out[i] = h
    return out


def lpips_distance(f0: list[torch.Tensor], f1: list[torch.Tensor], lins: nn.ModuleList,
                   eps: float = 1e-10) -> torch.Tensor:
    """LPIPS from tapped features (Zhang et al. 2018): per layer, unit-normalise over channels, square the
    difference, weight the channels by the 1x1 ``lins``, average over space; sum the layers. In fp32.

    Shape:
        - f0, f1: per layer ``(B, C_l, H_l, W_l)``
        - output: ``(B,)``
    """
    with torch.autocast(f0[0].device.type, enabled=False):
        total = torch.zeros(f0[0].shape[0], device=f0[0].device)
        for a, b, lin in zip(f0, f1, lins):
            a, b = a.float(), b.float()
            na = a / (a.square().sum(1, keepdim=True).sqrt() + eps)
            nb = b / (b.square().sum(1, keepdim=True).sqrt() + eps)
            total = total + lin((na - nb).square()).mean((1, 2, 3))
    return total


class VGGFeatureLosses(nn.Module):
    """The VGG16 perceptual loss and LPIPS-vgg from one pass of one ImageNet VGG16 over each image.

    LPIPS's input scaling is ImageNet normalisation (``(2x - 1 - shift) / scale`` = ``(x - mean) / std`` for its
    constants), so both losses read the same trunk: two VGG passes (SR with gradient, HR without) instead of four.

    * perceptual: L1 between VGG16 conv features taken before the activation (as in ESRGAN); ``layers`` maps
      layer names (see :data:`VGG16_CONV_INDEX`) to weights.
    * LPIPS v0.1 (the ``lpips`` package's linear layers) on relu1_2 ... relu5_3, per image.

    Inputs are RGB in ``[0, 1]``; returns ``(perceptual, lpips)``, either ``None`` when not asked for.
    """

    def __init__(self, layers: dict[str, float] | None = None, perceptual: bool = True, lpips: bool = True) -> None:
        super().__init__()
        if not (perceptual or lpips):
            raise ValueError("VGGFeatureLosses needs the perceptual loss, LPIPS or both")
        self.layers = dict(layers or {"conv3_3": 0.25, "conv4_3": 0.5, "conv5_3": 1.0}) if perceptual else {}
        unknown = set(self.layers) - set(VGG16_CONV_INDEX)
        if unknown:
            raise ValueError(f"unknown VGG16 layers {sorted(unknown)}")
        self._want = {VGG16_CONV_INDEX[k]: w for k, w in self.layers.items()}
        self._lpips_taps = LPIPS_VGG_TAPS if lpips else ()
        self._taps = set(self._want) | set(self._lpips_taps)
        self.features = load_backbone_features("vgg16")[: max(self._taps) + 1]
        self.lins = LPIPS("vgg").model.lins if lpips else nn.ModuleList()
        self.lins.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def _feats(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        return vgg_taps(self.features, (x - self.mean) / self.std, self._taps)

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        f_sr = self._feats(sr)
        with torch.no_grad():
            f_hr = self._feats(hr)
        perceptual = None
        if self._want:
            perceptual = sum(w * F.l1_loss(f_sr[i].float(), f_hr[i].float()) for i, w in self._want.items())
        distance = None
        if self._lpips_taps:
            distance = lpips_distance([f_sr[i] for i in self._lpips_taps], [f_hr[i] for i in self._lpips_taps],
                                      self.lins)
        return perceptual, distance  # type: ignore[return-value]

    def train(self, mode: bool = True) -> VGGFeatureLosses:  # the backbone always stays in eval mode
        super().train(mode)
        self.features.eval()
        self.lins.eval()
        return self


class VGGPerceptualLoss(VGGFeatureLosses):
    """The perceptual term of :class:`VGGFeatureLosses` alone: L1 between VGG16 pre-activation conv features."""

    def __init__(self, layers: dict[str, float] | None = None) -> None:
        super().__init__(layers, perceptual=True, lpips=False)

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return super().forward(sr, hr)[0]  # type: ignore[return-value]


class LPIPS(nn.Module):
    """LPIPS v0.1 (Zhang et al. 2018): the ``lpips`` package's linear layers on a genuine ImageNet backbone.

    Inputs are RGB in ``[0, 1]``; returns per-image distances ``(B,)``. ``net`` is ``"alex"`` (the standard for
    evaluation) or ``"vgg"`` (used as a training loss).
    """

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        import lpips

        if net not in ("alex", "vgg"):
            raise ValueError("LPIPS net must be 'alex' or 'vgg'")
        with warnings.catch_warnings():  # lpips calls torchvision's deprecated ``pretrained=`` argument
            warnings.simplefilter("ignore", UserWarning)
            self.model = lpips.LPIPS(net=net, version="0.1", pretrained=True, pnet_rand=True, verbose=False)
        features = load_backbone_features("alexnet" if net == "alex" else "vgg16")
        pnet = self.model.net
        for k in range(1, pnet.N_slices + 1):
            for name, module in getattr(pnet, f"slice{k}")._modules.items():
                src = features[int(name)]
                if isinstance(module, nn.Conv2d):
                    module.load_state_dict(src.state_dict())
        self.model.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.model(x.float(), y.float(), normalize=True).flatten()

    def train(self, mode: bool = True) -> LPIPS:
        super().train(mode)
        self.model.eval()
        return self
