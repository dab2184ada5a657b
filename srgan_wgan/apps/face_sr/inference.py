"""Face super-resolution inference: :class:`FaceUpscaler` owns model loading, tiling, face detection and pasting.

Two modes (as in GFPGAN / Real-ESRGAN):

* ``aligned=True``: the input is a face crop; the whole image goes through the SR network (tiled when large).
* ``aligned=False``: a real photo. Faces are found with OpenCV's Haar cascade (shipped in the
  ``opencv-python-headless`` wheel; nothing is downloaded; a face must be found by two cascades), each face is cropped to a square with the framing the
  model was trained on, super-resolved, and pasted back with a feathered mask over the rest of the image, which is
  upscaled with Lanczos. The model sees faces at its training scale (a 16 px square for x8, 32 px for x4); faces
  more than 1.5x larger than that already hold more real detail than the model's input would keep, so they are
  left to the background path.

Alpha is upscaled separately (Lanczos); grayscale and 16-bit images come back as grayscale / 16-bit
(:mod:`srgan_wgan.io.images`). The network runs under bf16 autocast, channels_last, where the device computes bf16
natively (CUDA, and CPUs with AMX / AVX512-BF16: :func:`srgan_wgan.utils.precision.inference_precision`), in fp32
elsewhere or with ``fp32=True``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srgan_wgan.errors import UserError, WeightsError
from srgan_wgan.inference.tiling import feather_weights, run_tiled
from srgan_wgan.io.hub import resolve_weights
from srgan_wgan.io.images import ImageData
from srgan_wgan.io.weights import load_pretrained
from srgan_wgan.utils.device import resolve_device
from srgan_wgan.utils.precision import default_channels_last, inference_precision, to_channels_last

log = logging.getLogger("srgan_wgan")

FACE_MODELS: dict[str, str] = {
    "face-x4": "face-x4",
    "face-x8": "face-x8",
    "face-x4-fidelity": "face-x4-fidelity",
    "face-x8-fidelity": "face-x8-fidelity",
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


@dataclass
class UpscaleReport:
    """What :meth:`FaceUpscaler.upscale` did."""

    faces_found: int = 0
    faces_enhanced: int = 0
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)


class FaceUpscaler:
    """Super-resolve faces with a shipped or trained face-SR model.

    Args:
        model: a model name (``face-x4``, ``face-x8``, ``*-fidelity``) or a weights path; default by ``scale``.
        scale: 4 or 8, used when ``model`` is not given (and checked against the model when it is).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N``.
        fp32: run the network in fp32 (no bf16 autocast), on CPU as on CUDA.
        tile: LR tile size for ``aligned`` inputs (``0`` = whole image); tiles overlap by ``tile_overlap``.
        backend: ``torch``, or ``onnx`` to run onnxruntime on CPU; ``model`` may then be an ``.onnx`` file from
            ``sr export --onnx``, or a release, exported once to the cache (:func:`srgan_wgan.io.onnx.onnx_cache_path`).
    """

    def __init__(self, model: str | os.PathLike[str] | None = None, scale: int | None = None, device: str = "auto",
                 fp32: bool = False, tile: int = 256, tile_overlap: int = 16, backend: str = "torch") -> None:
        path = resolve_model_path(model, scale)
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
        self.scale: int = self.G.config.scale
        if scale is not None and scale != self.scale:
            raise WeightsError(f"{path}: is a x{self.scale} model, but --scale {scale} was asked for")
        extra = self.G.weights_metadata.get("extra", {})
        self.hr_size = int(extra.get("hr_size", 128))
        self.lr_size = self.hr_size // self.scale
        self.max_face = int(1.5 * self.lr_size)
        """Largest face square (input px) that is super-resolved; larger faces keep their own detail (Lanczos)."""
        self.path = path
        self.precision = inference_precision(self.device, fp32)
        self.channels_last = default_channels_last(self.device) and backend == "torch"
        if self.channels_last:
            self.G = self.G.to(memory_format=torch.channels_last)
        log.info("inference precision %s (%s)", self.precision.name, self.precision.reason)
        self.tile = tile
        self.tile_overlap = tile_overlap
        self._detector = None

    # ---- the network --------------------------------------------------------------------------------------
    @torch.no_grad()
    def _run(self, lr: np.ndarray) -> np.ndarray:
        """``(h, w, 3)`` float in [0, 1] -> ``(h*s, w*s, 3)``; one forward pass."""
        x = torch.from_numpy(np.ascontiguousarray(lr.transpose(2, 0, 1)))[None].to(self.device)
        with self.precision.autocast():
            y = self.G(to_channels_last(x, self.channels_last))
        return y.float().clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()

    def enhance(self, lr: np.ndarray) -> np.ndarray:
        """Super-resolve a whole ``(h, w, 3)`` image, in overlapping tiles when it is larger than ``tile``."""
        h, w = lr.shape[:2]
        if h < 4 or w < 4:
            raise UserError(f"image is {w}x{h} px: too small for the model (at least 4x4)")
        return run_tiled(self._run, lr, self.scale, self.tile, self.tile_overlap)

    # ---- faces in photos ----------------------------------------------------------------------------------
    def detect_faces(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Frontal faces ``(x, y, w, h)`` found by OpenCV's Haar cascade, largest first.

        The cascade's smallest face is 24 px, so small photos are searched upscaled (up to 4x, at most ~4 MP):
        the faces that most need super-resolution are the small ones.
        """
        import cv2

        if self._detector is None:
            self._detector = [cv2.CascadeClassifier(cv2.data.haarcascades + f"haarcascade_frontalface_{name}.xml")
                              for name in ("default", "alt2")]
        h, w = rgb.shape[:2]
        factor = int(max(1, min(4, (4e6 / max(1, w * h)) ** 0.5)))
        gray = cv2.cvtColor((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2GRAY)
        if factor > 1:
            gray = cv2.resize(gray, (w * factor, h * factor), interpolation=cv2.INTER_CUBIC)
        gray = cv2.equalizeHist(gray)
        found = [d.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24)) for d in self._detector]
        boxes = []
        for a in found[0]:  # a face must be found by both cascades (removes most false positives)
            match = [b for b in found[1] if _iou(a, b) >= 0.3]
            if match:
                avg = (np.asarray(a, np.float64) + np.asarray(max(match, key=lambda b: _iou(a, b)), np.float64)) / 2
                boxes.append(tuple(int(round(v / factor)) for v in avg))
        return sorted(boxes, key=lambda b: -b[2] * b[3])  # type: ignore[return-value]

    def face_square(self, box: tuple[int, int, int, int]) -> tuple[int, int, int]:
        """Square ``(x, y, side)`` around a Haar box with the framing of the training crops (face ~ 60 % of side)."""
        x, y, w, h = box
        side = int(round(max(w, h) * 1.6))
        cx, cy = x + w / 2, y + h / 2 + 0.05 * h
        return int(round(cx - side / 2)), int(round(cy - side / 2)), side

    def upscale(self, image: ImageData, aligned: bool = False) -> tuple[ImageData, UpscaleReport]:
        """Upscale ``image`` by the model's scale (see the module doc); returns the result and a report."""
        rgb = image.rgb
        h, w = rgb.shape[:2]
        s = self.scale
        report = UpscaleReport()
        if aligned:
            out = self.enhance(rgb)
        else:
            out = upscale_background(rgb, s, image.bit_depth)
            boxes = self.detect_faces(rgb)
            report.faces_found = len(boxes)
            for box in boxes:
                x0, y0, side = self.face_square(box)
                if side > self.max_face:  # resizing it to the model's input would lose real detail
                    continue
                crop = _crop_padded(rgb, x0, y0, side)
                lr = _resize_float(crop, (self.lr_size, self.lr_size))
                sr = self.enhance(lr)
                patch = _resize_float(sr, (side * s, side * s))
                mask = feather_weights(side * s, side * s, max(2, side * s // 8))[..., None]
                _paste(out, patch, mask, x0 * s, y0 * s)
                report.faces_enhanced += 1
                report.boxes.append(box)
        alpha = None if image.alpha is None else _resize_float(image.alpha[..., None].repeat(3, 2), (w * s, h * s))[..., 0]
        return ImageData(np.clip(out, 0, 1), alpha, image.bit_depth, image.grayscale, image.icc_profile), report


def upscale_background(rgb: np.ndarray, scale: int, bit_depth: int = 8) -> np.ndarray:
    """The fast path for everything that is not a face: Lanczos (8-bit exact; float precision for 16-bit)."""
    h, w = rgb.shape[:2]
    if bit_depth == 16:
        return _resize_float(rgb, (w * scale, h * scale))
    im = Image.fromarray((np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8))
    return np.asarray(im.resize((w * scale, h * scale), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0


def _resize_float(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Lanczos resize of a float ``(h, w, 3)`` image to ``size = (w, h)`` (per channel, float precision)."""
    chans = [np.asarray(Image.fromarray(x[..., c].astype(np.float32), "F").resize(size, Image.Resampling.LANCZOS))
             for c in range(x.shape[2])]
    return np.clip(np.stack(chans, -1), 0, 1)


def _iou(a: object, b: object) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ax, ay, aw, ah = (float(v) for v in a)  # type: ignore[union-attr]
    bx, by, bw, bh = (float(v) for v in b)  # type: ignore[union-attr]
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter + 1e-9)


def _crop_padded(x: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """A ``side`` x ``side`` crop at ``(x0, y0)``, edge-padded where it leaves the image."""
    h, w = x.shape[:2]
    pad = max(0, -x0, -y0, x0 + side - w, y0 + side - h)
    if pad:
        x = np.pad(x, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        x0, y0 = x0 + pad, y0 + pad
    return x[y0 : y0 + side, x0 : x0 + side]


def _paste(dst: np.ndarray, patch: np.ndarray, mask: np.ndarray, x0: int, y0: int) -> None:
    """Blend ``patch`` into ``dst`` at ``(x0, y0)`` with ``mask`` in [0, 1], clipped to ``dst``'s bounds."""
    h, w = dst.shape[:2]
    ys, xs = max(0, -y0), max(0, -x0)
    ye, xe = min(patch.shape[0], h - y0), min(patch.shape[1], w - x0)
    if ye <= ys or xe <= xs:
        return
    region = dst[y0 + ys : y0 + ye, x0 + xs : x0 + xe]
    m = mask[ys:ye, xs:xe]
    region[:] = region * (1 - m) + patch[ys:ye, xs:xe] * m
