"""Face-identity distance for SR evaluation: dlib's 128-d face embedding (the ResNet of ``face-recognition-models``).

Needs ``dlib-bin`` + ``face-recognition-models`` (default dependencies; the latter ships the model files, nothing is
downloaded at run time), or dlib plus the two model files in ``$SRGAN_WGAN_DLIB_MODELS``. The distance between the embedding of a super-resolved face and that
of its HR original is the usual identity-preservation measure of face SR; dlib's own same-person threshold is 0.6.

Protocol: the face box is found once on the HR image (dlib's HOG detector, upsampled once; the largest face; when none
is found, a fixed central box of the aligned crop). Landmarks (5 points) are then located on each image separately
inside that box, and each image is embedded after dlib's own alignment.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

SAME_PERSON_THRESHOLD = 0.6
MODEL_FILES = ("shape_predictor_5_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
MODELS_ENV = "SRGAN_WGAN_DLIB_MODELS"


def dlib_model_dir() -> Path | None:
    """Folder holding dlib's 5-landmark and face-recognition model files: ``$SRGAN_WGAN_DLIB_MODELS``, else the
    ``models/`` folder of the installed ``face-recognition-models`` package (located without importing it: its
    ``__init__`` needs ``pkg_resources``, which recent setuptools no longer ship); ``None`` when neither holds them."""
    candidates = []
    if os.environ.get(MODELS_ENV):
        candidates.append(Path(os.environ[MODELS_ENV]))
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / "models" for p in spec.submodule_search_locations]
    return next((c for c in candidates if all((c / f).is_file() for f in MODEL_FILES)), None)


def identity_unavailable_reason() -> str | None:
    """``None`` when dlib and its model files are available, else why not (one line)."""
    try:
        import dlib  # noqa: F401
    except ImportError:
        return "face identity needs dlib (pip install dlib-bin): it is not installed"
    if dlib_model_dir() is None:
        return (f"face identity needs dlib's model files {', '.join(MODEL_FILES)}: install face-recognition-models "
                f"or set {MODELS_ENV} to a folder holding them")
    return None


def to_uint8_hwc(x: torch.Tensor) -> list[np.ndarray]:
    """``(N, 3, H, W)`` images in ``[0, 1]`` (or uint8) to contiguous uint8 ``H x W x 3`` arrays."""
    if x.dtype != torch.uint8:
        x = (x.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
    return [np.ascontiguousarray(a) for a in x.permute(0, 2, 3, 1).cpu().numpy()]


@dataclass
class IdentityReference:
    """Face boxes and embeddings of the HR images, computed once and compared with every method's output."""

    boxes: list[Any]
    embeddings: np.ndarray  # (N, 128)
    detected: int  # how many boxes the detector found (the rest used the central fallback box)


class FaceIdentity:
    """dlib face embedder: :meth:`reference` on HR crops, then :meth:`distances` of any outputs of the same crops."""

    def __init__(self) -> None:
        reason = identity_unavailable_reason()
        if reason:
            raise ImportError(reason)
        import dlib

        models = dlib_model_dir()
        assert models is not None
        self._dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.landmarks = dlib.shape_predictor(str(models / MODEL_FILES[0]))
        self.net = dlib.face_recognition_model_v1(str(models / MODEL_FILES[1]))

    def face_box(self, img: np.ndarray) -> tuple[Any, bool]:
        """The largest detected face of an ``H x W x 3`` uint8 image, else a central box; and whether it was found."""
        found = self.detector(img, 1)
        if len(found):
            return max(found, key=lambda r: r.width() * r.height()), True
        h, w = img.shape[:2]
        return self._dlib.rectangle(int(0.15 * w), int(0.15 * h), int(0.85 * w), int(0.85 * h)), False

    def embed(self, img: np.ndarray, box: Any) -> np.ndarray:
        """128-d embedding of the face in ``box`` (landmarks located on ``img`` itself)."""
        shape = self.landmarks(img, box)
        return np.asarray(self.net.compute_face_descriptor(img, shape), dtype=np.float64)

    def reference(self, hr: torch.Tensor) -> IdentityReference:
        """Boxes and embeddings of HR crops ``(N, 3, H, W)`` (uint8 or ``[0, 1]``)."""
        boxes, embs, detected = [], [], 0
        for img in to_uint8_hwc(hr):
            box, found = self.face_box(img)
            boxes.append(box)
            detected += found
            embs.append(self.embed(img, box))
        return IdentityReference(boxes, np.stack(embs) if embs else np.zeros((0, 128)), detected)

    def distances(self, out: torch.Tensor, ref: IdentityReference, start: int = 0) -> torch.Tensor:
        """Euclidean embedding distance of outputs ``out`` to the HR images ``start ... start + N`` of ``ref``."""
        d = [np.linalg.norm(self.embed(img, ref.boxes[start + i]) - ref.embeddings[start + i])
             for i, img in enumerate(to_uint8_hwc(out))]
        return torch.tensor(d, dtype=torch.float64)
