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


class VGGPerceptualLoss(nn.Module):
    """L1 distance between VGG16 conv features taken before the activation (as in ESRGAN).

    Inputs are RGB in ``[0, 1]``; ImageNet normalisation is applied here. ``layers`` maps layer names
    (see :data:`VGG16_CONV_INDEX`) to weights.
    """

    def __init__(self, layers: dict[str, float] | None = None) -> None:
        super().__init__()
        self.layers = dict(layers or {"conv3_3": 0.25, "conv4_3": 0.5, "conv5_3": 1.0})
        unknown = set(self.layers) - set(VGG16_CONV_INDEX)
        if unknown:
            raise ValueError(f"unknown VGG16 layers {sorted(unknown)}")
        last = max(VGG16_CONV_INDEX[k] for k in self.layers)
        self.features = load_backbone_features("vgg16")[: last + 1]
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self._want = {VGG16_CONV_INDEX[k]: w for k, w in self.layers.items()}

    def _feats(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        out = {}
        h = (x - self.mean) / self.std
        for i, layer in enumerate(self.features):
            h = layer(h)
            if i in self._want:
                out[i] = h
        return out

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        f_sr = self._feats(sr)
        with torch.no_grad():
            f_hr = self._feats(hr)
        return sum(w * F.l1_loss(f_sr[i].float(), f_hr[i].float()) for i, w in self._want.items())

    def train(self, mode: bool = True) -> VGGPerceptualLoss:  # the backbone always stays in eval mode
        super().train(mode)
        self.features.eval()
        return self


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
