"""Release weights: safetensors with the architecture config and package version in the header.

A single ``.safetensors`` file rebuilds its model without any training code::

    model = load_pretrained("weights/face-x4/generator.safetensors")

The header metadata holds ``format``, ``arch`` (registry name), ``config`` (JSON of the architecture
dataclass), ``version`` (the package version that wrote it) and ``extra`` (JSON: e.g. scale, value range,
class names). A readable ``<name>.json`` sidecar with the same content is written next to it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from srgan_wgan.archs import ARCHS, build_arch
from srgan_wgan.errors import WeightsError
from srgan_wgan.io.atomic import atomic_write
from srgan_wgan.version import __version__

FORMAT = "srgan-wgan/1"
log = logging.getLogger("srgan_wgan")
FINETUNE_DTYPE = torch.float16
"""Storage type of released raw generators and critics (fine-tuning starts); the EMA generator stays fp32."""


def _arch_name(model: nn.Module) -> str:
    for name, (cls, _) in ARCHS.items():
        if type(model) is cls:
            return name
    raise WeightsError(f"{type(model).__name__} is not a registered architecture")


def save_pretrained(
    model: nn.Module, path: str | os.PathLike[str], extra: dict[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write ``model``'s tensors and config to ``path`` (``.safetensors``) atomically, plus a JSON sidecar.

    ``dtype`` (e.g. ``torch.float16``) stores floating-point tensors in that type to halve the file; loading casts
    them back to the model's fp32 parameters. Tensors whose names start with one of the model's
    ``full_precision_prefixes`` (e.g. a critic's fixed random projections, which training never corrects) are kept
    in their own type.
    """
    path = Path(path)
    if dtype is not None:
        extra = {**(extra or {}), "stored_dtype": str(dtype).removeprefix("torch.")}
    meta = {
        "format": FORMAT,
        "arch": _arch_name(model),
        "config": json.dumps(model.config_dict(), sort_keys=True),  # type: ignore[operator]
        "version": __version__,
        "extra": json.dumps(extra or {}, sort_keys=True),
    }
    keep = tuple(getattr(model, "full_precision_prefixes", ()))
    tensors = {k: v.detach().to("cpu", dtype if dtype is not None and v.is_floating_point() and not k.startswith(keep)
                                else v.dtype).contiguous().clone() for k, v in model.state_dict().items()}
    with atomic_write(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    sidecar = {k: (json.loads(v) if k in ("config", "extra") else v) for k, v in meta.items()}
    with atomic_write(path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
    return path


def read_weights_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the header of a weights file: ``arch``, ``config`` (dict), ``version``, ``extra`` (dict)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: not a readable safetensors file ({exc})") from exc
    if meta.get("format") != FORMAT or "arch" not in meta:
        raise WeightsError(f"{path}: not an srgan-wgan weights file (no '{FORMAT}' header)")
    try:
        return {
            "arch": meta["arch"],
            "config": json.loads(meta["config"]),
            "version": meta.get("version", "?"),
            "extra": json.loads(meta.get("extra", "{}")),
        }
    except (KeyError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: corrupt weights header ({exc})") from exc


def load_pretrained(
    path: str | os.PathLike[str],
    expected_arch: str | None = None,
    device: str | torch.device = "cpu",
) -> nn.Module:
    """Rebuild the model stored in ``path`` and load its weights (eval mode, no grad).

    Raises:
        WeightsError: missing, corrupt or mismatched file (naming the file and what is wrong).
    """
    meta = read_weights_metadata(path)
    if expected_arch is not None and meta["arch"] != expected_arch:
        raise WeightsError(f"{path}: holds a {meta['arch']}, expected a {expected_arch}")
    try:
        model = build_arch(meta["arch"], meta["config"])
    except WeightsError as exc:  # name the file: e.g. a config of an architecture or option this version lacks
        raise WeightsError(f"{path}: {exc}") from exc
    try:
        state = load_file(str(path), device="cpu")
        model.load_state_dict(state, strict=True)
    except (SafetensorError, RuntimeError, OSError) as exc:
        raise WeightsError(f"{path}: weights do not match the {meta['arch']} config ({exc})".splitlines()[0]) from exc
    model.weights_metadata = meta  # type: ignore[attr-defined]
    return model.to(device).eval().requires_grad_(False)


StateRemap = Callable[[str, torch.Tensor], torch.Tensor]


def init_from_release(
    g_file: str | os.PathLike[str], G: nn.Module, D: nn.Module | None = None, remap: StateRemap | None = None,
) -> bool:
    """Initialise a training run's ``G`` (and ``D``) in place from released weights, for fine-tuning.

    ``g_file`` is a generator ``.safetensors``; a ``critic.safetensors`` beside it initialises ``D``.
    ``remap(key, tensor)`` may rewrite tensors first (e.g. per-class rows when the classes change).
    A generator that does not fit ``G`` is a :class:`WeightsError` naming the first mismatched tensor; a missing or
    non-fitting critic is logged and ``D`` keeps its fresh initialisation. Returns whether ``D`` was loaded.
    """
    g_file = Path(g_file)
    meta = read_weights_metadata(g_file)
    if meta["arch"] != _arch_name(G):
        raise WeightsError(f"{g_file}: holds a {meta['arch']}, not this run's {_arch_name(G)}")
    mismatch = _load_fitting(G, g_file, remap)
    if mismatch:
        raise WeightsError(f"{g_file}: holds a {meta['arch']} {meta['config']} that does not fit this run's model "
                           f"({mismatch}); fine-tune with the source's settings")
    if D is None:
        return False
    c_file = g_file.parent / "critic.safetensors"
    if not c_file.is_file():
        log.warning("no critic.safetensors beside %s: the critic starts from scratch", g_file)
        return False
    mismatch = _load_fitting(D, c_file, remap)
    if mismatch:
        log.warning("%s does not fit this run's critic (%s): the critic starts from scratch", c_file, mismatch)
        return False
    log.info("critic initialised from %s", c_file)
    return True


def _load_fitting(model: nn.Module, path: Path, remap: StateRemap | None) -> str | None:
    """Load ``path`` into ``model`` when every tensor fits; else leave it untouched and describe the first misfit."""
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as exc:
        raise WeightsError(f"{path}: not a readable safetensors file ({exc})") from exc
    if remap is not None:
        state = {k: remap(k, v) for k, v in state.items()}
    own = model.state_dict()
    optional = tuple(getattr(model, "optional_state_prefixes", ()))
    for prefix in optional:  # an optional head of another kind or shape is not loaded: it keeps its fresh init
        mine = {k: v.shape for k, v in own.items() if k.startswith(prefix)}
        theirs = {k: v.shape for k, v in state.items() if k.startswith(prefix)}
        if theirs and mine != theirs:
            state = {k: v for k, v in state.items() if not k.startswith(prefix)}
    for k, v in own.items():
        if k not in state:
            if optional and k.startswith(optional):
                continue  # a head this file predates: it keeps its fresh initialisation
            return f"{k} missing"
        if state[k].shape != v.shape:
            return f"{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}"
    extra = sorted(k for k in set(state) - set(own) if not (optional and k.startswith(optional)))
    if extra:
        return f"unexpected {extra[0]}"
    state = {k: v for k, v in state.items() if k in own}  # an optional head this run does not use is dropped
    model.load_state_dict(state, strict=False)  # every key checked above; only optional heads may be absent
    return None
