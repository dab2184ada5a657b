"""What an application gives the engine: :class:`GANTask` (the interface) and reusable implementations."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from srgan_wgan.errors import ConfigError


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

    # ---- hooks for terms that need the critic or the trainer (defaults: none) ---------------------------------
    critic_logits: bool = False
    """Ask the critic for its auxiliary classifier's logits (``score_and_logits``) on reals and fakes."""

    def check(self, generator: nn.Module, critic: nn.Module | None) -> None:
        """Raise :class:`~srgan_wgan.errors.ConfigError` when the models cannot serve this task's terms."""

    def critic_terms(self, logits_real: torch.Tensor | None, cond: torch.Tensor | None
                     ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        """Extra weighted critic loss terms (fp32, under autocast's scope end) and values to log."""
        return {}, {}

    def adversarial_terms(self, trainer: Any, fake: torch.Tensor, real: torch.Tensor, cond: torch.Tensor | None,
                          logits_fake: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """Extra weighted generator terms that need the critic's logits or the trainer (its generator and noise)."""
        return {}

    def samples(self, generator: nn.Module, device: torch.device) -> torch.Tensor | None:
        """A fixed grid of generated images in ``[-1, 1]`` for the run folder, or ``None``."""
        return None

    def release_extra(self) -> dict[str, Any]:
        """Metadata stored in the release weights (class names, scale, value range, ...)."""
        return {}


class ClassConditionalTask(GANTask):
    """Batches are ``(images, labels)``; fixed-latent sample grids show every class.

    Two optional terms (0 = off):

    * ``aux_class_weight``: AC-GAN (Odena et al. 2017; needs a critic with an auxiliary classifier): the critic's
      class head learns the real images' classes (cross-entropy with this weight) and the generator is pushed, with
      the same weight, to make fakes that the head recognises as the class they were drawn for.
    * ``mode_seeking_weight``: MSGAN (Mao et al. 2019; needs a generator with a latent ``z_dim``): a second batch is
      drawn for the same conditions with fresh latents and the generator minimises ``w / (mean |G(z1) - G(z2)| +
      1e-5)``, pushing different latents to different images.
    """

    def __init__(self, class_names: list[str], grid_per_class: int = 8, seed: int = 1234,
                 aux_class_weight: float = 0.0, mode_seeking_weight: float = 0.0) -> None:
        if aux_class_weight < 0 or mode_seeking_weight < 0:
            raise ConfigError(f"the aux class weight ({aux_class_weight}) and the mode-seeking weight "
                              f"({mode_seeking_weight}) must be >= 0")
        self.aux_class_weight = aux_class_weight
        self.mode_seeking_weight = mode_seeking_weight
        self.critic_logits = aux_class_weight > 0
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

    def check(self, generator: nn.Module, critic: nn.Module | None) -> None:
        if self.aux_class_weight > 0 and getattr(critic, "classifier", None) is None:
            raise ConfigError("aux_class_weight > 0 needs a critic with an auxiliary classifier (aux_classifier=True)")
        if self.mode_seeking_weight > 0 and not getattr(generator, "z_dim", 0):
            raise ConfigError("mode_seeking_weight > 0 needs a generator that draws latents (z_dim)")

    def _aux_loss(self, logits: torch.Tensor | None, cond: torch.Tensor | None) -> torch.Tensor:
        """Weighted cross-entropy of the auxiliary classifier (in fp32)."""
        assert logits is not None and cond is not None
        return self.aux_class_weight * F.cross_entropy(logits.float(), cond)

    def critic_terms(self, logits_real: torch.Tensor | None, cond: torch.Tensor | None
                     ) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        if self.aux_class_weight <= 0:
            return {}, {}
        aux = self._aux_loss(logits_real, cond)
        return {"critic/aux": aux}, {"critic/aux_ce_real": float(aux.detach()) / self.aux_class_weight}

    def adversarial_terms(self, trainer: Any, fake: torch.Tensor, real: torch.Tensor, cond: torch.Tensor | None,
                          logits_fake: torch.Tensor | None) -> dict[str, torch.Tensor]:
        terms = {}
        if self.aux_class_weight > 0 and logits_fake is not None:
            terms["gen/aux_ce"] = self._aux_loss(logits_fake, cond)
        if self.mode_seeking_weight > 0:  # same conditions, fresh latents: the two batches should differ
            other = self.generate(trainer.G_run, real, cond, trainer.noise)
            spread = (fake.float() - other.float()).abs().mean()
            terms["gen/mode_seeking"] = self.mode_seeking_weight / (spread + 1e-5)
        return terms
