"""Recompute srgan_wgan.data.face_align.FACE_TEMPLATE: dlib's 5 landmarks averaged over the UTKFace training split.

    python -m datasets.face_template --data ../shared/data/faces/utkface/images [--limit 600]

Prints the mean landmarks as fractions of each (square) face chip and how many chips had exactly one face.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image


def main(argv: list[str] | None = None) -> np.ndarray:
    from srgan_wgan.data.splits import split_by_hash
    from srgan_wgan.data.folders import scan_images
    from srgan_wgan.data.face_align import FaceDetector

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--limit", type=int, default=600, help="use the first N training chips (sorted by name)")
    p.add_argument("--val-fraction", type=float, default=0.05, help="as `sr train` splits the folder")
    args = p.parse_args(argv)
    train, _ = split_by_hash(scan_images(args.data), args.val_fraction)
    det = FaceDetector(max_upsample=0)
    pts, used = [], 0
    for f in sorted(train)[: args.limit]:
        im = np.asarray(Image.open(f).convert("RGB"))
        faces = det.detect(im)
        used += 1
        if len(faces) == 1:
            pts.append(faces[0].landmarks / np.array(im.shape[1::-1], np.float64))
    mean = np.mean(pts, 0)
    print(f"{len(pts)} of {used} training chips with exactly one face")
    print("FACE_TEMPLATE =", np.round(mean, 4).tolist())
    return mean


if __name__ == "__main__":
    main()
