"""Face super-resolution and restoration inference: :class:`FaceUpscaler` owns model loading, tiling, face
detection, alignment and paste-back.

Two modes (as in GFPGAN / Real-ESRGAN):

* ``aligned=True``: the input is a face crop; the whole image goes through the network (tiled when large). A
  restoration model (same-size output, e.g. ``face-restore-fidelity``) restores the crop at its working size and
  the result is brought to the output size by the band blend below.
* ``aligned=False``: a real photo. The rest of the photo is upscaled with Lanczos (or ``background``). Faces are found with dlib's HOG
  detector and 5 landmarks (:class:`srgan_wgan.data.face_align.FaceDetector`), aligned by a similarity transform
  to the template of the training faces, restored, warped back by the inverse transform and blended in with a
  feathered mask. Each restored face keeps the photo's colours: its lowest band (a Gaussian of 1/16 of the crop
  side) is taken from the input crop, not from the network.

  Faces of every size are processed; a face narrower than ``MIN_FACE_PX`` (12 px) or whose landmark fit fails
  (``MAX_LANDMARK_RESIDUAL``) is skipped with its reason in the report. Faces larger than the model's working size
  take one of two documented paths (reported as ``restored-large``):

  - a fixed-scale SR model (x4, x8; fully convolutional) runs on the aligned crop at the photo's own resolution
    instead of shrinking the face to its 16 / 32 px training input, which would throw its detail away;
  - a restoration model restores the face at its working size (192 px), and where the face is larger than that
    in the output, the restoration supplies the face's structure and colour up to the working resolution and the
    background path the finer band (:func:`blend_bands`).

Alpha is upscaled separately (Lanczos); grayscale and 16-bit images come back as grayscale / 16-bit
(:mod:`srgan_wgan.io.images`). The network runs under bf16 autocast, channels_last, where the device computes bf16
natively (CUDA, and CPUs with AMX / AVX512-BF16: :func:`srgan_wgan.utils.precision.inference_precision`), in fp32
elsewhere or with ``fp32=True``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2

import numpy as np
import torch

from srgan_wgan.data.face_align import (Face, FaceDetector, align_matrix, canvas_matrix, landmark_residual, paste_face,
                                        warp_face)
from srgan_wgan.errors import UserError, WeightsError
from srgan_wgan.inference.background import (  # noqa: F401 (upscale_background: public here too)
    _resize_float,
    background_canvas,
    finish_upscale,
    upscale_background,
)
from srgan_wgan.inference.tiling import run_image_model, run_tiled
from srgan_wgan.io.hub import resolve_weights
from srgan_wgan.io.images import ImageData, to_float
from srgan_wgan.io.weights import load_pretrained
from srgan_wgan.utils.device import resolve_device
from srgan_wgan.utils.precision import default_channels_last, inference_precision

log = logging.getLogger("srgan_wgan")

FACE_MODELS: dict[str, str] = {
    "face-x4": "face-x4",
    "face-x8": "face-x8",
    "face-x4-fidelity": "face-x4-fidelity",
    "face-x8-fidelity": "face-x8-fidelity",
    "face-restore-fidelity": "face-restore-fidelity",
}
DEFAULT_MODEL = {4: "face-x4", 8: "face-x8"}
BACKENDS = ("torch", "onnx")
"""Inference backends: PyTorch (bf16 autocast where native) or onnxruntime on CPU (fp32, :mod:`srgan_wgan.io.onnx`)."""


def resolve_model_path(model: str | os.PathLike[str] | None, scale: int | None = None) -> Path:
    """A model name (``face-x8``) or a path (file, or folder holding ``generator.safetensors``) -> weights file."""
    if model is None:
        if scale not in DEFAULT_MODEL:
            raise UserError(f"--scale must be 4 or 8, got {scale}")
        model = DEFAULT_MODEL[scale]
    return resolve_weights(model, tuple(FACE_MODELS))


MIN_FACE_PX = 12
"""Faces whose detector box is narrower than this (photo pixels) are skipped: too few pixels to restore."""
MAX_LANDMARK_RESIDUAL = 0.1
"""A landmark fit whose aligned points lie further than this (RMS, fraction of the crop side) from the template is
taken as failed and the face is skipped (frontal faces measure 0.005-0.055 on LFW)."""
COLOUR_SIGMA = 1 / 16
"""Sigma, as a fraction of the crop side, of the low-pass whose band is taken from the input (colour-true paste)."""


@dataclass
class FaceAction:
    """One detected face and what :meth:`FaceUpscaler.upscale` did with it."""

    face: Face
    action: str
    """``restored`` (at the model's working size), ``restored-large`` (larger than it: see the module doc) or
    ``skipped``."""
    reason: str = ""
    """Why it was skipped, as ``kind: detail`` (``too small: 9 px``)."""

    @property
    def face_px(self) -> int:
        """Side of the detector box in photo pixels (what a user calls the face's size)."""
        x0, y0, x1, y1 = self.face.box
        return int(max(x1 - x0, y1 - y0))

    def as_dict(self) -> dict[str, Any]:
        d = self.face.as_dict()
        d.update(face_px=self.face_px, action=self.action)
        if self.reason:
            d["reason"] = self.reason
        return d


@dataclass
class UpscaleReport:
    """What :meth:`FaceUpscaler.upscale` did: one :class:`FaceAction` per detected face."""

    faces: list[FaceAction] = field(default_factory=list)
    aligned: bool = False
    scale: int = 4
    model: str = ""
    faces_off: bool = False
    """No detection was run (``sr upscale --faces off``)."""

    @property
    def faces_found(self) -> int:
        return len(self.faces)

    @property
    def faces_enhanced(self) -> int:
        return sum(f.action != "skipped" for f in self.faces)

    @property
    def boxes(self) -> list[tuple[int, int, int, int]]:
        """Boxes ``(x0, y0, x1, y1)`` of the faces that were restored."""
        return [f.face.box for f in self.faces if f.action != "skipped"]

    def summary(self) -> str:
        """One line: ``3 of 4 faces restored (1 too small: 9 px)``; ``no faces found: background only``."""
        if self.aligned:
            return "aligned face: the whole image went through the model"
        if self.faces_off:
            return "faces off: background only"
        if not self.faces:
            return "no faces found: background only"
        n = len(self.faces)
        head = f"{self.faces_enhanced} of {n} face{'s' if n != 1 else ''} restored"
        notes: dict[str, list[str]] = {}
        for f in self.faces:
            if f.action == "skipped":
                kind, _, detail = f.reason.partition(": ")
                notes.setdefault(kind, []).append(detail)
        large = sum(f.action == "restored-large" for f in self.faces)
        parts = [f"{len(v)} {k}" + (f": {', '.join(d for d in v if d)}" if any(v) else "") for k, v in notes.items()]
        if large:
            parts.append(f"{large} larger than the working size")
        return head + (f" ({'; '.join(parts)})" if parts else "")

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "scale": self.scale, "aligned": self.aligned, "faces_off": self.faces_off,
                "summary": self.summary(),
                "faces_found": self.faces_found, "faces_restored": self.faces_enhanced,
                "faces": [f.as_dict() for f in self.faces]}


class FaceUpscaler:
    """Upscale photos and face crops with a shipped or trained face model.

    Args:
        model: a model name (``face-x4``, ``face-x8``, ``*-fidelity``, ``face-restore-fidelity``) or a weights
            path; default by ``scale``.
        scale: output scale. For a fixed-scale model (x4, x8) it picks the model when ``model`` is not given and
            must match it when it is; a restoration model (same-size output) takes any scale from 1 to 8
            (default 4).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``.
        fp32: run the network in fp32 (no bf16 autocast), on CPU as on CUDA.
        tile: LR tile size for ``aligned`` inputs (``0`` = whole image); tiles overlap by ``tile_overlap``.
        backend: ``torch``, or ``onnx`` to run onnxruntime on CPU; ``model`` may then be an ``.onnx`` file from
            ``sr export --onnx``, or a release, exported once to the cache (:func:`srgan_wgan.io.onnx.onnx_cache_path`).
        background: ``fn(rgb, scale, bit_depth, dtype)`` that upscales the whole photo under the faces (default:
            Lanczos, :func:`upscale_background`); ``sr upscale --background`` passes a photo SR model here.
    """

    def __init__(self, model: str | os.PathLike[str] | None = None, scale: int | None = None, device: str = "auto",
                 fp32: bool = False, tile: int = 256, tile_overlap: int = 16, backend: str = "torch",
                 background: Callable[[np.ndarray, int, int, Any], np.ndarray] | None = None) -> None:
        path = resolve_model_path(model, scale)
        self.background = background or upscale_background
        if backend not in BACKENDS:
            raise UserError(f"--backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if path.suffix == ".onnx" and backend != "onnx":
            raise UserError(f"{path}: an ONNX file needs --backend onnx")
        self.backend = backend
        self.device = resolve_device(device) if backend == "torch" else torch.device("cpu")
        if backend == "onnx":
            from srgan_wgan.io.onnx import resolve_onnx

            self.G = resolve_onnx(path, "SRResNet")
            fp32 = True  # onnxruntime runs the fp32 graph
        else:
            self.G = load_pretrained(path, expected_arch="SRResNet", device=self.device)
        self.model_scale: int = self.G.config.scale
        """The network's own scale: 4 or 8 for the fixed-scale models, 1 for a restoration model."""
        if self.model_scale == 1:
            if scale is not None and not 1 <= scale <= 8:
                raise UserError(f"--scale must be from 1 to 8 for a restoration model, got {scale}")
            self.scale: int = 4 if scale is None else int(scale)
        else:
            if scale is not None and scale != self.model_scale:
                raise WeightsError(f"{path}: is a x{self.model_scale} model, but --scale {scale} was asked for")
            self.scale = self.model_scale
        extra = self.G.weights_metadata.get("extra", {})
        self.hr_size = int(extra.get("hr_size", 128))
        self.lr_size = self.hr_size // self.model_scale
        """The aligned face crop the network was trained on (input side, then output side ``hr_size``)."""
        self.path = path
        self.precision = inference_precision(self.device, fp32)
        self.channels_last = default_channels_last(self.device) and backend == "torch"
        if self.channels_last:
            self.G = self.G.to(memory_format=torch.channels_last)
        log.info("inference precision %s (%s)", self.precision.name, self.precision.reason)
        self.tile = tile
        self.tile_overlap = tile_overlap
        self._detector: FaceDetector | None = None

    # ---- the network --------------------------------------------------------------------------------------
    def _run(self, lr: np.ndarray) -> np.ndarray:
        """``(h, w, 3)`` float in [0, 1] -> ``(h*s, w*s, 3)``; one forward pass."""
        return run_image_model(self.G, lr, self.device, self.precision, self.channels_last)

    def enhance(self, lr: np.ndarray) -> np.ndarray:
        """Run the network over a whole ``(h, w, 3)`` image (``model_scale`` times larger out), in overlapping
        tiles when it is larger than ``tile``."""
        h, w = lr.shape[:2]
        if h < 4 or w < 4:
            raise UserError(f"image is {w}x{h} px: too small for the model (at least 4x4)")
        return run_tiled(self._run, lr, self.model_scale, self.tile, self.tile_overlap)

    # ---- faces in photos ----------------------------------------------------------------------------------
    @property
    def detector(self) -> FaceDetector:
        """dlib's HOG detector with 5 landmarks (:class:`~srgan_wgan.data.face_align.FaceDetector`), built once."""
        if self._detector is None:
            self._detector = FaceDetector()
        return self._detector

    def detect_faces(self, rgb: np.ndarray) -> list[Face]:
        """Faces of an ``(H, W, 3)`` float image, largest first."""
        return self.detector.detect(rgb)

    def restore_face(self, rgb: np.ndarray, face: Face, canvas: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
        """Restore one face of ``rgb`` for a canvas ``self.scale`` times larger (the upscaled background).

        Returns the aligned face to paste (square, float), the matrix that aligned it in ``rgb``, and the action
        (``restored`` or ``restored-large``); see the module doc for the paths.
        """
        target = max(1, int(np.ceil(face.size * self.scale)))  # the face's aligned crop, in canvas pixels
        if self.model_scale > 1:  # a fully convolutional SR net: at its trained scale, or the photo's own
            in_crop = max(self.lr_size, int(np.ceil(face.size)))
            lr = warp_face(rgb, align_matrix(face.landmarks, in_crop), in_crop)
            out = _colour_true(self.enhance(lr), lr)
            action = "restored" if in_crop == self.lr_size else "restored-large"
            return out, align_matrix(face.landmarks, out.shape[0]), action
        work = self.hr_size
        crop = warp_face(rgb, align_matrix(face.landmarks, work), work)
        out = _colour_true(self.enhance(crop), crop)
        if target <= work:
            return out, align_matrix(face.landmarks, work), "restored"
        m = align_matrix(face.landmarks, target)
        background = to_float(warp_face(canvas, canvas_matrix(m, self.scale), target))
        return blend_bands(out, background), m, "restored-large"

    def upscale(self, image: ImageData, aligned: bool = False, integer: bool = False, faces: bool = True
                ) -> tuple[ImageData, UpscaleReport]:
        """Upscale ``image`` by ``self.scale`` (see the module doc); returns the result and a report.

        ``faces=False``: a photo gets the background alone, with no face detection (``sr upscale --faces off``).

        ``integer``: the result's ``rgb`` and ``alpha`` come in the image's own depth (``uint8`` / ``uint16``)
        instead of float32. A photo's canvas is then asked of ``background`` in that depth (a fourth argument) and
        the faces are pasted into it in place, so an 8k photo at x4 needs the output image, not four float copies of
        it (``sr upscale`` does this); later faces then see earlier ones in the canvas. ``aligned`` results are
        quantised at the end."""
        rgb = image.rgb
        s = self.scale
        report = UpscaleReport(aligned=aligned, scale=s, model=str(self.path), faces_off=not faces and not aligned)
        if aligned:
            if self.model_scale > 1:
                out = self.enhance(rgb)
            else:  # a restoration model: restore at its working size, then the band blend at the output size
                work = self.hr_size
                crop = _resize_float(rgb, (work, work))
                restored = _colour_true(self.enhance(crop), crop)
                out = blend_bands(restored, upscale_background(rgb, s, image.bit_depth))
            return finish_upscale(np.clip(out, 0, 1), image, s, integer), report
        out = background = background_canvas(self.background, image, s, integer)
        for face in self.detect_faces(rgb) if faces else []:
            fa = FaceAction(face, "skipped")
            report.faces.append(fa)
            residual = landmark_residual(face.landmarks, align_matrix(face.landmarks, 1), 1)
            if fa.face_px < MIN_FACE_PX:
                fa.reason = f"too small: {fa.face_px} px"
            elif not np.isfinite(residual) or residual > MAX_LANDMARK_RESIDUAL:
                fa.reason = f"landmark fit failed: residual {residual:.2f}"
            else:
                patch, m, fa.action = self.restore_face(rgb, face, background)
                out = paste_face(out, patch, m, scale=s, inplace=integer)  # a float canvas: a new array, as before
            log.debug("face %s: %s", face.box, fa.action if not fa.reason else f"skipped ({fa.reason})")
        return finish_upscale(out, image, s, integer), report


def _colour_true(out: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``out`` with its lowest band (Gaussian, sigma ``COLOUR_SIGMA`` of the side) replaced by that of ``ref``
    (resized to ``out``'s size): the restored face keeps the photo's colour and shading."""
    hh, ww = out.shape[:2]
    if ref.shape[:2] != (hh, ww):
        ref = cv2.resize(ref, (ww, hh), interpolation=cv2.INTER_CUBIC)
    sigma = max(1.0, COLOUR_SIGMA * max(hh, ww))
    def low(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)

    return np.clip(out + low(ref) - low(out), 0, 1).astype(np.float32)


def blend_bands(restored: np.ndarray, background: np.ndarray) -> np.ndarray:
    """``restored`` (the model's working size) resized to ``background``'s size, plus the band of ``background``
    finer than the working size can hold: the restoration gives the face's structure and colour up to its
    resolution, the background path the detail above it. A background no larger than ``restored`` is not needed."""
    hh, ww = background.shape[:2]
    rh, rw = restored.shape[:2]
    up = cv2.resize(restored, (ww, hh), interpolation=cv2.INTER_CUBIC)
    if hh <= rh and ww <= rw:
        return np.clip(up, 0, 1)
    coarse = cv2.resize(cv2.resize(background, (min(rw, ww), min(rh, hh)), interpolation=cv2.INTER_AREA), (ww, hh),
                        interpolation=cv2.INTER_CUBIC)
    return np.clip(up + background - coarse, 0, 1).astype(np.float32)
