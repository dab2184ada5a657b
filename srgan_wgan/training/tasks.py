"""What an application gives the engine: :class:`GANTask` (the interface) and reusable implementations."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class GANTask:
    """How an application feeds the engine. Override what differs; defaults suit class-conditional GANs."""

    def prepare(self, batch: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Turn a collated batch into ``(real_images, condition)`` on ``device``."""
        images, cond = batch
        return images.to(device, non_blocking=True), cond.to(device, non_blocking=True)

    def generate(
        self, generator: nn.Module, real: torch.Tensor, cond: torch.Tensor | None, noise: torch.Generator
    ) -> torch.Tensor:
        """Produce fakes matching ``real`` (same batch size, same condition)."""
        z = torch.randn(real.shape[0], generator.z_dim, generator=noise, device=real.device)
        maps = generator.draw_noise(real.shape[0], noise, real.device) if hasattr(generator, "draw_noise") else []
        if not maps:
            return generator(z, cond)
        return generator(z, cond, noise=maps)  # per-pixel noise from the engine's seeded stream (resumable)

    def generator_losses(
        self, fake: torch.Tensor, real: torch.Tensor, cond: torch.Tensor | None
    ) -> dict[str, torch.Tensor]:
        """Extra (already weighted) generator losses, e.g. L1 and perceptual terms for super-resolution."""
        return {}

    def samples(self, generator: nn.Module, device: torch.device) -> torch.Tensor | None:
        """A fixed grid of generated images in ``[-1, 1]`` for the run folder, or ``None``."""
        return None

    def release_extra(self) -> dict[str, Any]:
        """Metadata stored in the release weights (class names, scale, value range, ...)."""
        return {}


class ClassConditionalTask(GANTask):
    """Batches are ``(images, labels)``; fixed-latent sample grids show every class."""

    def __init__(self, class_names: list[str], grid_per_class: int = 8, seed: int = 1234) -> None:
        self.class_names = class_names
        n = len(class_names)
        g = torch.Generator().manual_seed(seed)
        self._labels = torch.arange(n).repeat_interleave(grid_per_class)
        self._z: torch.Tensor | None = None
        self._noise: list[torch.Tensor] = []
        self._z_gen = g
        self.grid_per_class = grid_per_class

    @torch.no_grad()
    def samples(self, generator: nn.Module, device: torch.device) -> torch.Tensor:
        if self._z is None:
            self._z = torch.randn(self._labels.shape[0], generator.z_dim, generator=self._z_gen)
            if hasattr(generator, "draw_noise"):
                self._noise = generator.draw_noise(self._labels.shape[0], self._z_gen)
        was_training = generator.training
        generator.eval()
        z, y = self._z.to(device), self._labels.to(device)
        out = generator(z, y, noise=[m.to(device) for m in self._noise]) if self._noise else generator(z, y)
        generator.train(was_training)
        return out

    def release_extra(self) -> dict[str, Any]:
        return {"class_names": self.class_names, "value_range": [-1, 1]}
