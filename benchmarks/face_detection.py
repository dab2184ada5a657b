"""Face detection on the photos users bring: dlib (HOG + 5 landmarks, :class:`srgan_wgan.data.face_align.FaceDetector`)
beside the OpenCV Haar pair that ``sr upscale`` uses today (:meth:`FaceUpscaler.detect_faces`).

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
from srgan_wgan.data.folders import read_rgb, scan_images

NO_FACE_PHOTOS = ("coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina")


class HaarDetector:
    """The detector of ``sr upscale`` today, without loading a model (the cascades only)."""

    def __init__(self) -> None:
        from srgan_wgan.apps.face_sr.inference import FaceUpscaler

        self._impl = FaceUpscaler.__new__(FaceUpscaler)
        self._impl._detector = None

    def detect(self, rgb: np.ndarray) -> list[dict[str, Any]]:
        boxes = self._impl.detect_faces(rgb.astype(np.float32) / 255)
        return [{"box": [int(x), int(y), int(x + w), int(y + h)], "size": int(max(w, h))} for x, y, w, h in boxes]


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
