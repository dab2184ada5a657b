"""README pictures for face SR: LFW crops (LR | bicubic | model | HR) and a real photo before/after.

    python -m benchmarks.face_sr_figures --model weights/face-x8-fidelity --lfw ../shared/data/faces/lfw/images \
        --out docs/images/lfw_x8.png
    python -m benchmarks.face_sr_figures --model face-x4 --astronaut --out docs/images/astronaut_x4.png
    python -m benchmarks.face_sr_figures --model face-x4 --model face-restore-fidelity \
        --photos ../shared/data/realworld/whole_imgs --out docs/images/realworld_x4.png

LFW faces: the first ``--n`` images in sorted order, centre 128x128 crop (the evaluation protocol). The astronaut
figure uses scikit-image's ``astronaut()`` downscaled to 4x the model's LR size (so the face is small enough to
need SR) and
times ``FaceUpscaler.upscale`` on it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from srgan_wgan.data.faces import bicubic_upscale, load_face_crops, make_lr
from srgan_wgan.data.folders import scan_images
from srgan_wgan.apps.face_sr.inference import FaceUpscaler, resolve_model_path
from srgan_wgan.io.images import ImageData
from srgan_wgan.io.weights import load_pretrained


def to_pil(x: torch.Tensor) -> Image.Image:
    return Image.fromarray((x.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))


def lfw_figure(models: list[str], lfw: Path, out: Path, n: int) -> None:
    Gs = [load_pretrained(resolve_model_path(m)) for m in models]
    s = Gs[0].config.scale
    if any(G.config.scale != s for G in Gs):
        raise SystemExit("all --model entries must have the same scale")
    crops = load_face_crops(scan_images(lfw)[:n], 128, 128 / 250)
    hr = crops.images.float() / 255
    lr = make_lr(hr, s)
    with torch.no_grad():
        srs = [G(lr).clamp(0, 1) for G in Gs]
    cols = [torch.nn.functional.interpolate(lr, scale_factor=s, mode="nearest"), bicubic_upscale(lr, s), *srs, hr]
    pad = 4
    canvas = Image.new("RGB", (len(cols) * (128 + pad) + pad, n * (128 + pad) + pad), "white")
    for r in range(n):
        for c, col in enumerate(cols):
            canvas.paste(to_pil(col[r]), (pad + c * (128 + pad), pad + r * (128 + pad)))
    canvas.save(out)
    print(f"{out}: rows = LFW faces; columns = LR {128 // s}px (nearest), bicubic, {', '.join(models)} (x{s}), "
          "HR 128px")


def astronaut_figure(model: str, out: Path) -> None:
    from skimage import data

    up = FaceUpscaler(model, device="cpu")
    n = 4 * up.lr_size  # small enough that the face needs the model: 128 px for x4, 64 px for x8
    small = Image.fromarray(data.astronaut()).resize((n, n), Image.Resampling.LANCZOS)
    rgb = np.asarray(small, dtype=np.float32) / 255
    t0 = time.perf_counter()
    result, report = up.upscale(ImageData(rgb))
    dt = time.perf_counter() - t0
    s = up.scale
    lanczos = small.resize((n * s, n * s), Image.Resampling.LANCZOS)
    x0, y0, x1, y1 = report.boxes[0] if report.boxes else (n * 3 // 8, n // 8, n * 5 // 8, n * 3 // 8)
    w, h = x1 - x0, y1 - y0
    box = tuple(int(v * s) for v in (x0 - w // 2, y0 - h // 2, x1 + w // 2, y1 + h // 2))
    a = lanczos.crop(box).resize((384, 384), Image.Resampling.NEAREST)
    b = Image.fromarray((result.rgb * 255 + 0.5).astype(np.uint8)).crop(box).resize((384, 384), Image.Resampling.NEAREST)
    canvas = Image.new("RGB", (384 * 2 + 12, 384), "white")
    canvas.paste(a, (0, 0))
    canvas.paste(b, (396, 0))
    canvas.save(out)
    print(f"{out}: face of astronaut() at {n}x{n} upscaled x{s}: Lanczos (left) vs sr upscale (right); "
          f"{report.faces_found} face(s) found, {report.faces_enhanced} super-resolved, {dt:.2f} s on CPU")


def photo_upscaler(model: str, scale: int, background: Any = None) -> FaceUpscaler:
    """``FaceUpscaler`` for ``model`` on CPU: at ``scale`` for a restoration model, at its own scale otherwise
    (read from the weights' header, so the model is loaded once); ``background`` as ``FaceUpscaler`` takes it."""
    from srgan_wgan.io.weights import read_weights_metadata

    own = read_weights_metadata(resolve_model_path(model))["config"]["scale"]
    return FaceUpscaler(model, scale=scale if own == 1 else None, device="cpu", background=background)


def photos_figure(models: list[str], photos: Path, out: Path, scale: int, side: int = 256) -> None:
    """Every face of every photo in ``photos``: the input (nearest), Lanczos, then ``sr upscale`` with each model,
    all at ``scale``; one row per face, the box widened by half its side."""
    from PIL import ImageDraw

    from srgan_wgan.io.images import read_rgb

    ups = [photo_upscaler(m, scale) for m in models]
    rows, lines = [], []
    for f in scan_images(photos):
        im = read_rgb(f)
        rgb = np.asarray(im, dtype=np.float32) / 255
        results, faces = [], None
        for up in ups:
            t0 = time.perf_counter()
            result, report = up.upscale(ImageData(rgb))
            faces = faces if faces is not None else [fa.face for fa in report.faces]
            results.append(Image.fromarray((result.rgb * 255 + 0.5).astype(np.uint8)))
            lines.append(f"{f.name} {Path(str(up.path)).parent.name} x{up.scale}: {report.summary()} "
                         f"({time.perf_counter() - t0:.1f} s)")
        s = ups[0].scale
        lanczos = im.resize((im.width * s, im.height * s), Image.Resampling.LANCZOS)
        for face in faces or []:
            x0, y0, x1, y1 = face.box
            pad = (x1 - x0) // 2
            b = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
            cells = [im.crop(b).resize((side, side), Image.Resampling.NEAREST)]
            cells += [r.crop(tuple(v * s for v in b)).resize((side, side), Image.Resampling.LANCZOS)
                      for r in [lanczos, *results]]
            rows.append(cells)
    names = ["input", "Lanczos"] + [Path(str(up.path)).parent.name for up in ups]
    canvas = Image.new("RGB", (side * len(names), 20 + side * len(rows)), "white")
    draw = ImageDraw.Draw(canvas)
    for i, name in enumerate(names):
        draw.text((side * i + 4, 4), name, fill="black")
    for r, cells in enumerate(rows):
        for i, c in enumerate(cells):
            canvas.paste(c, (side * i, 20 + side * r))
    canvas.save(out)
    print(f"{out}: {len(rows)} faces; columns: {', '.join(names)}")
    print("\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, action="append",
                   help="model name or path; repeat for several columns (LFW figure)")
    p.add_argument("--lfw", type=Path)
    p.add_argument("--astronaut", action="store_true")
    p.add_argument("--photos", type=Path, help="folder of real photos: every face, Lanczos vs each --model")
    p.add_argument("--scale", type=int, default=4, help="output scale of a restoration model (--photos)")
    p.add_argument("--n", type=int, default=6)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    torch.set_grad_enabled(False)
    if args.astronaut:
        astronaut_figure(args.model[0], args.out)
    elif args.photos:
        photos_figure(args.model, args.photos, args.out, args.scale)
    else:
        lfw_figure(args.model, args.lfw, args.out, args.n)


if __name__ == "__main__":
    main()
