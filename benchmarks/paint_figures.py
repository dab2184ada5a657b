"""README picture for painting generation: one row per style, generated paintings beside held-out real ones.

    python -m benchmarks.paint_figures --model wikiart-64 --data ../shared/data/paintings/wikiart/images \
        --out docs/images/wikiart_styles.png

Each row: the style name, ``--n`` generated paintings (seed ``--seed``, the same latents in every row, so a
column shows one latent across the styles), a gap, then ``--real`` held-out real paintings of the style (the
file-name-hash split that training never saw). Without ``--data`` only generated paintings are drawn.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from srgan_wgan.apps.paint import PaintGenerator, match_style_folders, split_classes
from srgan_wgan.data.folders import decode_class_folders, scan_class_folders


def to_pil(x: torch.Tensor, size: int) -> Image.Image:
    im = Image.fromarray((x.clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8))
    return im.resize((size, size), Image.Resampling.NEAREST) if im.size[0] != size else im


def style_figure(model: str, out: Path, n: int = 8, seed: int = 0, data: Path | None = None, real: int = 3,
                 holdout: float = 0.1, cell: int = 64) -> None:
    gen = PaintGenerator(model, device="cpu")
    reals: dict[str, torch.Tensor] = {}
    if data is not None and real > 0:
        chosen = match_style_folders(gen.styles, scan_class_folders(data))[0]
        test = decode_class_folders(data, gen.G.config.resolution, split_classes(chosen, holdout)[1])
        for k, s in enumerate(test.class_names):
            reals[s] = test.images[test.labels == k][:real].float() / 255
    label_w, pad, gap = 150, 2, 12
    n_real = max((r.shape[0] for r in reals.values()), default=0)
    width = label_w + n * (cell + pad) + (gap + n_real * (cell + pad) if n_real else 0)
    canvas = Image.new("RGB", (width, len(gen.styles) * (cell + pad) + pad), "white")
    draw = ImageDraw.Draw(canvas)
    for r, style in enumerate(gen.styles):
        y = pad + r * (cell + pad)
        draw.text((4, y + cell // 2 - 6), style.replace("_", " "), fill="black")
        for c, img in enumerate(gen.generate(style, n, seed=seed)):
            canvas.paste(to_pil(img, cell), (label_w + c * (cell + pad), y))
        x0 = label_w + n * (cell + pad) + gap
        for c, img in enumerate(reals.get(style, [])):
            canvas.paste(to_pil(img, cell), (x0 + c * (cell + pad), y))
    canvas.save(out)
    print(f"{out}: rows = styles; {n} generated (seed {seed})" + (f", then {n_real} held-out real" if n_real else ""))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="wikiart-64")
    p.add_argument("--data", type=Path, default=None, help="ImageFolder of the styles, for held-out real paintings")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--real", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    style_figure(args.model, args.out, args.n, args.seed, args.data, args.real)


if __name__ == "__main__":
    main()
