"""Time ``sr upscale`` on a 1024x1024 photo with 4 faces at x4 (issue target: <= 30 s on the 2-core CPU).

    python -m benchmarks.upscale_photo --lfw ../shared/data/faces/lfw/images --model face-x4 \
        --model face-restore-fidelity --out benchmarks/results/upscale_photo.json

The photo: scikit-image's ``coffee`` (no face) resized to 1024x1024, with the first 4 LFW test photos pasted in at
sizes from 150 to 300 px (faces of about 60 to 120 px), so there are 4 real faces on a real background. Each model
runs as ``sr upscale`` runs it (bf16 where the CPU has it; Lanczos background, or ``--background RELEASE``, a photo
SR model as ``sr upscale --background``; the canvas in 8 bits, as ``sr upscale``); peak RSS is the process's
so far (run one ``--model`` per process for each model's own peak). The time covers detection,
alignment, the network, paste-back and the background, best of ``--repeat`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from benchmarks.face_sr_figures import photo_upscaler
from srgan_wgan.data.folders import scan_images
from srgan_wgan.io.images import read_rgb
from srgan_wgan.io.images import ImageData

FACE_SIDES = (150, 200, 250, 300)
"""Pasted LFW photo sides (px): the face is about 40 % of an LFW photo."""


def group_photo(lfw: Path, size: int = 1024) -> np.ndarray:
    """``coffee`` at ``size`` x ``size`` with 4 LFW photos pasted in a row; float RGB."""
    from skimage import data

    canvas = Image.fromarray(data.coffee()).resize((size, size), Image.Resampling.LANCZOS)
    x = 20
    for f, side in zip(scan_images(lfw)[: len(FACE_SIDES)], FACE_SIDES):
        canvas.paste(read_rgb(f).resize((side, side), Image.Resampling.LANCZOS), (x, size // 2 - side // 2))
        x += side + 20
    return np.asarray(canvas, np.float32) / 255


def run(lfw: Path, models: list[str], scale: int, repeat: int, background: str = "lanczos") -> dict[str, Any]:
    import resource

    photo = ImageData(group_photo(lfw))
    bg = None
    if background != "lanczos":
        from srgan_wgan.apps.photo_sr import PhotoUpscaler

        bg = PhotoUpscaler(background, device="cpu")
    rows = []
    for m in models:
        up = photo_upscaler(m, scale, background=bg)
        _, report = up.upscale(photo, integer=True)  # warm-up (detector and model load); as sr upscale runs
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            up.upscale(photo, integer=True)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        up.detect_faces(photo.rgb)
        detect = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB; the process so far
        rows.append({"model": m, "background": background, "peak_rss_gib": round(peak, 2), "scale": up.scale,
                     "precision": up.precision.name, "seconds": round(min(times), 2),
                     "detection_seconds": round(detect, 2), "summary": report.summary(),
                     "faces": [f.as_dict() for f in report.faces]})
        print(f"{m} x{up.scale} on {background}: {min(times):.2f} s ({detect:.2f} s detection), peak RSS "
              f"{peak:.2f} GiB - {report.summary()}", flush=True)
    return {"cpu": platform.processor() or platform.machine(), "photo_px": list(photo.rgb.shape[1::-1]),
            "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", type=Path, required=True)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--scale", type=int, default=4, help="output scale of a restoration model")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--background", default="lanczos", help="lanczos, or a photo SR release (sr upscale --background)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/upscale_photo.json"))
    args = ap.parse_args()
    result = run(args.lfw, args.model, args.scale, args.repeat, args.background)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
