"""Seeding helpers: one seed makes a CPU run bit-reproducible.

Randomness in a training run comes from four places, each handled here:

* model initialisation: ``seed_everything`` seeds ``torch``, ``numpy`` and ``random`` before models are built;
* data order: :class:`srgan_wgan.data.sampler.ResumableSampler` draws each epoch's permutation from
  ``(seed, epoch)`` and carries its position in the resume state;
* augmentation: every sample gets its own seed from ``sample_seed(seed, n)`` (``n`` = samples drawn so far),
  so workers, batch size and resume do not change it;
* noise (latents, interpolation weights): the trainer owns a ``torch.Generator`` whose state is saved.
"""

from __future__ import annotations

import hashlib
import os
import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (all devices) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def sample_seed(seed: int, index: int, stream: str = "") -> int:
    """Return a well-mixed 31-bit seed for the ``index``-th sample of a run seeded with ``seed``; a named
    ``stream`` (e.g. ``"noise"``) gives an independent seed for another random input of the same sample."""
    key = f"{seed}:{index}" + (f":{stream}" if stream else "")
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFFFFFF


_SAVED_BACKEND_FLAGS: dict[str, bool] = {}


def _backend_flags() -> dict[str, bool]:
    return {
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "matmul_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_tf32": torch.backends.cudnn.allow_tf32,
    }


def enable_determinism(enabled: bool = True) -> None:
    """Ask torch for deterministic kernels (set ``CUBLAS_WORKSPACE_CONFIG`` before CUDA starts).

    On CPU the default kernels are already deterministic for a fixed thread count; on CUDA this also turns off
    cuDNN benchmarking and TF32, trading speed for repeatability. ``enable_determinism(False)`` puts back the
    flags that were in force before the first ``enable_determinism(True)`` (torch's defaults if none).
    """
    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        if not _SAVED_BACKEND_FLAGS:
            _SAVED_BACKEND_FLAGS.update(_backend_flags())
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        return
    prev = _SAVED_BACKEND_FLAGS or {**_backend_flags(), "deterministic_algorithms": False, "cudnn_deterministic": False}
    torch.use_deterministic_algorithms(prev["deterministic_algorithms"])
    torch.backends.cudnn.deterministic = prev["cudnn_deterministic"]
    torch.backends.cudnn.benchmark = prev["cudnn_benchmark"]
    torch.backends.cuda.matmul.allow_tf32 = prev["matmul_tf32"]
    torch.backends.cudnn.allow_tf32 = prev["cudnn_tf32"]
    _SAVED_BACKEND_FLAGS.clear()


def capture_rng_state() -> dict[str, Any]:
    """Snapshot the global RNG states (Python, NumPy, torch CPU and CUDA) as picklable primitives/tensors."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": (np_state[0], torch.from_numpy(np_state[1].copy()), np_state[2], np_state[3], np_state[4]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Restore the states captured by :func:`capture_rng_state`."""
    python_state = state["python"]
    random.setstate((python_state[0], tuple(python_state[1]), python_state[2]))
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy(), int(n[2]), int(n[3]), float(n[4])))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
