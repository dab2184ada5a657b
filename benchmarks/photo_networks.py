"""CPU cost of the candidate whole-photo SR networks (issue 23): one ``sr train --task photo`` fidelity step and one
tile of inference, per network, on this machine's default precision (bf16 where the CPU has it).

    python -m benchmarks.photo_networks --out benchmarks/results/photo_networks.json

Quality per network comes from training each (``sr train --task photo --arch A``) and ``sr eval --task photo``
on Set14; this script gives the milliseconds side of "PSNR per CPU-millisecond". Photos are synthetic (the cost
does not depend on the pixels).
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


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--tile", type=int, default=256, help="LR tile side for the inference timing")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = [bench(n, kw, args.steps, args.tile, Path("/tmp/srgan_photo_bench")) for n, kw in NETWORKS.items()]
    for r in rows:
        print(f"{r['network']:16s} {r['params'] / 1e6:5.2f} M params  train step {r['train_step_ms']:6.0f} ms "
              f"(batch 16, 128 px, {r['train_precision']})  {r['tile']}px tile x4 {r['tile_ms']:6.0f} ms")
    if args.out:
        args.out.write_text(json.dumps({"cpu": platform.processor() or platform.machine(),
                                        "threads": torch.get_num_threads(), "rows": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main()
