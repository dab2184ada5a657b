"""README pictures for whole-photo SR (issue 23): benchmark crops and a real photo before/after.

    python -m benchmarks.photo_sr_figures --model weights/photo-x4-fidelity \
        --bench ../shared/data/sr_benchmarks/Set14 --out docs/images/set14_x4.png
    python -m benchmarks.photo_sr_figures --model weights/photo-x4-fidelity --faces face-restore-fidelity \
        --photo ../shared/data/realworld/whole_imgs/00.jpg --out docs/images/realworld_photo_x4.png

``--bench``: for the first ``--n`` HR/LR pairs (the given MATLAB-bicubic LR), the ``--crop``-px square of the HR
with the most detail (largest mean gradient) and the same place in: LR (nearest), bicubic, each ``--model``, HR.
``--photo``: one real photo with no ground truth at x4, one row for its most detailed 64-px square and one for
each of its (up to 2) largest faces with a margin: the input (nearest), Lanczos, each ``--model`` as
``sr upscale --faces off --background M``, and with ``--faces`` the last model with faces restored on top
(``sr upscale --background M --faces F``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from srgan_wgan.io.images import ImageData, read_rgb

LABEL = 18
"""Height of the caption strip above each column (px)."""


def _grid(columns: list[str], rows: list[list[Image.Image]], side: int) -> Image.Image:
    canvas = Image.new("RGB", (side * len(columns), LABEL + side * len(rows)), "white")
    draw = ImageDraw.Draw(canvas)
    for i, name in enumerate(columns):
        draw.text((side * i + 4, 3), name, fill="black")
    for r, cells in enumerate(rows):
        for i, c in enumerate(cells):
            f = Image.Resampling.NEAREST if c.width <= side else Image.Resampling.LANCZOS  # no aliasing down
            canvas.paste(c.resize((side, side), f), (side * i, LABEL + side * r))
    return canvas


def _u8(x: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(x, 0, 1) * 255 + 0.5).astype(np.uint8))


def _starts(size: int, crop: int, step: int) -> list[int]:
    """Window starts every ``step`` px, plus the one flush with the far edge."""
    last = max(0, size - crop)
    return sorted(set(range(0, last + 1, step)) | {last})


def detail_box(hr: Image.Image, crop: int, step: int | None = None) -> tuple[int, int, int, int]:
    """The ``crop``-px square of ``hr`` (starts every ``step`` px, default half the crop, and flush with the far
    edges) with the largest mean gradient magnitude."""
    step = max(1, step or crop // 2)
    g = np.asarray(hr.convert("L"), dtype=np.float32)
    mag = np.zeros_like(g)
    mag[:-1] += np.abs(np.diff(g, axis=0))
    mag[:, :-1] += np.abs(np.diff(g, axis=1))
    best, box = -1.0, (0, 0, crop, crop)
    for y in _starts(g.shape[0], crop, step):
        for x in _starts(g.shape[1], crop, step):
            v = float(mag[y:y + crop, x:x + crop].mean())
            if v > best:
                best, box = v, (x, y, x + crop, y + crop)
    return box


def bench_figure(models: list[str], bench: Path, out: Path, n: int, crop: int, side: int) -> None:
    from srgan_wgan.apps.photo_sr import PhotoUpscaler
    from srgan_wgan.apps.photo_sr.evaluate import find_pairs

    ups = [PhotoUpscaler(m, device="cpu", tile=0) for m in models]
    s = ups[0].scale
    rows = []
    for hr_file, lr_file in find_pairs(bench, s)[:n]:
        hr, lr = read_rgb(hr_file), read_rgb(lr_file) if lr_file else None
        hr = hr.crop((0, 0, hr.width // s * s, hr.height // s * s))
        lr = lr if lr is not None else hr.resize((hr.width // s, hr.height // s), Image.Resampling.BICUBIC)
        x0, y0, x1, y1 = detail_box(hr, crop, max(s, crop // 2 // s * s))  # on the LR grid: both crops, one place
        x0, y0 = x0 // s * s, y0 // s * s
        x1, y1 = x0 + crop, y0 + crop
        lbox = (x0 // s, y0 // s, x1 // s, y1 // s)
        rgb = np.asarray(lr, dtype=np.float32) / 255
        cells = [lr.crop(lbox), lr.resize(hr.size, Image.Resampling.BICUBIC).crop((x0, y0, x1, y1))]
        cells += [_u8(up.enhance(rgb)).crop((x0, y0, x1, y1)) for up in ups]
        rows.append(cells + [hr.crop((x0, y0, x1, y1))])
    names = ["LR (nearest)", "bicubic"] + [Path(str(u.path)).parent.name for u in ups] + ["HR"]
    _grid(names, rows, side).save(out)
    print(f"{out}: {len(rows)} images of {bench}; columns: {', '.join(names)}")


def photo_figure(models: list[str], faces: str | None, photo: Path, out: Path, cell: int, max_faces: int = 2
                 ) -> None:
    from srgan_wgan.apps.face_sr.inference import FaceUpscaler
    from srgan_wgan.apps.photo_sr import PhotoUpscaler
    from srgan_wgan.inference.background import upscale_photo

    im = read_rgb(photo)
    rgb = np.asarray(im, dtype=np.float32) / 255
    image = ImageData(rgb)
    ups = [PhotoUpscaler(m, device="cpu") for m in models]
    s = ups[0].scale
    results, names, lines = [], [], []
    for up in ups:
        t0 = time.perf_counter()
        results.append(upscale_photo(image, s, background=up).rgb)
        names.append(Path(str(up.path)).parent.name)
        lines.append(f"{names[-1]}: {time.perf_counter() - t0:.1f} s")
    boxes: list[tuple[int, int, int, int]] = []
    if faces:
        fu = FaceUpscaler(faces, scale=s, device="cpu", background=ups[-1])
        t0 = time.perf_counter()
        result, report = fu.upscale(image)
        lines.append(f"{names[-1]} + {faces}: {report.summary()} ({time.perf_counter() - t0:.1f} s)")
        results.append(result.rgb)
        names.append(f"{names[-1]} + {faces}")
        boxes = sorted(report.boxes, key=lambda b: b[0] - b[2])[:max_faces]  # the largest faces
    crop = 64
    squares = [detail_box(im, crop)]  # the most detailed part of the photo, then each face with a margin
    for x0, y0, x1, y1 in boxes:
        side = int(np.clip(1.5 * max(x1 - x0, y1 - y0), 48, min(im.width, im.height)))
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        left, top = int(np.clip(cx - side // 2, 0, im.width - side)), int(np.clip(cy - side // 2, 0, im.height - side))
        squares.append((left, top, left + side, top + side))
    lanczos = im.resize((im.width * s, im.height * s), Image.Resampling.LANCZOS)
    outs = [lanczos] + [_u8(r) for r in results]
    rows = [[im.crop(b)] + [o.crop(tuple(v * s for v in b)) for o in outs] for b in squares]
    columns = ["input (nearest)", "Lanczos"] + names
    _grid(columns, rows, side=cell).save(out)
    print(f"{out}: {photo.name} x{s}; rows: crops {squares} of the input; columns: {', '.join(columns)}")
    print("\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, action="append", help="photo SR release; repeat for several columns")
    # --crop must be a multiple of the scale (checked below) so that the LR and HR crops show the same place
    p.add_argument("--bench", type=Path, help="a Set5/Set14-style folder (HR/ + LR/, or images)")
    p.add_argument("--photo", type=Path, help="a real photo (no ground truth)")
    p.add_argument("--faces", help="face model restored on top of the last --model (--photo)")
    p.add_argument("--n", type=int, default=4, help="benchmark images (--bench)")
    p.add_argument("--crop", type=int, default=128, help="HR crop side (--bench)")
    p.add_argument("--side", type=int, default=256, help="shown side of each cell")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    import torch

    torch.set_grad_enabled(False)
    if args.bench:
        if args.crop % 8 or args.crop < 16:
            p.error("--crop must be a multiple of 8 (so of the scale), at least 16")
        bench_figure(args.model, args.bench, args.out, args.n, args.crop, args.side)
    elif args.photo:
        photo_figure(args.model, args.faces, args.photo, args.out, args.side)
    else:
        p.error("give --bench or --photo")


if __name__ == "__main__":
    main()
