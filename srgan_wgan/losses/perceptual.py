"""VGG16 perceptual loss and LPIPS, both on genuine ImageNet backbones read from local files.

Backbone files (``vgg16_features.pth`` / ``alexnet_features.pth``: torchvision ``features`` state dicts) are
found, in order, in ``$SRGAN_WGAN_BACKBONES``, the development data folder (``../shared/weights/backbones``, or
``$SRGAN_WGAN_SHARED/weights/backbones``) and ``~/.cache/srgan_wgan/backbones``; failing that torchvision's normal download is tried (needs internet). A
random backbone is never used: if none can be had, a :class:`~srgan_wgan.errors.WeightsError` says so.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from srgan_wgan.errors import WeightsError

log = logging.getLogger("srgan_wgan")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

VGG16_CONV_INDEX: dict[str, int] = {
    "conv1_1": 0, "conv1_2": 2, "conv2_1": 5, "conv2_2": 7, "conv3_1": 10, "conv3_2": 12, "conv3_3": 14,
    "conv4_1": 17, "conv4_2": 19, "conv4_3": 21, "conv5_1": 24, "conv5_2": 26, "conv5_3": 28,
}
"""Index of each conv layer in ``torchvision.models.vgg16().features`` (features are taken before its ReLU)."""


def backbone_search_paths() -> list[Path]:
    """Folders searched for backbone files, in order: ``$SRGAN_WGAN_BACKBONES``; the development data folder
    (``$SRGAN_WGAN_SHARED/weights/backbones`` when that variable is set, else ``../shared/weights/backbones`` beside
    the checkout or the working directory); ``~/.cache/srgan_wgan/backbones``."""
    paths = []
    if os.environ.get("SRGAN_WGAN_BACKBONES"):
        paths.append(Path(os.environ["SRGAN_WGAN_BACKBONES"]))
    if os.environ.get("SRGAN_WGAN_SHARED"):
        shared = [Path(os.environ["SRGAN_WGAN_SHARED"])]
    else:
        shared = [parent / "shared" for parent in (Path(__file__).resolve().parents[3], Path.cwd().parent)]
    paths += [s / "weights" / "backbones" for s in shared]
    paths.append(Path.home() / ".cache" / "srgan_wgan" / "backbones")
    return paths


def load_backbone_features(name: str) -> nn.Sequential:
    """ImageNet ``features`` of torchvision's ``vgg16`` or ``alexnet``, frozen, in eval mode."""
    import torchvision

    builders = {"vgg16": torchvision.models.vgg16, "alexnet": torchvision.models.alexnet}
    if name not in builders:
        raise ValueError(f"unknown backbone {name!r}")
    features = builders[name](weights=None).features
    for folder in backbone_search_paths():
        path = folder / f"{name}_features.pth"
        if path.is_file():
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = {k.removeprefix("features."): v for k, v in state.items()}
            features.load_state_dict(state)
            break
    else:
        try:
            enum = {"vgg16": torchvision.models.VGG16_Weights, "alexnet": torchvision.models.AlexNet_Weights}[name]
            features = builders[name](weights=enum.IMAGENET1K_V1).features
        except Exception as exc:  # noqa: BLE001 - offline: explain where to put the file
            raise WeightsError(
                f"ImageNet {name} weights not found: put {name}_features.pth in $SRGAN_WGAN_BACKBONES or "
                f"~/.cache/srgan_wgan/backbones, or allow torchvision to download ({type(exc).__name__})"
            ) from exc
    return features.eval().requires_grad_(False)


def pooled_features(features: nn.Sequential, x: torch.Tensor, taps: tuple[int, ...], mean: torch.Tensor,
                    std: torch.Tensor) -> torch.Tensor:
    """ImageNet-normalise ``x`` (RGB in ``[0, 1]``), run ``features`` up to the last tap and concatenate the
    global-average-pooled outputs of the layers at indices ``taps``.

    Shape:
        - x: ``(B, 3, H, W)``; mean, std: ``(1, 3, 1, 1)``
        - output: ``(B, sum of the tapped layers' channels)``
    """
    h = (x - mean) / std
    pooled = []
    for i, layer in enumerate(features[: max(taps) + 1]):
        h = layer(h)
        if i in taps:
            pooled.append(h.mean((2, 3)))
    return torch.cat(pooled, 1)


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
