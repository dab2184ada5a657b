"""Peak memory and time of ``sr upscale`` on large photos at x4: the tiles stream into an 8-bit canvas, so the peak
grows with the output image, not with four float copies of it.

    python -m benchmarks.large_photo_memory --size 1024 --size 4096 --size 8192 \
        --background lanczos --background compact-untrained --out benchmarks/results/large_photo_memory.json

Each run is one ``python -m srgan_wgan sr upscale IN -o OUT --faces off --background B`` process; its peak resident
memory comes from ``os.wait4``. The photo is scikit-image's ``coffee`` resized to ``size`` x ``size`` (PNG).
``compact-untrained`` is a freshly initialised CompactSR of the ``photo-x4`` recipe (64 features, 16 convs): the
same memory and time as trained weights, for as long as no photo-x4 is shipped. ``--faces off``: one photo of a
real face would add the detector (dlib HOG over the whole photo), which is timed by ``benchmarks/upscale_photo``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image


def coffee(size: int, path: Path) -> Path:
    """scikit-image's ``coffee`` at ``size`` x ``size``, saved to ``path``."""
    from skimage import data

    Image.fromarray(data.coffee()).resize((size, size), Image.Resampling.LANCZOS).save(path)
    return path


def untrained_compact(folder: Path) -> Path:
    """A CompactSR release of the photo-x4 shape with fresh weights (what memory and time do not depend on)."""
    import torch

    from srgan_wgan.archs import CompactSR
    from srgan_wgan.io.weights import save_pretrained

    torch.manual_seed(0)
    save_pretrained(CompactSR(scale=4, num_feat=64, num_conv=16), folder / "generator.safetensors",
                    {"scale": 4, "task": "photo_sr"})
    return folder


def measure(photo: Path, out: Path, background: str, max_pixels: int) -> dict[str, Any]:
    """Run one ``sr upscale`` process; its wall time and peak RSS."""
    cmd = [sys.executable, "-m", "srgan_wgan", "sr", "upscale", str(photo), "-o", str(out), "--faces", "off",
           "--background", background, "--force", "--max-pixels", str(max_pixels)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    log = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"sr upscale failed ({proc.returncode}):\n{log}")
    return {"seconds": round(seconds, 1), "peak_rss_gib": round(usage.ru_maxrss * 1024 / 2**30, 2)}


def run(sizes: list[int], backgrounds: list[str], scale: int, suffix: str) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for size in sizes:
            photo = coffee(size, tmp / f"coffee{size}.png")
            for bg in backgrounds:
                name = bg
                if bg == "compact-untrained":
                    bg = str(untrained_compact(tmp / "compact"))
                out = tmp / f"out{size}{suffix}"
                row = {"size": size, "background": name, "output_px": size * scale,
                       "output_8bit_gib": round((size * scale) ** 2 * 3 / 2**30, 2),
                       **measure(photo, out, bg, max_pixels=size * size)}
                out.unlink(missing_ok=True)
                rows.append(row)
                print(f"{size}^2 -> {size * scale}^2, {name}: {row['seconds']} s, peak {row['peak_rss_gib']} GiB "
                      f"(8-bit output {row['output_8bit_gib']} GiB)", flush=True)
    return {"cpu": platform.processor() or platform.machine(), "threads": os.cpu_count(), "scale": scale,
            "output_format": suffix, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, action="append", help="input side in px (repeatable; default 1024, 2048)")
    ap.add_argument("--background", action="append", help="lanczos, compact-untrained or a photo SR release "
                    "(repeatable; default both of the first two)")
    ap.add_argument("--suffix", default=".png", help="output format")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/large_photo_memory.json"))
    args = ap.parse_args()
    result = run(args.size or [1024, 2048], args.background or ["lanczos", "compact-untrained"], 4, args.suffix)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
