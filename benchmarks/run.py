"""Training and inference speed, side by side with a plain baseline (the way the peers train).

    python -m benchmarks.run --suite train --device cuda            # face SR GAN step: baseline vs ours vs each option
    python -m benchmarks.run --suite infer --device cpu             # sr upscale and paint generate throughput
    python -m benchmarks.run --suite train --device cpu --smoke     # seconds; what CI runs to keep this working

Train suite (shipped face SR x4 GAN config: batch 16, 128 px, L1 + VGG16 + LPIPS + WGAN-GP critic, n_critic 1):
``baseline`` = fp32, eager, contiguous tensors, non-fused Adam, gradient penalty every critic step; ``default`` =
what ``sr train`` does on this device; then each optimisation alone on top of the baseline. Reports images/s,
ms per generator step (critic steps included), peak memory, FLOPs per step (without the penalty's double
backward, which PyTorch's FLOP counter cannot follow) and the achieved TFLOP/s derived from it (a lower bound).
Ratios are to the baseline measured in the same run. Synthetic data (random HR crops) so that data loading is not
measured; the VGG/LPIPS backbones are the real ones when found, random weights otherwise (same cost).
Writes JSON to ``--out`` (default ``benchmarks/results/<suite>_<device>.json``).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from srgan_wgan.version import __version__

BF16_PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}  # dense bf16 tensor-core peaks


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_mem_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _train_variants(device: torch.device) -> dict[str, dict[str, Any]]:
    base = {"amp": "off", "channels_last": False, "fused_optimizer": False, "compile_generator": False,
            "penalty_every": 1}
    cuda = device.type == "cuda"
    default = {"amp": "auto", "channels_last": cuda, "fused_optimizer": None, "compile_generator": False,
               "penalty_every": 1}
    variants = {"baseline": base, "default": default}
    if cuda:
        variants["bf16 autocast"] = {**base, "amp": "bf16"}
        variants["channels_last"] = {**base, "channels_last": True}
        variants["fused Adam"] = {**base, "fused_optimizer": True}
        variants["compile G"] = {**base, "compile_generator": True}
    variants["lazy penalty k=4"] = {**base, "penalty_every": 4}
    return variants


def bench_train(device: torch.device, steps: int, warmup: int, batch: int, hr: int, scale: int,
                smoke: bool) -> list[dict[str, Any]]:
    from srgan_wgan.apps.face_sr import SRExperiment, SRLossWeights
    from srgan_wgan.data.faces import FaceCrops
    from srgan_wgan.training import GANTrainConfig

    g = torch.Generator().manual_seed(0)
    n = max(batch * 4, 32)
    crops = FaceCrops(torch.randint(0, 256, (n, 3, hr, hr), generator=g, dtype=torch.uint8), [f"{i}" for i in range(n)])
    rows = []
    for name, opts in _train_variants(device).items():
        cfg = GANTrainConfig(steps=warmup + steps, batch_size=batch, n_critic=1, adv_weight=0.005, lr_g=1e-4,
                             lr_d=1e-4, device=str(device), log_every=10**6, sample_every=10**6,
                             checkpoint_every=10**6, **opts)
        exp = SRExperiment(data="-", scale=scale, stage="gan", hr_size=hr, train=cfg,
                           num_feat=16 if smoke else 64, num_blocks=1 if smoke else 12,
                           critic_channels=8 if smoke else 64,
                           losses=SRLossWeights(1.0, 0.1, 0.1))
        trainer = exp.build(Path("/tmp") / f"srgan_bench_{name.replace(' ', '_')}", data=(crops, None),
                            tensorboard=False)
        batches = trainer._batches()
        for _ in range(warmup):
            trainer.train_step(batches)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        flops = _flops_of_step(trainer, batches) if name == "baseline" else None
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(steps):
            trainer.train_step(batches)
        _sync(device)
        dt = (time.perf_counter() - t0) / steps
        rows.append({"variant": name, "options": opts, "ms_per_step": dt * 1000, "images_per_s": batch / dt,
                     "peak_mem_mb": _peak_mem_mb(device), "flops_per_step": flops})
        print(f"{name:18s} {dt * 1000:8.1f} ms/step {batch / dt:8.1f} img/s", flush=True)
    base = rows[0]
    for r in rows:
        r["speedup_vs_baseline"] = base["ms_per_step"] / r["ms_per_step"]
        if base["flops_per_step"]:
            r["achieved_tflops"] = base["flops_per_step"] / (r["ms_per_step"] / 1000) / 1e12
    return rows


def _flops_of_step(trainer: Any, batches: Any) -> float | None:
    """FLOPs of one training step without the gradient penalty (PyTorch's FLOP counter cannot follow
    ``autograd.grad``), so the achieved TFLOP/s derived from it is a lower bound."""
    from torch.utils.flop_counter import FlopCounterMode

    every, iters = trainer.config.penalty_every, trainer.critic_iters
    trainer.config.penalty_every, trainer.critic_iters = 10**9, 1
    try:
        with FlopCounterMode(display=False) as fc:
            trainer.train_step(batches)
        return float(fc.get_total_flops())
    except Exception as exc:  # noqa: BLE001 - report nothing rather than a wrong number
        print(f"FLOP count unavailable: {type(exc).__name__}: {exc}"[:200], flush=True)
        return None
    finally:
        trainer.config.penalty_every, trainer.critic_iters = every, iters + 1


def bench_infer(device: torch.device, smoke: bool) -> list[dict[str, Any]]:
    import numpy as np

    from srgan_wgan.archs import CondGenerator, SRResNet
    from srgan_wgan.inference import FaceUpscaler
    from srgan_wgan.io.images import ImageData
    from srgan_wgan.io.weights import save_pretrained

    tmp = Path("/tmp/srgan_bench_weights")
    torch.manual_seed(0)
    save_pretrained(SRResNet(scale=4, num_feat=16 if smoke else 64, num_blocks=1 if smoke else 12),
                    tmp / "sr" / "generator.safetensors", {"scale": 4, "hr_size": 128})
    rows = []
    sizes = [64] if smoke else [128, 256, 512, 1024]
    for aligned in (True, False):
        for size in sizes:
            for tile in ([0] if not aligned else [0, 128]):
                up = FaceUpscaler(tmp / "sr", device=str(device), tile=tile)
                img = ImageData(np.random.default_rng(0).random((size, size, 3), dtype=np.float32))
                up.upscale(img, aligned=aligned)
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                _sync(device)
                t0 = time.perf_counter()
                reps = 1 if (size >= 512 and device.type == "cpu") else 3
                for _ in range(reps):
                    up.upscale(img, aligned=aligned)
                _sync(device)
                dt = (time.perf_counter() - t0) / reps
                mp = size * size * 16 / 1e6
                rows.append({"task": "sr upscale --aligned" if aligned else "sr upscale (photo)", "input": size,
                             "tile": tile, "s_per_image": dt, "output_mp_per_s": mp / dt,
                             "peak_mem_mb": _peak_mem_mb(device)})
                print(f"{rows[-1]['task']:22s} {size:5d}px tile {tile:4d}: {dt:.3f} s ({mp / dt:.2f} MP/s)", flush=True)
    G = CondGenerator(num_classes=11, z_dim=128, embed_dim=64, resolution=64, base_channels=64 if smoke else 256,
                      min_channels=16 if smoke else 64)
    save_pretrained(G, tmp / "paint" / "generator.safetensors", {"class_names": [f"s{i}" for i in range(11)]})
    from srgan_wgan.apps.paint import PaintGenerator

    gen = PaintGenerator(tmp / "paint", str(device))
    n = 16 if smoke else 256
    gen.generate("s0", n=n)
    _sync(device)
    t0 = time.perf_counter()
    gen.generate("s0", n=n)
    _sync(device)
    dt = time.perf_counter() - t0
    rows.append({"task": "paint generate", "n": n, "paintings_per_s": n / dt})
    print(f"paint generate: {n / dt:.1f} paintings/s", flush=True)
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", choices=["train", "infer"], required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--warmup", type=int, default=None)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--smoke", action="store_true", help="tiny models and sizes (CI)")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    device = torch.device(args.device)
    if args.smoke:
        steps, warmup, batch, hr = args.steps or 2, args.warmup or 1, min(args.batch, 2), 64
    else:
        steps, warmup, batch, hr = args.steps or (5 if device.type == "cpu" else 30), args.warmup or 3, args.batch, 128
    if args.suite == "train":
        rows = bench_train(device, steps, warmup, batch, hr, 4, args.smoke)
    else:
        rows = bench_infer(device, args.smoke)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    meta = {"version": __version__, "torch": torch.__version__, "device": name, "threads": torch.get_num_threads(),
            "smoke": args.smoke, "batch": batch, "steps": steps}
    if device.type == "cuda":
        peak = next((v for k, v in BF16_PEAK_TFLOPS.items() if k in name), None)
        meta["bf16_peak_tflops"] = peak
        for r in rows:
            if peak and r.get("achieved_tflops"):
                r["mfu"] = r["achieved_tflops"] / peak
    out = args.out or Path(__file__).parent / "results" / f"{args.suite}_{device.type}{'_smoke' if args.smoke else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {"meta": meta, "rows": rows}
    out.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
