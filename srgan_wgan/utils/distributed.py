"""Multi-process data-parallel training with ``torch.distributed`` (launched by ``torchrun``).

The engine does data parallelism itself instead of wrapping modules in ``DistributedDataParallel``: a WGAN step
runs the critic several times per batch (real, fake, the gradient penalty's double backward), which DDP's reducer
hooks do not follow. After each backward the gradients of the stepped model are averaged over the ranks in one
flat all-reduce, so every rank applies the same update and the models stay identical (they start from rank 0's
weights). Collectives run on gloo for CPU tensors and nccl on CUDA.

``torchrun`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``; without them everything here is a no-op on one
process.
"""

from __future__ import annotations

import atexit
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from srgan_wgan.errors import UserError


def env_rank() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from torchrun's environment (``(0, 1, 0)`` without it)."""
    try:
        return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                int(os.environ.get("LOCAL_RANK", 0)))
    except ValueError as exc:
        raise UserError(f"bad torchrun environment (RANK/WORLD_SIZE/LOCAL_RANK): {exc}") from None


def is_main_process() -> bool:
    """True on rank 0 (and without torchrun): the process that writes files and prints progress."""
    return env_rank()[0] == 0


@dataclass(frozen=True)
class DistContext:
    """This process's place in the job; ``world_size == 1`` means no collectives at all."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # ---- collectives (all no-ops on one process) -------------------------------------------------------
    def broadcast_module(self, module: nn.Module) -> None:
        """Copy rank 0's parameters and buffers into ``module`` on every rank."""
        if not self.enabled:
            return
        with torch.no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                dist.broadcast(t.data, src=0)

    def average_gradients(self, params: Iterable[nn.Parameter]) -> None:
        """Average the gradients of ``params`` over the ranks, in one flat all-reduce per dtype.

        Which parameters have a gradient is the same on every rank (same model, same code path), so the flat
        buffers line up. The sum is divided by the world size: each rank's loss is a mean over its share of the
        batch, so the average is the gradient of the mean over the global batch.
        """
        if not self.enabled:
            return
        by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
        for p in params:
            if p.grad is not None:
                by_dtype.setdefault(p.grad.dtype, []).append(p.grad)
        for grads in by_dtype.values():
            flat = torch.cat([g.reshape(-1) for g in grads])
            dist.all_reduce(flat)
            flat.div_(self.world_size)
            offset = 0
            for g in grads:
                n = g.numel()
                g.copy_(flat[offset: offset + n].view_as(g))
                offset += n

    def all_true(self, flag: bool) -> bool:
        """``flag`` and-ed over the ranks (so every rank takes the same branch)."""
        if not self.enabled:
            return flag
        t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
        return bool(t.item())

    def any_true(self, flag: bool) -> bool:
        """``flag`` or-ed over the ranks."""
        return not self.all_true(not flag)

    def mean_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """Each metric averaged over the ranks (every rank logs the same keys)."""
        if not self.enabled or not metrics:
            return metrics
        keys = sorted(metrics)
        t = torch.tensor([metrics[k] for k in keys], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return {k: float(v) / self.world_size for k, v in zip(keys, t.tolist())}

    def gather_objects(self, obj: Any) -> list[Any]:
        """Every rank's ``obj`` (tensors and primitive containers), in rank order, on every rank."""
        if not self.enabled:
            return [obj]
        buf = io.BytesIO()
        torch.save(obj, buf)  # as bytes: all_gather_object cannot unpickle tensors' storages itself
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, buf.getvalue())
        return [torch.load(io.BytesIO(b), weights_only=True) for b in out]

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


def init_distributed(device: torch.device) -> tuple[DistContext, torch.device]:
    """Join the torchrun job if there is one (gloo on CPU, nccl on CUDA; once per process) and return the context
    and the device this rank trains on (``cuda:LOCAL_RANK`` when ``device`` is CUDA)."""
    rank, world, local = env_rank()
    if world <= 1:
        return DistContext(device=device), device
    if device.type == "cuda":
        if local >= torch.cuda.device_count():
            raise UserError(f"LOCAL_RANK {local} but this node has {torch.cuda.device_count()} CUDA devices: "
                            "start at most one process per GPU (torchrun --nproc_per_node)")
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    elif device.type != "cpu":
        raise UserError(f"multi-process training runs on CPU (gloo) or CUDA (nccl), not on {device.type}")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=world)
        atexit.register(_shutdown)
    return DistContext(rank, world, local, device), device


def _shutdown() -> None:
    """At exit: wait for every rank, then leave the group. Without the barrier a rank that finishes first tears
    down its gloo pairs while another is still in its last collective, and that one aborts ("terminate called
    without an active exception", exit -6)."""
    if dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()
