"""WGAN (weight clipping + RMSProp) vs WGAN-GP vs R1 on the digits benchmark, same budget; prints the README table.

    python -m benchmarks.penalties                      # gp, clip, r1 x seeds 0 1 2, 300 steps each, CPU
    python -m benchmarks.penalties --steps 50 --seeds 0 # smoke run
    python -m benchmarks.penalties --seeds 0 --figure-dir docs/images   # the README's sample grids

Each run: class-conditional WGAN on scikit-learn's digits (16x16), n_critic 5, batch 64; the score is the share of
1,000 generated digits (100 per class) that an RBF SVM trained on real digits assigns to the requested class.
Writes ``benchmarks/results/penalties.json`` (or ``--out``) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
from pathlib import Path

import torch

from srgan_wgan.apps.digits import DigitsExperiment, DigitsJudge, run_digits
from srgan_wgan.version import __version__


def combine_grids(paths: list[Path], out: Path, gap: int = 12) -> None:
    """Put sample grids side by side (white gap) in one PNG."""
    from PIL import Image

    images = [Image.open(p).convert("RGB") for p in paths]
    canvas = Image.new("RGB", (sum(i.width for i in images) + gap * (len(images) - 1), max(i.height for i in images)),
                       "white")
    x = 0
    for im in images:
        canvas.paste(im, (x, 0))
        x += im.width + gap
    canvas.save(out)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--penalties", nargs="+", default=["gp", "clip", "r1"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=DigitsExperiment.steps)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "penalties.json")
    parser.add_argument("--figure-dir", type=Path, default=None,
                        help="save a sample grid (rows = digits 0-9) of each penalty's first seed here")
    args = parser.parse_args(argv)

    judge = DigitsJudge()
    rows = []
    for penalty in args.penalties:
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as run_dir:
                grid = args.figure_dir / f"digits_{penalty}.png" if args.figure_dir and seed == args.seeds[0] else None
                row = run_digits(DigitsExperiment(penalty=penalty, seed=seed, steps=args.steps), run_dir, judge, grid)
            rows.append(row)
            print(f"{penalty:5s} seed {seed}: accuracy {row['accuracy']:.3f}  wall {row['wall_s']:.0f} s", flush=True)

    print(f"\nDigits 16x16, {args.steps} generator steps, n_critic 5, batch 64, CPU "
          f"({torch.get_num_threads()} threads), judge accuracy on real held-out digits {judge.real_accuracy:.3f}\n")
    print("| penalty | optimiser (lr) | seeds | steps | class accuracy (EMA G), mean [min, max] | wall time per run (s) |")
    print("|---|---|---|---|---|---|")
    for penalty in args.penalties:
        rs = [r for r in rows if r["penalty"] == penalty]
        accs = [r["accuracy"] for r in rs]
        walls = [r["wall_s"] for r in rs]
        print(f"| {penalty} | {rs[0]['optimizer']} ({rs[0]['lr']:g}) | {', '.join(str(r['seed']) for r in rs)} | "
              f"{args.steps} | {statistics.mean(accs):.3f} [{min(accs):.3f}, {max(accs):.3f}] | "
              f"{statistics.mean(walls):.0f} |")
    if args.figure_dir:
        combine_grids([args.figure_dir / f"digits_{p}.png" for p in args.penalties],
                      args.figure_dir / "digits_comparison.png")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"version": __version__, "torch": torch.__version__, "platform": platform.platform(),
            "threads": torch.get_num_threads(), "judge_real_accuracy": judge.real_accuracy}
    args.out.write_text(json.dumps({"meta": meta, "runs": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main()
