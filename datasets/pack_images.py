"""Pack an image folder tree into small square images (same sub-folders, names and formats), e.g. to carry WikiArt to a
GPU machine whose upload is limited:

    python datasets/pack_images.py --src ../shared/data/paintings/wikiart/images --dst data/wikiart64 --size 64

Every image is centre-cropped to its largest square and resized with Lanczos, as ``paint train`` does when it
decodes a folder, so training on the packed copy at ``--size`` sees the same pixels up to JPEG rounding
(JPEG quality 95 by default). Unreadable files are skipped and counted. The held-out split is a hash of the
file name, which packing keeps, so ``paint eval`` holds out the same paintings from either copy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def pack(src: Path, dst: Path, size: int, quality: int = 95) -> tuple[int, int]:
    """Write the packed copy; returns (written, skipped)."""
    written = skipped = 0
    for f in sorted(p for p in src.rglob("*") if p.suffix.lower() in EXTS):
        out = dst / f.relative_to(src)  # same name: the held-out split hashes the file name
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            with Image.open(f) as im:
                im = im.convert("RGB")
                s = min(im.size)
                left, top = (im.size[0] - s) // 2, (im.size[1] - s) // 2
                im = im.crop((left, top, left + s, top + s)).resize((size, size), Image.Resampling.LANCZOS)
                im.save(out, quality=quality)  # JPEG/WebP quality; PNG/BMP stay lossless
            written += 1
        except OSError as exc:
            print(f"skipped {f}: {exc}", file=sys.stderr)
            skipped += 1
    return written, skipped


def main() -> None:
    p = argparse.ArgumentParser(description="Pack an image folder tree into small square images.")
    p.add_argument("--src", type=Path, required=True)
    p.add_argument("--dst", type=Path, required=True)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--quality", type=int, default=95)
    a = p.parse_args()
    if a.dst.exists() and any(a.dst.iterdir()):
        raise SystemExit(f"error: {a.dst} is not empty")
    n, bad = pack(a.src, a.dst, a.size, a.quality)
    print(f"{n} images written to {a.dst} ({bad} skipped)")


if __name__ == "__main__":
    main()
