"""Every face model under every LR recipe of ``sr eval --degradation``, on the same LFW test faces: the model-card
table of issue 22 (gain over bicubic per recipe, colour shift, dlib identity).

    python -m benchmarks.face_recipes --lfw ../shared/data/faces/lfw/images --limit 300 \
        --model face-x8-fidelity --model face-x8 --model face-x4-fidelity --model face-x4 \
        --model face-restore-fidelity --out benchmarks/results/face_recipes.json

Each row is ``sr eval --data LFW --model M --crop-fraction 0.512 --limit N --degradation R`` (the 128-px centre
crop of the evaluation protocol, resized to the model's size: 128 px, or 192 for face-restore). The markdown table
is printed and written next to the JSON (``.md``).
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path
from typing import Any

from srgan_wgan.apps.face_sr.evaluate import DEGRADATIONS, evaluate_folder

RECIPES = DEGRADATIONS


def markdown(result: dict[str, Any]) -> str:
    """One line per (model, recipe) and its baseline."""
    with_id = any("identity_dist" in r["model"] for m in result["models"] for r in m["degradations"].values())
    head = "| model | LR recipe | PSNR-Y | baseline PSNR-Y | gain (dB) | LPIPS-alex | baseline LPIPS | colour dE | baseline dE"
    head += " | ID dist | baseline ID | same person | baseline same |" if with_id else " |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for m in result["models"]:
        for spec, r in m["degradations"].items():
            a, b = r["model"], r["bicubic"]
            row = (f"| {m['name']} | {spec} | {a['psnr_y']:.2f} | {b['psnr_y']:.2f} | {a['psnr_y'] - b['psnr_y']:+.2f} | "
                   f"{a['lpips_alex']:.4f} | {b['lpips_alex']:.4f} | {a['colour_de']:.2f} | {b['colour_de']:.2f}")
            if with_id:
                row += (f" | {a['identity_dist']:.4f} | {b['identity_dist']:.4f} | {100 * a['identity_match']:.1f} % | "
                        f"{100 * b['identity_match']:.1f} %")
            lines.append(row + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lfw", type=Path, required=True)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--degradation", action="append", default=None, help="default: " + ", ".join(RECIPES))
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--identity", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/face_recipes.json"))
    args = ap.parse_args()
    recipes = tuple(args.degradation or RECIPES)
    result: dict[str, Any] = {"cpu": platform.processor() or platform.machine(), "data": str(args.lfw),
                              "limit": args.limit, "crop_fraction": 0.512, "models": []}
    for m in args.model:
        out = evaluate_folder(args.lfw, m, 0.512, None, "cpu", args.limit, cache_dir=args.cache_dir,
                              identity=args.identity, degradations=recipes)
        result["models"].append({"name": m, "model_path": out["model_path"], "hr_size": out["hr_size"],
                                 "images": out["images"], "identity": out["identity"],
                                 "degradations": out["degradations"]})
        print(f"{m}: done ({out['images']} faces)", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    table = markdown(result)
    args.out.with_suffix(".md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
