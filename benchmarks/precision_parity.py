"""Quality parity of bf16 autocast (the CPU and CUDA default) against fp32, for training and for inference.

    python -m benchmarks.precision_parity --suite infer --lfw ../shared/data/faces/lfw/images
    python -m benchmarks.precision_parity --suite train --data ../shared/data/faces/utkface/images \\
        --run-dir /tmp/parity --steps 1000

``infer``: every shipped SR model on the same LFW test faces (the `sr eval` protocol: 128 px HR, centre crop 0.512,
LR by :func:`srgan_wgan.data.faces.make_lr`), once with ``--fp32`` and once with the default precision; reports the
PSNR-Y of each against the HR faces, their difference (target <= 0.02 dB) and the largest pixel difference between
the two outputs, in grey levels of 255 after 8-bit rounding (target <= 2). Then `paint generate` of every shipped
painting model, fixed seeds, every style: LPIPS-alex between the fp32 and the bf16 painting (target <= 0.02).

``train``: the shipped x4 fidelity recipe (``sr train --scale 4 --stage fidelity --batch-size 16 --lr-schedule cosine
--lr-decay-start 1500 --extra-crop-fraction 0.8 --extra-crop-fraction 0.64``) for ``--steps`` steps from seed 0, once
with ``--amp off`` and once with ``--amp bf16``; then `sr eval --split val` of both exports in fp32 (validation
split of the training folder). Target: PSNR-Y within 0.05 dB.

Writes JSON to ``--out`` (default ``benchmarks/results/precision_parity_<suite>.json``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

SR_MODELS = ("face-x4-fidelity", "face-x4", "face-x8-fidelity", "face-x8")
PAINT_MODELS = ("wikiart-64",)


@torch.no_grad()
def _sr_outputs(model: str, hr: torch.Tensor, fp32: bool) -> tuple[torch.Tensor, float]:
    """8-bit-rounded SR outputs of ``model`` (as FaceUpscaler runs it) on the LR of ``hr``, and their PSNR-Y."""
    from srgan_wgan.data.faces import make_lr
    from srgan_wgan.apps.face_sr.inference import FaceUpscaler
    from srgan_wgan.metrics import psnr

    up = FaceUpscaler(model, device="cpu", fp32=fp32, tile=0)
    outs = []
    x = hr.float() / 255
    for i in range(0, x.shape[0], 16):
        lr = make_lr(x[i : i + 16], up.scale)
        for img in lr:
            outs.append(torch.from_numpy(up.enhance(img.permute(1, 2, 0).numpy())).permute(2, 0, 1))
    out = (torch.stack(outs) * 255).round() / 255
    return out, float(psnr(out, x, shave=up.scale, y_channel=True).mean())


def infer_parity(lfw: Path, n_faces: int, n_paint: int) -> dict[str, Any]:
    from srgan_wgan.data.faces import load_face_crops
    from srgan_wgan.data.folders import scan_images
    from srgan_wgan.losses.perceptual import LPIPS
    from srgan_wgan.apps.paint import PaintGenerator

    crops = load_face_crops(scan_images(lfw)[:n_faces], 128, 0.512)
    rows: list[dict[str, Any]] = []
    for model in SR_MODELS:
        t0 = time.perf_counter()
        ref, p32 = _sr_outputs(model, crops.images, fp32=True)
        t1 = time.perf_counter()
        out, p16 = _sr_outputs(model, crops.images, fp32=False)
        t2 = time.perf_counter()
        diff = (out - ref).abs() * 255
        row = {"model": model, "faces": int(crops.images.shape[0]), "psnr_y_fp32": p32, "psnr_y_default": p16,
               "delta_db": p16 - p32, "max_diff_grey_levels": float(diff.max()),
               "mean_diff_grey_levels": float(diff.mean()), "s_fp32": t1 - t0, "s_default": t2 - t1,
               "pass": abs(p16 - p32) <= 0.02 and float(diff.max()) <= 2.0}
        rows.append(row)
        print(f"{model:18s} PSNR-Y fp32 {p32:.3f} default {p16:.3f} ({p16 - p32:+.3f} dB), max diff "
              f"{row['max_diff_grey_levels']:.0f}/255, {row['s_fp32']:.1f} s -> {row['s_default']:.1f} s", flush=True)
    lp = LPIPS("alex")
    paint = []
    for model in PAINT_MODELS:
        g32, g16 = PaintGenerator(model, "cpu", fp32=True), PaintGenerator(model, "cpu")
        per_style = {}
        for style in g32.styles:
            a, b = g32.generate(style, n=n_paint, seed=0), g16.generate(style, n=n_paint, seed=0)
            d = lp(a, b)
            per_style[style] = {"lpips_mean": float(d.mean()), "lpips_max": float(d.max()),
                                "max_diff_grey_levels": float(((a - b).abs() * 255).max())}
        worst = max(v["lpips_max"] for v in per_style.values())
        mean = float(np.mean([v["lpips_mean"] for v in per_style.values()]))
        paint.append({"model": model, "precision": g16.precision.name, "n_per_style": n_paint,
                      "lpips_mean": mean, "lpips_max": worst, "per_style": per_style, "pass": mean <= 0.02})
        print(f"{model}: LPIPS fp32 vs {g16.precision.name}: mean {mean:.4f}, worst painting {worst:.4f}", flush=True)
    return {"sr": rows, "paint": paint}


def _sr(*args: str) -> None:
    cmd = [sys.executable, "-m", "srgan_wgan", "sr", *args]
    print("$", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True)


def train_parity(data: Path, run_dir: Path, steps: int, cache_dir: Path | None) -> dict[str, Any]:
    recipe = ["--scale", "4", "--stage", "fidelity", "--batch-size", "16", "--lr-schedule", "cosine",
              "--lr-decay-start", "1500", "--extra-crop-fraction", "0.8", "--extra-crop-fraction", "0.64",
              "--steps", str(steps), "--checkpoint-every", "250", "--sample-every", str(steps), "--device", "cpu"]
    if cache_dir is not None:
        recipe += ["--cache-dir", str(cache_dir)]
    out: dict[str, Any] = {"steps": steps, "recipe": recipe}
    for amp in ("off", "bf16"):
        run = run_dir / f"amp_{amp}"
        t0 = time.perf_counter()
        _sr("train", "--data", str(data), "--run-dir", str(run), "--amp", amp,
            *(["--resume"] if (run / "resume.pt").exists() else []), *recipe)
        wall = time.perf_counter() - t0
        _sr("export", "--run-dir", str(run), "--out", str(run / "release"), "--force")
        ev = run / "eval_val.json"
        _sr("eval", "--data", str(data), "--model", str(run / "release"), "--split", "val", "--crop-fraction", "0.64",
            "--no-identity", "--fp32", "--json", str(ev), "--device", "cpu",
            *(["--cache-dir", str(cache_dir)] if cache_dir else []))
        out[amp] = {"wall_s": wall, "eval": json.loads(ev.read_text())}
    p = {k: out[k]["eval"]["model"]["psnr_y"] for k in ("off", "bf16")}
    out["delta_psnr_y_db"] = p["bf16"] - p["off"]
    out["pass"] = abs(out["delta_psnr_y_db"]) <= 0.05
    print(f"val PSNR-Y fp32 {p['off']:.3f} bf16 {p['bf16']:.3f} ({out['delta_psnr_y_db']:+.3f} dB)", flush=True)
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", choices=["infer", "train"], required=True)
    ap.add_argument("--lfw", type=Path, help="LFW test faces (infer)")
    ap.add_argument("--faces", type=int, default=64, help="LFW faces (infer)")
    ap.add_argument("--paintings", type=int, default=16, help="paintings per style (infer)")
    ap.add_argument("--data", type=Path, help="UTKFace training folder (train)")
    ap.add_argument("--run-dir", type=Path, default=Path("/tmp/srgan_parity"))
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--cache-dir", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    import platform

    from srgan_wgan.utils.precision import cpu_bf16_support
    from srgan_wgan.version import __version__

    if args.suite == "infer":
        if args.lfw is None:
            ap.error("--lfw is required for --suite infer")
        result = infer_parity(args.lfw, args.faces, args.paintings)
    else:
        if args.data is None:
            ap.error("--data is required for --suite train")
        result = train_parity(args.data, args.run_dir, args.steps, args.cache_dir)
    result["meta"] = {"version": __version__, "torch": torch.__version__, "cpu": platform.processor(),
                      "cpu_bf16": cpu_bf16_support()[1], "threads": torch.get_num_threads()}
    out = args.out or Path(__file__).parent / "results" / f"precision_parity_{args.suite}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
