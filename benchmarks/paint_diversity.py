"""Quick within-style diversity of painting models while they train: generated paintings only, no FID, no probe.

    python -m benchmarks.paint_diversity runs/x/export_200 runs/x/export_400 [--n-per-style 50] [--real-div 0.543]

For each model: ``--n-per-style`` paintings of every style (seed ``--seed``), the mean pairwise LPIPS-alex within
each style, averaged over styles. The samples, pairs and seeds are those of ``paint eval --n-per-style N --seed S``,
so the figure equals its ``lpips_div_generated`` (a few seconds per model instead of the probe fit that dominates
``paint eval``); ``--real-div`` (e.g. the real validation paintings' 0.543 from ``paint eval --split val``) adds the
ratio. A monitor for choosing which checkpoints to evaluate, not a replacement for ``paint eval``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from srgan_wgan.apps.paint import PaintGenerator
from srgan_wgan.gan_metrics import lpips_diversity
from srgan_wgan.losses.perceptual import LPIPS


@torch.no_grad()
def within_style_diversity(model: str, n_per_style: int = 50, seed: int = 0, device: str = "cpu",
                           lpips: torch.nn.Module | None = None) -> dict[str, float]:
    """Mean pairwise LPIPS of ``n_per_style`` generated paintings per style: ``{style: value}`` plus ``"mean"``."""
    gen = PaintGenerator(model, device)
    lp = lpips if lpips is not None else LPIPS("alex").to(gen.device)
    out = {s: lpips_diversity(gen.generate(s, n_per_style, seed=seed), lp, device=gen.device) for s in gen.styles}
    out["mean"] = float(np.mean(list(out.values())))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", help="model names or weights folders")
    p.add_argument("--n-per-style", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--real-div", type=float, default=None, help="real paintings' within-style diversity")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    lp = LPIPS("alex").to(args.device)
    for m in args.models:
        d = within_style_diversity(m, args.n_per_style, args.seed, args.device, lp)["mean"]
        ratio = f" ({d / args.real_div:.2f}x real)" if args.real_div else ""
        print(f"{m}: within-style LPIPS diversity {d:.3f}{ratio}", flush=True)


if __name__ == "__main__":
    main()
