"""DiffAugment: exact geometry of translation and cutout, seeded randomness, gradients, config checks."""

from __future__ import annotations

import pytest
import torch

from srgan_wgan.errors import ConfigError
from srgan_wgan.training.diffaug import augment_color, augment_cutout, augment_translation, diff_augment, parse_policy


def test_translation_moves_content_by_whole_pixels_with_zero_fill() -> None:
    x = torch.arange(1, 4 * 2 * 16 * 16 + 1, dtype=torch.float64).view(4, 2, 16, 16)
    y = augment_translation(x, torch.Generator().manual_seed(3))
    for i in range(4):
        # find the shift: the output equals the input shifted by (dy, dx) wherever it is non-zero
        found = False
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                shifted = torch.zeros_like(x[i])
                src = x[i][:, max(dy, 0):16 + min(dy, 0), max(dx, 0):16 + min(dx, 0)]
                shifted[:, max(-dy, 0):16 + min(-dy, 0), max(-dx, 0):16 + min(-dx, 0)] = src
                found |= torch.equal(shifted, y[i])
        assert found, f"sample {i} is not a whole-pixel shift of at most 2 px"


def test_cutout_zeroes_one_square_of_half_the_size() -> None:
    x = torch.ones(64, 1, 16, 16)
    y = augment_cutout(x, torch.Generator().manual_seed(0))
    zeros = (y == 0).sum(dim=(1, 2, 3))
    assert (zeros <= 64).all() and (zeros > 0).all()  # an 8x8 square, clipped where it overhangs
    assert (zeros == 64).any()
    assert set(y.unique().tolist()) == {0.0, 1.0}


def test_color_changes_samples_independently_and_keeps_shape() -> None:
    x = torch.rand(8, 3, 8, 8) * 2 - 1
    y = augment_color(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape
    shift = (y - x).mean(dim=(1, 2, 3))
    assert shift.std() > 0.01  # per-sample random brightness etc.


def test_same_generator_seed_same_augmentation_and_gradients_flow() -> None:
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    a = diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(7))
    b = diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(7))
    c = diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    a.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_policy_parsing() -> None:
    assert parse_policy("") == [] and parse_policy("color, cutout") == ["color", "cutout"]
    with pytest.raises(ConfigError, match="rotation"):
        parse_policy("color,rotation")


def test_engine_refuses_diffaug_with_an_image_conditioned_critic(tmp_path) -> None:
    from srgan_wgan.archs import ConvCritic
    from srgan_wgan.training import GANTask, GANTrainConfig, GANTrainer

    D = ConvCritic(in_channels=3, resolution=16, base_channels=4, cond="image")
    G = torch.nn.Conv2d(3, 3, 1)
    cfg = GANTrainConfig(steps=1, device="cpu", diffaug="translation")
    with pytest.raises(ConfigError, match="image-conditioned"):
        GANTrainer(G, D, GANTask(), torch.utils.data.TensorDataset(torch.zeros(2, 3, 16, 16)), cfg, tmp_path)
    with pytest.raises(ConfigError, match="unknown DiffAugment"):
        GANTrainConfig(diffaug="flip").validate()
