"""Evaluation of face SR models on a folder of faces (PSNR-Y / SSIM-Y / LPIPS / identity against bicubic); the
scoring under each LR recipe and the early stopping are the core's (:mod:`srgan_wgan.training.sr_eval`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from srgan_wgan.errors import UserError
from srgan_wgan.training.sr_eval import (  # noqa: F401 (the face app's names for them)
    DEGRADATIONS,
    RESTORE_FACTOR,
    EarlyStopping,
    colour_shift,
    degraded_inputs,
    evaluate_sr,
    parse_degradation,
    validation_recipes,
)

if TYPE_CHECKING:
    from srgan_wgan.identity import FaceIdentity, IdentityReference

log = logging.getLogger("srgan_wgan")


EVAL_SPLITS = ("all", "train", "val")


def identity_reference(wanted: bool | None, hr: torch.Tensor
                       ) -> tuple[tuple[FaceIdentity, IdentityReference] | None, str | None]:
    """The (embedder, HR reference) pair for the identity metric and a one-line note, or ``(None, why not)``.

    ``wanted``: ``None`` = when dlib is installed, ``True`` = required (a :class:`UserError` without it)."""
    from srgan_wgan.identity import SAME_PERSON_THRESHOLD, FaceIdentity, identity_unavailable_reason

    if wanted is False:
        return None, None
    reason = identity_unavailable_reason()
    if reason:
        if wanted:
            raise UserError(f"--identity: {reason}; pip install dlib-bin face-recognition-models")
        return None, f"no identity metric: {reason}"
    embedder = FaceIdentity()
    ref = embedder.reference(hr)
    return (embedder, ref), (f"identity: dlib face embedding distance to the HR face (same person below "
                             f"{SAME_PERSON_THRESHOLD}); face detected on {ref.detected}/{hr.shape[0]} HR crops, "
                             "central box elsewhere")


def evaluate_folder(data: str | Path, model: str | Path, crop_fraction: float = 1.0, hr_size: int | None = None,
                    device: str = "auto", limit: int | None = None, split: str = "all", val_fraction: float = 0.05,
                    cache_dir: str | Path | None = None, identity: bool | None = None, fp32: bool = False,
                    degradations: tuple[str, ...] = ("clean",)) -> dict[str, Any]:
    """``sr eval``: a face SR model and bicubic on the faces of a folder (or of the ``train`` / ``val`` file-hash
    split ``sr train`` makes of it), centre-cropped by ``crop_fraction`` and resized to ``hr_size``.

    Returns ``{"model": metrics, "bicubic": metrics, "model_path", "scale", "images", "identity": note, ...}`` for
    the first recipe of ``degradations`` (:data:`DEGRADATIONS`), and ``"degradations": {recipe: {"model", "bicubic"}}``
    for each.
    """
    for spec in degradations:
        parse_degradation(spec)
    from srgan_wgan.apps.face_sr.inference import resolve_model_path
    from srgan_wgan.data.faces import load_face_crops
    from srgan_wgan.data.folders import scan_images
    from srgan_wgan.data.splits import split_by_hash
    from srgan_wgan.io.weights import load_pretrained
    from srgan_wgan.utils.device import resolve_device

    if split not in EVAL_SPLITS:
        raise UserError(f"--split must be all, train or val, not {split!r}")
    dev = resolve_device(device)
    path = resolve_model_path(model)
    G = load_pretrained(path, expected_arch="SRResNet", device=dev)
    scale = G.config.scale
    if hr_size is None:  # the size the model was trained at
        hr_size = int(G.weights_metadata.get("extra", {}).get("hr_size", 128))
    if hr_size < 64:
        raise UserError(f"--hr-size must be at least 64 (LPIPS-alex needs it), got {hr_size}")
    files = scan_images(data)
    if split != "all":
        files = split_by_hash(files, val_fraction)[split == "val"]
    if not files:
        raise UserError(f"no images found under {data}" + ("" if split == "all" else f" in the {split} split"))
    crops = load_face_crops(files[:limit] if limit else files, hr_size, crop_fraction, cache_dir)
    id_pair, id_info = identity_reference(identity, crops.images)
    from srgan_wgan.losses.perceptual import LPIPS

    lpips = LPIPS("alex")  # built once for every recipe and both methods
    per = {spec: {"model": evaluate_sr(G, crops.images, scale, lpips=lpips, device=dev, identity=id_pair, fp32=fp32,
                                      degradation=spec),
                  "bicubic": evaluate_sr(None, crops.images, scale, lpips=lpips, device=dev, identity=id_pair,
                                         degradation=spec)}
           for spec in dict.fromkeys(degradations)}
    first = per[degradations[0]]
    return {"data": str(data), "split": split, "model_path": str(path), "scale": scale, "hr_size": hr_size,
            "crop_fraction": crop_fraction, "images": int(crops.images.shape[0]), "identity": id_info,
            "degradation": degradations[0], "model": first["model"], "bicubic": first["bicubic"], "degradations": per}
