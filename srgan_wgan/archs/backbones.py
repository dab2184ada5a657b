"""ImageNet feature backbones (torchvision VGG16 / AlexNet ``features``) read from local files, shared by the
perceptual losses, the pretrained-feature critic heads and the evaluation metrics.

Backbone files (``vgg16_features.pth`` / ``alexnet_features.pth``: torchvision ``features`` state dicts) are found
in :func:`srgan_wgan.io.hub.search_paths` ``("backbones")``: ``$SRGAN_WGAN_BACKBONES``,
``$SRGAN_WGAN_SHARED/weights/backbones``, ``~/.cache/srgan_wgan/backbones``; failing that torchvision's normal
download is tried (needs internet). A random backbone is never used: if none can be had, a
:class:`~srgan_wgan.errors.WeightsError` says so.
"""

from __future__ import annotations

import torch
from torch import nn

from srgan_wgan.errors import WeightsError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_backbone_features(name: str) -> nn.Sequential:
    """ImageNet ``features`` of torchvision's ``vgg16`` or ``alexnet``, frozen, in eval mode."""
    import torchvision

    from srgan_wgan.io.hub import search_paths  # here: io imports the architectures

    builders = {"vgg16": torchvision.models.vgg16, "alexnet": torchvision.models.alexnet}
    if name not in builders:
        raise ValueError(f"unknown backbone {name!r}")
    features = builders[name](weights=None).features
    for folder in search_paths("backbones"):
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
                f"ImageNet {name} weights not found: put {name}_features.pth in one of "
                f"{', '.join(str(p) for p in search_paths('backbones'))}, or allow torchvision to download "
                f"({type(exc).__name__})"
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
