"""Resume state: everything needed to continue a run bit-for-bit, written atomically.

Resume state (``resume.pt``: models, EMA, optimizers, GradScaler, step, sampler position, RNG states) is
separate from release weights (``export/*.safetensors``). It holds only tensors and primitive containers,
so it loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from srgan_wgan.errors import UserError
from srgan_wgan.io.atomic import atomic_write
from srgan_wgan.io.weights import FINETUNE_DTYPE, save_pretrained
from srgan_wgan.utils.seed import capture_rng_state, restore_rng_state
from srgan_wgan.version import __version__

log = logging.getLogger("srgan_wgan")

RESUME_FILE = "resume.pt"


def save_resume_state(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """``torch.save`` to a temporary file, fsync, then rename: the previous file survives any failure."""
    try:
        with atomic_write(path) as tmp:
            torch.save(state, tmp)
    except OSError as exc:
        raise UserError(f"cannot write checkpoint {path}: {exc.strerror or exc} (previous checkpoint kept)") from exc


def load_resume_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a resume state written by :func:`save_resume_state` (safe unpickling)."""
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise UserError(f"{path}: no checkpoint to resume from") from exc
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise UserError(f"{path}: corrupt or incompatible checkpoint ({type(exc).__name__})") from exc


def export_release_state(state: dict[str, Any], G: nn.Module, D: nn.Module | None, extra: dict[str, Any],
                         out_dir: str | Path) -> int:
    """Write release weights from a resume ``state`` (as :meth:`GANTrainer.export` does from a live run), loading
    its tensors into the freshly built ``G`` (and ``D``); no trainer and no data needed. Returns the state's step."""
    out = Path(out_dir)
    extra = {**extra, "step": int(state["step"])}
    G.load_state_dict(state.get("G_ema", state["G"]))
    save_pretrained(G, out / "generator.safetensors", {**extra, "ema": "G_ema" in state})
    G.load_state_dict(state["G"])
    save_pretrained(G, out / "generator_raw.safetensors", {**extra, "ema": False}, dtype=FINETUNE_DTYPE)
    if D is not None and "D" in state:
        D.load_state_dict(state["D"])
        save_pretrained(D, out / "critic.safetensors", extra, dtype=FINETUNE_DTYPE)
    return int(state["step"])


def trainer_state(trainer: Any, all_ranks: bool = True) -> dict[str, Any]:
    """Everything to resume ``trainer`` (a :class:`~srgan_wgan.training.engine.GANTrainer`) from; with
    ``all_ranks`` (a collective under torchrun) every rank's random streams too, else only this rank's (enough for
    release weights)."""
    state: dict[str, Any] = {
        "version": __version__,
        "step": trainer.step,
        "batches": trainer.batches,
        "critic_iters": trainer.critic_iters,
        "skipped_steps": trainer.skipped_steps,
        "config": asdict(trainer.config),
        "G": trainer.G.state_dict(),
        "opt_g": trainer.opt_g.state_dict(),
        "scaler": trainer.scaler.state_dict(),
        "noise": trainer.noise.get_state(),
        "rng": capture_rng_state(),
        "num_threads": torch.get_num_threads(),  # CPU results depend on it (the order of float reductions)
        "world_size": trainer.dist.world_size,
    }
    if trainer.dist.enabled and all_ranks:  # every rank's random streams; the models are the same on all of them
        ranks = trainer.dist.gather_objects({"noise": state["noise"].cpu(), "rng": state["rng"]})
        state["rank_states"] = ranks[1:]
    if trainer.G_ema is not None:
        state["G_ema"] = trainer.G_ema.state_dict()
    if trainer.D is not None and trainer.opt_d is not None:
        state["D"] = trainer.D.state_dict()
        state["opt_d"] = trainer.opt_d.state_dict()
    return state


def restore_trainer_state(trainer: Any, state: dict[str, Any]) -> None:
    """Load a :func:`trainer_state` into ``trainer`` (this rank's random streams included)."""
    saved_world = int(state.get("world_size", 1))
    if saved_world != trainer.dist.world_size:
        raise UserError(f"this run was trained with {saved_world} process(es) and is resumed with "
                        f"{trainer.dist.world_size}: resume it with {saved_world} in all (torchrun: nnodes x "
                        "nproc_per_node), or start a new run dir from its export")
    if trainer.dist.rank > 0:
        state = {**state, **state["rank_states"][trainer.dist.rank - 1]}
    trainer.G.load_state_dict(state["G"])
    trainer.opt_g.load_state_dict(state["opt_g"])
    if trainer.G_ema is not None and "G_ema" in state:
        trainer.G_ema.load_state_dict(state["G_ema"])
    if trainer.D is not None and trainer.opt_d is not None and "D" in state:
        trainer.D.load_state_dict(state["D"])
        trainer.opt_d.load_state_dict(state["opt_d"])
    if state.get("scaler"):
        trainer.scaler.load_state_dict(state["scaler"])
    trainer.noise.set_state(state["noise"].to("cpu") if trainer.device.type == "cpu" else state["noise"])
    restore_rng_state(state["rng"])
    saved_threads = state.get("num_threads")
    if trainer.device.type == "cpu" and saved_threads is not None and int(saved_threads) != torch.get_num_threads():
        log.warning("checkpoint written with %d CPU threads, resuming with %d: the run stays valid but is not "
                    "bit-identical to an uninterrupted one (set torch.set_num_threads / OMP_NUM_THREADS to "
                    "match)", int(saved_threads), torch.get_num_threads())
    trainer.step = int(state["step"])
    trainer.batches = int(state["batches"])
    trainer.critic_iters = int(state["critic_iters"])
    trainer.skipped_steps = int(state.get("skipped_steps", 0))
