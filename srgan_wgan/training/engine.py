"""The shared WGAN training engine: critic steps with a selectable penalty, generator step, AMP, EMA, resume.

An application supplies a :class:`GANTask` (how a batch becomes real images and a condition, how the
generator is called, which supervised losses it adds); the engine owns everything else.

Mixed precision is one explicit block: forward passes and losses run under ``torch.autocast``. ``amp="auto"`` is
bf16 on CUDA and on CPUs with native bf16 (AMX / AVX512-BF16), fp32 on other CPUs
(:mod:`srgan_wgan.utils.precision`); fp16 with a ``GradScaler`` on CUDA on request. Losses are summed in fp32 and
the input-gradient penalties follow PyTorch's AMP gradient-penalty recipe (scaled outputs into ``autograd.grad``,
gradients divided by the scale, norm in fp32). Models and batches are channels_last by default on CPU and CUDA.
The critic is never compiled (its penalty needs double backward).

Under ``torchrun`` (``WORLD_SIZE`` > 1) the trainer is data-parallel (:mod:`srgan_wgan.utils.distributed`):
``config.batch_size`` is the global batch, each rank trains on its share, gradients are averaged after every
backward, and rank 0 alone writes the checkpoint, logs, samples and release weights.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from srgan_wgan.data.sampler import ResumableBatchSampler
from srgan_wgan.errors import ConfigError, UserError
from srgan_wgan.losses.adversarial import critic_wasserstein_loss, generator_wasserstein_loss
from srgan_wgan.losses.penalties import get_penalty
from srgan_wgan.training.checkpoint import (
    RESUME_FILE,
    export_release_state,
    load_resume_state,
    restore_trainer_state,
    save_resume_state,
    trainer_state,
)
from srgan_wgan.training.config import GANTrainConfig
from srgan_wgan.training.diffaug import diff_augment, parse_policy
from srgan_wgan.training.ema import make_ema, update_ema
from srgan_wgan.training.logging import RunLogger
from srgan_wgan.training.optim import make_optimizer, param_groups
from srgan_wgan.training.tasks import GANTask
from srgan_wgan.utils.device import resolve_device
from srgan_wgan.utils.distributed import init_distributed
from srgan_wgan.utils.precision import default_channels_last, resolve_amp
from srgan_wgan.utils.seed import enable_determinism

log = logging.getLogger("srgan_wgan")

StepCallback = Callable[[int, int, dict[str, float]], None]


class GANTrainer:
    """Train ``generator`` (and ``critic``) on ``dataset`` as described by ``config``; see the module doc.

    Build the models after :func:`srgan_wgan.utils.seed_everything` for a bit-reproducible CPU run.
    ``critic`` may be ``None`` when ``config.n_critic == 0`` (supervised-only training).
    """

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module | None,
        task: GANTask,
        dataset: Dataset,
        config: GANTrainConfig,
        run_dir: str | Path,
        callback: StepCallback | None = None,
        tensorboard: bool = True,
    ) -> None:
        critic_norm = getattr(getattr(critic, "config", None), "norm", None)
        config.validate(critic_norm=critic_norm)
        if critic is None and config.n_critic > 0:
            raise UserError("n_critic > 0 needs a critic")
        task.check(generator, critic)
        if config.diffaug and getattr(getattr(critic, "config", None), "cond", None) == "image":
            raise ConfigError("DiffAugment would misalign an image-conditioned critic's input and condition")
        self.config = config
        self._penalty_spec = get_penalty(config.penalty)
        self._diffaug = parse_policy(config.diffaug)  # parsed once, not on every critic call
        self.task = task
        self.dataset = dataset
        self.run_dir = Path(run_dir)
        self.callback = callback
        self.tensorboard = tensorboard
        self.dist, self.device = init_distributed(resolve_device(config.device))
        if self.dist.enabled and config.batch_size % self.dist.world_size:
            raise ConfigError(f"the batch size ({config.batch_size}, the global batch) must divide by the number of "
                              f"processes ({self.dist.world_size})")
        self.precision = resolve_amp(config.amp, self.device)  # fp16 on CPU fails here, before anything is built
        self.channels_last = (default_channels_last(self.device) if config.channels_last is None
                              else bool(config.channels_last))
        log.info("precision %s (%s), %s tensors", self.precision.name, self.precision.reason,
                 "channels_last" if self.channels_last else "contiguous")
        if config.deterministic:  # before any CUDA kernel (cuBLAS reads its workspace setting on first use)
            enable_determinism(True)
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        self.G = generator.to(self.device, memory_format=fmt)
        self.D = critic.to(self.device, memory_format=fmt) if critic is not None else None
        self.dist.broadcast_module(self.G)  # every rank starts from rank 0's weights
        if self.D is not None:
            self.dist.broadcast_module(self.D)
        # the generator may be compiled for its forward passes; the critic never is (its penalty needs double
        # backward). State, EMA and export always use the uncompiled module.
        self.G_run: nn.Module = torch.compile(self.G) if config.compile_generator else self.G
        self.G_ema = make_ema(self.G) if config.ema_decay > 0 else None
        opt = config.resolved_optimizer
        fused = config.resolved_fused(self.device.type)
        self.opt_g = make_optimizer(opt, param_groups(self.G), config.resolved_lr_g, config.betas, fused)
        self.opt_d = (
            make_optimizer(opt, param_groups(self.D), config.resolved_lr_d, config.betas, fused)
            if self.D is not None else None
        )
        self.amp_dtype = self.precision.dtype
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)
        # latents, penalty interpolation weights and DiffAugment draws; each rank draws its own
        self.noise = torch.Generator(self.device).manual_seed(config.seed + 1 + 7919 * self.dist.rank)
        self.step = 0
        self.batches = 0
        self.critic_iters = 0
        self.bad_steps = 0
        self.skipped_steps = 0
        self.fault_hook: Callable[[str, torch.Tensor], torch.Tensor] | None = None  # tests inject NaNs here
        self.stop_requested = False  # a callback sets this to end fit() early (e.g. early stopping)

    # ---- the AMP block ----------------------------------------------------------------------------------
    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The single autocast context used for every forward pass and loss."""
        return self.precision.autocast()

    # ---- data -------------------------------------------------------------------------------------------
    def _batches(self) -> Iterator[Any]:
        sampler = ResumableBatchSampler(len(self.dataset), self.config.batch_size, self.config.seed, self.batches,
                                        weights=getattr(self.dataset, "sample_weights", None),
                                        groups=getattr(self.dataset, "sample_groups", None),
                                        rank=self.dist.rank, world_size=self.dist.world_size)
        loader = DataLoader(
            self.dataset,
            batch_sampler=sampler,
            num_workers=self.config.num_workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=self.config.num_workers > 0,
        )
        for batch in loader:
            self.batches += 1
            yield batch

    def _prepare(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        real, cond = self.task.prepare(batch, self.device)
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
            if cond is not None and cond.dim() == 4:
                cond = cond.contiguous(memory_format=torch.channels_last)
        return real, cond

    # ---- one critic step --------------------------------------------------------------------------------
    def critic(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """The critic's scores for ``x``, through DiffAugment when the config asks for it."""
        return self._critic_outputs(x, cond, logits=False)[0]

    def _critic_outputs(self, x: torch.Tensor, cond: torch.Tensor | None, logits: bool
                        ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Scores and (with ``logits``) the auxiliary classifier's logits, through DiffAugment."""
        assert self.D is not None
        if self._diffaug:
            x = diff_augment(x, self._diffaug, self.noise)
        if logits:
            return self.D.score_and_logits(x, cond)
        return self.D(x, cond), None

    def _penalty(self, real: torch.Tensor, fake: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        assert self.D is not None
        scale = self.scaler.get_scale() if self.scaler.is_enabled() else None

        def critic_fn(x: torch.Tensor) -> torch.Tensor:
            with self.autocast():
                return self.critic(x, cond)

        fn = self._penalty_spec.fn
        assert fn is not None
        return fn(critic_fn, real, fake, generator=self.noise, scale=scale)

    def _finite_or_skip(self, name: str, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> bool:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.dist.average_gradients(params)  # before the check: every rank then steps or skips alike
        ok = bool(torch.isfinite(loss).item()) and (self.scaler.is_enabled() or all(
            torch.isfinite(p.grad).all().item() for p in params if p.grad is not None))
        if self.dist.all_true(ok):
            self.bad_steps = 0
            return True
        self.bad_steps += 1
        self.skipped_steps += 1
        optimizer.zero_grad(set_to_none=True)
        log.warning("step %d: non-finite %s loss or gradient; step skipped (%d in a row)", self.step, name, self.bad_steps)
        if self.bad_steps >= self.config.max_bad_steps:
            raise FloatingPointError(
                f"{self.bad_steps} non-finite steps in a row at step {self.step}; resume from the last checkpoint "
                "with a lower learning rate or --amp off"
            )
        return False

    def critic_step(self, batch: Any) -> dict[str, float]:
        assert self.D is not None and self.opt_d is not None
        cfg = self.config
        real, cond = self._prepare(batch)
        with torch.no_grad(), self.autocast():
            fake = self.task.generate(self.G_run, real, cond, self.noise)
        self.D.requires_grad_(True)
        with self.autocast():
            d_real, logits_real = self._critic_outputs(real, cond, logits=self.task.critic_logits)
            d_fake = self.critic(fake, cond)
            loss = critic_wasserstein_loss(d_real, d_fake)
        terms, logs = self.task.critic_terms(logits_real, cond)  # the application's own terms (e.g. AC-GAN)
        total = loss
        for t in terms.values():
            total = total + t
        penalty = torch.zeros((), device=self.device)
        weight = cfg.resolved_penalty_weight
        if self._penalty_spec.fn is not None and weight > 0 and self.critic_iters % cfg.penalty_every == 0:
            penalty = self._penalty(real, fake, cond)
            total = total + weight * cfg.penalty_every * penalty  # lazy regularisation: scale by the interval
        if self.fault_hook is not None:
            total = self.fault_hook("critic", total)
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.critic_iters += 1
        if self._finite_or_skip("critic", total, self.opt_d):
            self.scaler.step(self.opt_d)
            self.scaler.update()
            if self._penalty_spec.post_step is not None:
                self._penalty_spec.post_step(self.D, cfg)
        out = {
            "critic/loss_penalised": float(total.detach()),
            "critic/w_estimate": float(-loss.detach()),
            "critic/penalty": float(penalty.detach()),
        }
        return {**out, **logs}

    # ---- one generator step -----------------------------------------------------------------------------
    def generator_step(self, batch: Any) -> dict[str, float]:
        cfg = self.config
        real, cond = self._prepare(batch)
        if self.D is not None:
            self.D.requires_grad_(False)
        with self.autocast():
            fake = self.task.generate(self.G_run, real, cond, self.noise)
            terms = dict(self.task.generator_losses(fake, real, cond))
            logits_fake = None
            if self.D is not None and (cfg.adv_weight > 0 or self.task.critic_logits):
                d_fake, logits_fake = self._critic_outputs(fake, cond, logits=self.task.critic_logits)
                if cfg.adv_weight > 0:
                    terms["gen/adv"] = cfg.adv_weight * generator_wasserstein_loss(d_fake)
            terms.update(self.task.adversarial_terms(self, fake, real, cond, logits_fake))
        total = sum((t.float() for t in terms.values()), torch.zeros((), device=self.device))
        if self.fault_hook is not None:
            total = self.fault_hook("generator", total)
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        if self._finite_or_skip("generator", total, self.opt_g):
            self.scaler.step(self.opt_g)
            self.scaler.update()
            if self.G_ema is not None:
                update_ema(self.G_ema, self.G, cfg.ema_decay, self.step)
        out = {k: float(v.detach()) for k, v in terms.items()}
        out["gen/total"] = float(total.detach())
        return out

    def _apply_lr_schedule(self) -> None:
        f = self.config.lr_factor(self.step)
        for opt, base in ((self.opt_g, self.config.resolved_lr_g), (self.opt_d, self.config.resolved_lr_d)):
            if opt is not None:
                for group in opt.param_groups:
                    group["lr"] = base * f * group.get("lr_mult", 1.0)

    def train_step(self, batches: Iterator[Any]) -> dict[str, float]:
        """``n_critic`` critic steps, then one generator step (on the last critic batch)."""
        self.G.train()
        self._apply_lr_schedule()
        metrics: dict[str, float] = {}
        batch = None
        for _ in range(self.config.n_critic):
            batch = next(batches)
            for k, v in self.critic_step(batch).items():
                metrics[k] = metrics.get(k, 0.0) + v / self.config.n_critic
        if batch is None:
            batch = next(batches)
        metrics.update(self.generator_step(batch))
        return metrics

    # ---- state ------------------------------------------------------------------------------------------
    def state_dict(self, all_ranks: bool = True) -> dict[str, Any]:
        """Everything to resume from (:func:`~srgan_wgan.training.checkpoint.trainer_state`)."""
        return trainer_state(self, all_ranks)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        restore_trainer_state(self, state)

    def save_checkpoint(self) -> Path:
        """Write ``resume.pt`` (rank 0; every rank takes part in gathering the random streams)."""
        path = self.run_dir / RESUME_FILE
        state = self.state_dict()
        if self.dist.is_main:
            save_resume_state(state, path)
        self.dist.barrier()
        return path

    def export(self, out_dir: str | Path | None = None) -> Path:
        """Write release weights: ``generator.safetensors`` (EMA when kept; fp32, the one inference uses), and for
        fine-tuning ``generator_raw`` and ``critic`` (stored in fp16 to keep the files small)."""
        out = Path(out_dir) if out_dir is not None else self.run_dir / "export"
        if not self.dist.is_main:  # the models are the same on every rank; rank 0 writes them
            return out
        extra = {**self.task.release_extra(), "penalty": self.config.penalty}
        # a copy of G takes the EMA weights, so the live modules are untouched
        export_release_state(self.state_dict(all_ranks=False), copy.deepcopy(self.G), self.D, extra, out)
        return out

    # ---- the loop ---------------------------------------------------------------------------------------
    def fit(self, steps: int | None = None, resume: bool = True) -> dict[str, float]:
        """Train until ``steps`` generator steps (default ``config.steps``), resuming from ``run_dir`` if it holds
        a checkpoint. Returns the last step's metrics."""
        total = int(steps or self.config.steps)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        resume_path = self.run_dir / RESUME_FILE
        if resume and resume_path.exists():
            self.load_state_dict(load_resume_state(resume_path))
            log.info("resumed from %s at step %d", resume_path, self.step)
        main = self.dist.is_main
        logger = RunLogger(self.run_dir, tensorboard=self.tensorboard) if main else None
        if logger is not None:
            logger.truncate_after(self.step)
        batches = self._batches()
        metrics: dict[str, float] = {}
        window: dict[str, float] = {}
        n_window = 0
        t_last = time.perf_counter()
        cfg = self.config
        try:
            while self.step < total:
                metrics = self.train_step(batches)
                self.step += 1
                n_window += 1
                for k, v in metrics.items():
                    window[k] = window.get(k, 0.0) + v
                if self.step % cfg.log_every == 0 or self.step == total:
                    now = time.perf_counter()
                    record = self.dist.mean_metrics({k: v / n_window for k, v in window.items()})
                    record["time/sec_per_step"] = (now - t_last) / n_window
                    if logger is not None:
                        logger.log_metrics(self.step, record)
                    window, n_window, t_last = {}, 0, now
                if logger is not None and (self.step % cfg.sample_every == 0 or self.step == total):
                    grid = self.task.samples(self.G_ema or self.G, self.device)
                    if grid is not None:
                        logger.save_grid(grid, self.step)
                if self.step % cfg.checkpoint_every == 0 or self.step == total:
                    self.save_checkpoint()
                    if logger is not None:
                        logger.plot_losses()
                if self.callback is not None:
                    self.callback(self.step, total, metrics)
                if self.dist.any_true(self.stop_requested):  # one rank's early stop stops all of them
                    log.info("stopping early at step %d", self.step)
                    self.save_checkpoint()
                    if logger is not None:
                        logger.plot_losses()
                    break
        finally:
            if logger is not None:
                logger.close()
        return metrics
