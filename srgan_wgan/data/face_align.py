"""Face detection with 5-point landmarks (dlib), similarity alignment to a canonical template, and the inverse warp
with a feathered mask for pasting a restored face back into its photo.

The template is the mean of dlib's 5 landmarks over the UTKFace training split (the faces the models learn from),
in units of the crop side, so an aligned crop looks like a training face: recompute with
``python -m datasets.face_template --data ../shared/data/faces/utkface/images``.

Small faces are found by upsampling the image for dlib's HOG detector (each upsampling halves the smallest face it
finds, about 80 px at none), so faces of 16-20 px in a photo of moderate size are found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from srgan_wgan.io.images import quantise, to_float

__all__ = ["FACE_TEMPLATE", "Face", "FaceDetector", "align_matrix", "warp_face", "paste_face", "feather_mask",
           "canvas_matrix", "landmark_residual"]

FACE_TEMPLATE = np.array([[0.7666, 0.3028], [0.6084, 0.3138], [0.2118, 0.3018], [0.371, 0.3135], [0.4918, 0.5882]],
                         dtype=np.float64)
"""dlib's 5 landmarks (two corners of each eye, then the base of the nose), as fractions of the crop side: the mean
over the 589 of the first 600 UTKFace training chips with one face (``datasets/face_template.py``)."""


@dataclass
class Face:
    """One detected face: box ``(x0, y0, x1, y1)`` in image pixels, its 5 landmarks ``(5, 2)`` and the detector
    score; ``size`` is the inter-ocular-scaled face size in pixels (the side of its aligned crop at 1:1)."""

    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    score: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> float:
        """Side, in image pixels, of the square the template maps this face to (the face's scale)."""
        eyes = self.landmarks[:4].reshape(2, 2, 2).mean(1)
        template_eyes = FACE_TEMPLATE[:4].reshape(2, 2, 2).mean(1)
        return float(np.linalg.norm(eyes[0] - eyes[1]) / np.linalg.norm(template_eyes[0] - template_eyes[1]))

    def as_dict(self) -> dict[str, Any]:
        return {"box": list(map(int, self.box)), "landmarks": np.round(self.landmarks, 2).tolist(),
                "size": round(self.size, 1), "score": round(float(self.score), 3), **self.extra}


class FaceDetector:
    """dlib's HOG frontal-face detector with its 5-point shape predictor (model files of ``face-recognition-models``).

    Args:
        max_upsample: at most this many 2x upsamplings for small faces; the image is upsampled while its long
            side stays under ``upsample_limit`` pixels.
        min_score: detections with a lower HOG score are dropped. The default 0.1 drops the weak detections that
            textures give when upsampled (e.g. a 15-px "face" on the flag patch of scikit-image's ``astronaut`` at
            128 px, score 0.04); it also drops some true faces of about 20 px, whose scores run from 0.003 up
            (6 of 59 detections on LFW photos shrunk to 37 px scored below it).
    """

    def __init__(self, max_upsample: int = 2, upsample_limit: int = 2048, min_score: float = 0.1) -> None:
        from srgan_wgan.errors import UserError
        from srgan_wgan.identity import dlib_model_dir

        try:
            import dlib
        except ImportError as exc:
            raise UserError("face detection needs dlib: pip install dlib-bin") from exc
        models = dlib_model_dir()
        if models is None:
            raise UserError("face detection needs dlib's landmark model: pip install face-recognition-models")
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self._dlib = dlib
        self.max_upsample = max_upsample
        self.upsample_limit = upsample_limit
        self.min_score = min_score

    def upsamples(self, h: int, w: int) -> int:
        """How many times dlib upsamples an ``h x w`` image."""
        n = 0
        while n < self.max_upsample and max(h, w) * 2 ** (n + 1) <= self.upsample_limit:
            n += 1
        return n

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces of an ``(H, W, 3)`` uint8 RGB image, largest first."""
        img = np.ascontiguousarray(rgb[..., :3])
        if img.dtype != np.uint8:
            img = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
        rects, scores, _ = self._detector.run(img, self.upsamples(*img.shape[:2]), 0.0)
        faces = []
        for r, s in zip(rects, scores):
            if s < self.min_score:
                continue
            shape = self._shape(img, r)
            pts = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], dtype=np.float64)
            faces.append(Face((r.left(), r.top(), r.right(), r.bottom()), pts, float(s)))
        return sorted(faces, key=lambda f: -f.size)


def align_matrix(landmarks: np.ndarray, crop: int) -> np.ndarray:
    """The ``2 x 3`` similarity transform (rotation, uniform scale, translation) taking ``landmarks`` closest, in the
    least-squares sense (Umeyama), to the template scaled to a ``crop x crop`` square."""
    src = np.asarray(landmarks, np.float64)
    dst = FACE_TEMPLATE * crop
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rot = u @ sign @ vt
    scale = np.trace(np.diag(sig) @ sign) / s.var(0).sum()
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def warp_face(image: np.ndarray, matrix: np.ndarray, crop: int) -> np.ndarray:
    """The aligned ``crop x crop`` face (bicubic; borders reflected so that faces at the image edge stay whole)."""
    return cv2.warpAffine(image, matrix, (crop, crop), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)


def feather_mask(crop: int, margin: float = 0.1) -> np.ndarray:
    """A ``crop x crop`` float mask: 1 in the middle, Gaussian-feathered to 0 over a border of ``margin`` of the side
    (the ramp's sigma is an eighth of the border, so the mask is below 1/1000 at the crop's edge: no seam)."""
    b = max(2, int(round(margin * crop)))
    m = np.zeros((crop, crop), np.float32)
    m[b // 2 : crop - b // 2, b // 2 : crop - b // 2] = 1
    return cv2.GaussianBlur(m, (0, 0), b / 8, borderType=cv2.BORDER_CONSTANT)


def canvas_matrix(matrix: np.ndarray, scale: float) -> np.ndarray:
    """``matrix`` (photo -> aligned crop) as a map from the photo upscaled ``scale`` times to the same crop, pixel
    centres aligned (photo ``p = (q + 0.5) / scale - 0.5`` for canvas ``q``)."""
    m = np.asarray(matrix, np.float64).copy()
    m[:, 2] += m[:, :2] @ np.full(2, 0.5 / scale - 0.5)
    m[:, :2] /= scale
    return m


def landmark_residual(landmarks: np.ndarray, matrix: np.ndarray, crop: int) -> float:
    """RMS distance, in units of the crop side, between the aligned ``landmarks`` and the template: small for a
    frontal face (about 0.01-0.03), large when the landmark fit failed or the face is in profile."""
    pts = np.asarray(landmarks, np.float64) @ matrix[:, :2].T + matrix[:, 2]
    return float(np.sqrt(((pts / crop - FACE_TEMPLATE) ** 2).sum(1).mean()))


def paste_face(canvas: np.ndarray, face: np.ndarray, matrix: np.ndarray, scale: float = 1.0,
               mask: np.ndarray | None = None, inplace: bool = False) -> np.ndarray:
    """Blend the aligned ``face`` (float, ``crop x crop``) into ``canvas`` (``(H, W, 3)``, float in ``[0, 1]`` or
    ``uint8`` / ``uint16``) by the inverse of ``matrix`` (which aligned the face in an image ``scale`` times smaller
    than ``canvas``); returns the blend, in a copy unless ``inplace``. Only the face's footprint is converted to
    float, so an integer canvas of any size costs no float copy."""
    crop = face.shape[0]
    inv = cv2.invertAffineTransform(canvas_matrix(matrix, scale))
    h, w = canvas.shape[:2]
    out = canvas if inplace else canvas.copy()
    # only the crop's footprint on the canvas is warped and blended (the mask is 0 everywhere else)
    corners = np.array([[0, 0], [crop, 0], [0, crop], [crop, crop]], np.float64) @ inv[:, :2].T + inv[:, 2]
    x0, y0 = np.maximum(0, np.floor(corners.min(0)).astype(int) - 2)
    x1, y1 = np.minimum([w, h], np.ceil(corners.max(0)).astype(int) + 2)
    if x1 <= x0 or y1 <= y0:
        return out
    roi = inv.copy()
    roi[:, 2] -= [x0, y0]
    mask = feather_mask(crop) if mask is None else mask
    face = np.clip(face, 0, 1).astype(np.float32)
    size = (int(x1 - x0), int(y1 - y0))
    back = cv2.warpAffine(face, roi, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(mask.astype(np.float32), roi, size, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT)[..., None]
    blend = to_float(out[y0:y1, x0:x1]) * (1 - alpha) + back * alpha
    out[y0:y1, x0:x1] = quantise(blend, out.dtype, inplace=True) if out.dtype.kind in "ui" else blend
    return out
