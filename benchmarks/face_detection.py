"""Face detection on the photos users bring: dlib (HOG + 5 landmarks, :class:`srgan_wgan.data.face_align.FaceDetector`)
(what ``sr upscale`` uses) beside the OpenCV Haar pair it used before.

    python -m benchmarks.face_detection --lfw ../shared/data/faces/lfw/images --realworld ../shared/data/realworld \
        --limit 200 --out benchmarks/results/face_detection.json

Sets:

* ``lfw``: the first ``--limit`` LFW test photos (250x250, one centred face each, plus sometimes people behind):
  the share with at least one face found, and the share whose largest face covers the image centre.
* ``realworld``: each photo of ``whole_imgs/`` and ``cropped_faces/``: faces found, their sizes (the side of the
  aligned crop, in photo pixels, for dlib; the box side for Haar) and boxes. No ground truth: judge by eye.
* ``no_faces``: scikit-image's photos without people (``coffee``, ``chelsea``, ``rocket``, ``hubble_deep_field``,
  ``immunohistochemistry``, ``retina``): every face found there is a false positive.

Seconds per photo are reported for both detectors (2-core CPU here).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from srgan_wgan.data.face_align import FaceDetector
from srgan_wgan.data.folders import scan_images
from srgan_wgan.io.images import read_rgb

NO_FACE_PHOTOS = ("coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")


class HaarDetector:
    """The OpenCV Haar pair that ``sr upscale`` used before dlib: a face must be found by both the ``default`` and
    the ``alt2`` frontal cascades (IoU >= 0.3); small photos are searched upscaled (up to 4x, at most ~4 MP)."""

    def __init__(self) -> None:
        import cv2

        self._cv2 = cv2
        self._cascades = [cv2.CascadeClassifier(cv2.data.haarcascades + f"haarcascade_frontalface_{name}.xml")
                          for name in ("default", "alt2")]

    def detect(self, rgb: np.ndarray) -> list[dict[str, Any]]:
        cv2 = self._cv2
        h, w = rgb.shape[:2]
        factor = int(max(1, min(4, (4e6 / max(1, w * h)) ** 0.5)))
        gray = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY)
        if factor > 1:
            gray = cv2.resize(gray, (w * factor, h * factor), interpolation=cv2.INTER_CUBIC)
        gray = cv2.equalizeHist(gray)
        found = [c.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24)) for c in self._cascades]
        faces = []
        for a in found[0]:
            match = [b for b in found[1] if _iou(a, b) >= 0.3]
            if match:
                avg = (np.asarray(a, np.float64) + np.asarray(max(match, key=lambda b: _iou(a, b)), np.float64)) / 2
                x, y, bw, bh = (int(round(v / factor)) for v in avg)
                faces.append({"box": [x, y, x + bw, y + bh], "size": max(bw, bh)})
        return sorted(faces, key=lambda f: -f["size"])


def _iou(a: Any, b: Any) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    ax, ay, aw, ah = (float(v) for v in a)
    bx, by, bw, bh = (float(v) for v in b)
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    return iw * ih / (aw * ah + bw * bh - iw * ih + 1e-9)


def _covers_centre(face: dict[str, Any], shape: tuple[int, ...]) -> bool:
    x0, y0, x1, y1 = face["box"]
    cy, cx = shape[0] / 2, shape[1] / 2
    return x0 <= cx <= x1 and y0 <= cy <= y1


def run(lfw: Path | None, realworld: Path | None, limit: int) -> dict[str, Any]:
    dlib_detector = FaceDetector()
    detectors = {"dlib": lambda im: [f.as_dict() for f in dlib_detector.detect(im)], "haar": HaarDetector().detect}
    result: dict[str, Any] = {"cpu": platform.processor() or platform.machine(), "limit": limit}
    for name, detect in detectors.items():
        res: dict[str, Any] = {}
        if lfw is not None:
            files = scan_images(lfw)[:limit]
            found = centred = 0
            t0 = time.perf_counter()
            for f in files:
                im = np.asarray(read_rgb(f))
                faces = detect(im)
                found += bool(faces)
                centred += bool(faces) and _covers_centre(max(faces, key=lambda d: d["size"]), im.shape)
            res["lfw"] = {"photos": len(files), "with_a_face": found, "largest_face_centred": centred,
                          "found_share": round(found / max(1, len(files)), 4),
                          "sec_per_photo": round((time.perf_counter() - t0) / max(1, len(files)), 3)}
        if realworld is not None:
            photos = {}
            for f in scan_images(realworld):
                im = np.asarray(read_rgb(f))
                t0 = time.perf_counter()
                faces = detect(im)
                photos[f"{f.parent.name}/{f.name}"] = {"size_px": list(im.shape[1::-1]), "faces": faces,
                                                       "sec": round(time.perf_counter() - t0, 3)}
            res["realworld"] = photos
        from skimage import data

        res["no_faces"] = {p: len(detect(getattr(data, p)())) for p in NO_FACE_PHOTOS}
        result[name] = res
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lfw", type=Path, default=None)
    ap.add_argument("--realworld", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/face_detection.json"))
    args = ap.parse_args()
    result = run(args.lfw, args.realworld, args.limit)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for name in ("dlib", "haar"):
        r = result[name]
        line = f"{name}: "
        if "lfw" in r:
            line += f"LFW {r['lfw']['with_a_face']}/{r['lfw']['photos']} with a face ({r['lfw']['sec_per_photo']} s each); "
        if "realworld" in r:
            line += "realworld " + ", ".join(f"{k.split('/')[-1]}: {len(v['faces'])} ({', '.join(str(round(f['size'])) for f in v['faces'])} px)"
                                             for k, v in r["realworld"].items()) + "; "
        line += f"no-face photos: {sum(r['no_faces'].values())} false faces"
        print(line)


if __name__ == "__main__":
    main()
