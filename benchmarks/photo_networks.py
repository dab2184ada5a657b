"""CPU cost of the candidate whole-photo SR networks (issue 23): one ``sr train --task photo`` fidelity step and one
tile of inference, per network, on this machine's default precision (bf16 where the CPU has it).

    python -m benchmarks.photo_networks --out benchmarks/results/photo_networks.json

Photos are synthetic for the timing (the cost does not depend on the pixels). With ``--quality-steps N`` each
network is also trained for N steps of the ``configs/photo-x4-fidelity.toml`` recipe (same seed, data, batch, patch
size and learning rate, held constant; read from ``--recipe``) and scored on every ``--bench`` folder (PSNR-Y of its
EMA generator, border shaved; the given LR), so the comparison is at an equal step budget; the gain over bicubic is divided by the tile time:

    python -m benchmarks.photo_networks --quality-steps 3000 --data ../shared/data/photos/images \
        --bench ../shared/data/sr_benchmarks/Set14 --bench ../shared/data/sr_benchmarks/Set5 \
        --cache-dir CACHE --out benchmarks/results/photo_networks.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import torch

NETWORKS: dict[str, dict[str, Any]] = {
    "compact 64x16": {"arch": "compact", "num_feat": 64, "num_conv": 16},
    "compact 48x12": {"arch": "compact", "num_feat": 48, "num_conv": 12},
    "srresnet 64x12": {"arch": "srresnet", "num_feat": 64, "num_blocks": 12},
}


def bench(name: str, kw: dict[str, Any], steps: int, tile: int, tmp: Path) -> dict[str, Any]:
    from srgan_wgan.apps.photo_sr import PhotoExperiment
    from srgan_wgan.apps.photo_sr.data import Photos
    from srgan_wgan.inference.tiling import run_image_model
    from srgan_wgan.training import GANTrainConfig
    from srgan_wgan.utils.precision import default_channels_last, inference_precision

    g = torch.Generator().manual_seed(0)
    photos = Photos([torch.randint(0, 256, (3, 300, 400), generator=g, dtype=torch.uint8) for _ in range(20)],
                    [str(i) for i in range(20)])
    cfg = GANTrainConfig(steps=10**6, batch_size=16, n_critic=0, lr_g=2e-4, betas=(0.9, 0.99), ema_decay=0.999,
                         device="cpu", log_every=10**6, sample_every=10**6, checkpoint_every=10**6)
    tr = PhotoExperiment(data="-", hr_size=128, train=cfg, **kw).build(tmp / name.replace(" ", "_"),
                                                                       data=(photos, None), tensorboard=False)
    batches = tr._batches()
    for _ in range(3):
        tr.train_step(batches)
    t0 = time.perf_counter()
    for _ in range(steps):
        tr.train_step(batches)
    step_ms = (time.perf_counter() - t0) / steps * 1000
    G = tr.G.eval()
    dev = torch.device("cpu")
    precision, cl = inference_precision(dev), default_channels_last(dev)
    if cl:
        G = G.to(memory_format=torch.channels_last)
    x = torch.rand(tile, tile, 3).numpy()
    run_image_model(G, x, dev, precision, cl)
    t0 = time.perf_counter()
    for _ in range(3):
        run_image_model(G, x, dev, precision, cl)
    tile_ms = (time.perf_counter() - t0) / 3 * 1000
    return {"network": name, **kw, "params": sum(p.numel() for p in G.parameters()), "train_step_ms": step_ms,
            "tile_ms": tile_ms, "tile": tile, "precision": precision.name, "train_precision": tr.precision.name}


def bench_key(folder: Path) -> str:
    """``Set14`` for ``.../Set14`` and for ``.../Set14/x4`` (the name of a scale folder's parent)."""
    return folder.parent.name if folder.name.startswith("x") and folder.name[1:].isdigit() else folder.name


def recipe_settings(recipe: Path) -> dict[str, Any]:
    """Batch, learning rate, patch size and patches per photo of a photo recipe file (the rest is the network)."""
    import tomllib

    doc = tomllib.loads(recipe.read_text())
    return {"batch_size": int(doc.get("batch-size", 16)), "lr": float(doc.get("lr", 5e-4)),
            "hr_size": int(doc.get("hr-size", 128)), "patches_per_photo": int(doc.get("patches-per-photo", 16))}


def quality(name: str, kw: dict[str, Any], steps: int, data: Path, benches: list[Path], tmp: Path,
            cache_dir: Path | None, recipe: dict[str, Any]) -> dict[str, Any]:
    """Train ``name`` for ``steps`` fidelity steps on ``data`` with the settings of ``recipe`` (its learning rate
    held constant, seed 0) and score it on each folder of ``benches`` with its EMA generator:
    ``{bench: {"psnr_y", "bicubic_psnr_y"}}``."""
    from srgan_wgan.apps.photo_sr import PhotoExperiment
    from srgan_wgan.apps.photo_sr.evaluate import evaluate_photo_folder
    from srgan_wgan.training import GANTrainConfig

    cfg = GANTrainConfig(steps=steps, batch_size=recipe["batch_size"], n_critic=0, lr_g=recipe["lr"],
                         betas=(0.9, 0.99), ema_decay=0.999, device="cpu", log_every=max(1, steps // 10),
                         sample_every=10**9, checkpoint_every=10**9)
    t0 = time.perf_counter()
    tr = PhotoExperiment(data=str(data), hr_size=recipe["hr_size"], patches_per_photo=recipe["patches_per_photo"],
                         train=cfg, cache_dir=str(cache_dir) if cache_dir else None, **kw).build(
        tmp / f"q_{name.replace(' ', '_')}", tensorboard=False)
    tr.fit(steps, resume=False)
    out: dict[str, Any] = {"quality_steps": steps, "train_minutes": round((time.perf_counter() - t0) / 60, 1)}
    G = (tr.G_ema or tr.G).eval()  # the EMA generator, as sr train releases it
    for b in benches:
        r = evaluate_photo_folder(b, G, device="cpu", lpips=False)["mean"]
        out[bench_key(b)] = {"psnr_y": round(r["model_psnr_y"], 3), "bicubic_psnr_y": round(r["bicubic_psnr_y"], 3)}
    return out


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--tile", type=int, default=256, help="LR tile side for the inference timing")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--quality-steps", type=int, default=0, help="also train each network this long and score it")
    parser.add_argument("--data", type=Path, help="training photos (--quality-steps)")
    parser.add_argument("--bench", type=Path, action="append", default=[], help="scoring folder (Set14, Set5)")
    parser.add_argument("--cache-dir", type=Path)
    parser.add_argument("--recipe", type=Path, default=Path("configs/photo-x4-fidelity.toml"),
                        help="batch, lr, patch size and patches per photo for --quality-steps")
    parser.add_argument("--network", action="append", choices=list(NETWORKS), help="only these (default: all)")
    args = parser.parse_args(argv)
    if args.quality_steps and not (args.data and args.bench):
        parser.error("--quality-steps needs --data and --bench")
    tmp = Path("/tmp/srgan_photo_bench")
    names = args.network or list(NETWORKS)
    rows = [bench(n, NETWORKS[n], args.steps, args.tile, tmp) for n in names]
    for r in rows if args.quality_steps else []:
        r.update(quality(r["network"], NETWORKS[r["network"]], args.quality_steps, args.data, args.bench, tmp,
                         args.cache_dir, recipe_settings(args.recipe)))
        for b in args.bench:
            q = r[bench_key(b)]
            q["gain_db_per_tile_ms"] = round((q["psnr_y"] - q["bicubic_psnr_y"]) / r["tile_ms"], 5)
            print(f"{r['network']:16s} {b.name}: PSNR-Y {q['psnr_y']:.2f} (bicubic {q['bicubic_psnr_y']:.2f}) after "
                  f"{args.quality_steps} steps; {q['gain_db_per_tile_ms'] * 1000:.2f} dB per tile-second", flush=True)
    for r in rows:
        print(f"{r['network']:16s} {r['params'] / 1e6:5.2f} M params  train step {r['train_step_ms']:6.0f} ms "
              f"(batch 16, 128 px, {r['train_precision']})  {r['tile']}px tile x4 {r['tile_ms']:6.0f} ms")
    if args.out:
        args.out.write_text(json.dumps({"cpu": platform.processor() or platform.machine(),
                                        "threads": torch.get_num_threads(), "rows": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main()
