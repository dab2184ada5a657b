"""Numeric precision for training and inference: which autocast dtype a device gets, and why.

``auto`` means bf16 autocast where the hardware computes bf16 natively and fp32 elsewhere:

* CUDA: bf16 when the GPU supports it (Ampere and newer), else fp16 (with a ``GradScaler`` in training);
* CPU: bf16 when the CPU has AMX (``amx_bf16``) or AVX512-BF16 (``avx512_bf16``), where oneDNN runs bf16
  convolutions and matmuls on the matrix units (3-10x faster than fp32 on the 2-core development machine); fp32
  on every other CPU, where bf16 would be emulated and slower than fp32.

fp16 on CPU is refused (no native fp16 kernels, and no loss scaling there); ``bf16`` forced on a CPU without native
bf16 runs, with a one-line warning that it will be slow. Losses and penalty norms are always computed in fp32.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from srgan_wgan.errors import ConfigError

log = logging.getLogger("srgan_wgan")

AMP_MODES: tuple[str, ...] = ("auto", "bf16", "fp16", "off")


@functools.lru_cache(maxsize=1)
def cpu_bf16_support() -> tuple[bool, str]:
    """Whether this CPU computes bf16 natively, and the reason (``"amx_bf16"``, ``"avx512_bf16"`` or why not).

    Reads the CPU flags from ``/proc/cpuinfo`` (Linux); elsewhere asks oneDNN whether its bf16 kernels are usable
    (true on Apple silicon and other ARM CPUs with bf16 instructions).
    """
    try:
        flags = set()
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                flags.update(line.split(":", 1)[1].split())
                break
        for flag in ("amx_bf16", "avx512_bf16"):
            if flag in flags:
                return True, flag
        if flags:
            return False, "the CPU has neither AMX nor AVX512-BF16"
    except OSError:
        pass
    try:
        if torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return True, "oneDNN reports native bf16"
    except (AttributeError, RuntimeError):
        pass
    return False, "no native bf16 found on this CPU"


@dataclass(frozen=True)
class Precision:
    """A resolved precision: the autocast ``dtype`` (``None`` = fp32) and a one-line ``reason`` for the log."""

    dtype: torch.dtype | None
    device_type: str
    reason: str

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.dtype]

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """``torch.autocast`` for this precision (a no-op context for fp32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device_type, dtype=self.dtype)


def resolve_amp(mode: str, device: torch.device) -> Precision:
    """The autocast precision of ``--amp mode`` on ``device`` (see the module doc).

    Raises:
        ConfigError: for an unknown mode, or fp16 on a CPU.
    """
    if mode not in AMP_MODES:
        raise ConfigError(f"unknown amp mode {mode!r}; choose one of {', '.join(AMP_MODES)}")
    kind = device.type
    if mode == "off":
        return Precision(None, kind, "--amp off")
    if kind == "cuda":
        if mode == "fp16":
            return Precision(torch.float16, kind, "--amp fp16 (with a GradScaler)")
        if mode == "bf16":
            return Precision(torch.bfloat16, kind, "--amp bf16")
        if torch.cuda.is_bf16_supported():
            return Precision(torch.bfloat16, kind, "auto: the GPU supports bf16")
        return Precision(torch.float16, kind, "auto: the GPU has no bf16, fp16 with a GradScaler")
    if kind == "cpu":
        native, why = cpu_bf16_support()
        if mode == "fp16":
            raise ConfigError("--amp fp16 is not supported on CPU (no native fp16 kernels); use --amp bf16, auto or off")
        if mode == "bf16":
            if not native:
                log.warning("--amp bf16 on a CPU without native bf16 (%s): it will be slower than fp32", why)
            return Precision(torch.bfloat16, kind, f"--amp bf16 ({why})")
        if native:
            return Precision(torch.bfloat16, kind, f"auto: bf16 on the CPU's {why}")
        return Precision(None, kind, f"auto: fp32 ({why})")
    if mode == "fp16":
        return Precision(torch.float16, kind, "--amp fp16")
    if mode == "bf16":
        return Precision(torch.bfloat16, kind, "--amp bf16")
    return Precision(None, kind, f"auto: fp32 on {kind}")


def inference_precision(device: torch.device, fp32: bool = False) -> Precision:
    """What inference runs in: bf16 autocast where the device computes it natively (``auto``), fp32 with
    ``fp32=True`` (``--fp32``) on CPU as on CUDA."""
    if fp32:
        return Precision(None, device.type, "--fp32")
    p = resolve_amp("auto", device)
    if p.dtype == torch.float16:  # inference never needs fp16's range problems: fp32 on such GPUs
        return Precision(None, device.type, "fp32 (the GPU has no bf16)")
    return p


def default_channels_last(device: torch.device) -> bool:
    """channels_last (NHWC) is faster for this project's conv nets on CUDA and on oneDNN CPUs (measured: a fifth
    faster on CPU in fp32, a third in bf16); on other devices the default layout is kept."""
    return device.type in ("cuda", "cpu")


def to_channels_last(x: torch.Tensor, enabled: bool = True) -> torch.Tensor:
    """``x`` in channels_last memory format when it is a 4-d batch and ``enabled``."""
    if enabled and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x
