"""Time one critic step of the painting critics: the conv critic of ``wikiart-64`` and the projected critic over
frozen VGG16 or AlexNet features, with and without the gradient penalty (issue 24: which critic a CPU can afford).

    python -m benchmarks.critic_speed --resolution 64 --resolution 128 --out benchmarks/results/critic_speed.json

A step is the Wasserstein loss on a real and a fake batch (batch 16, 11 classes), plus ``10 x`` the WGAN-GP penalty
for the ``gp`` rows, backward and an Adam update, under bf16 autocast with channels_last where the CPU has native bf16
(as ``paint train`` runs); the mean of ``--repeat`` steps after one warm-up. Lazy regularisation (``--penalty-every
k``) costs about ``((k - 1) x plain + gp) / k`` per step.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import torch


def critics(res: int, classes: int) -> dict[str, torch.nn.Module]:
    from srgan_wgan.archs import ConvCritic, CriticConfig, ProjectedCritic, ProjectedCriticConfig

    return {
        "conv (wikiart-64 widths)": ConvCritic(CriticConfig(resolution=res, base_channels=16, max_channels=256,
                                                            cond="class", num_classes=classes)),
        "projected vgg16": ProjectedCritic(ProjectedCriticConfig(resolution=res, backbone="vgg16", num_classes=classes)),
        "projected alexnet": ProjectedCritic(ProjectedCriticConfig(resolution=res, backbone="alexnet",
                                                                   num_classes=classes)),
    }


def time_step(D: torch.nn.Module, res: int, penalty: bool, repeat: int, batch: int = 16, classes: int = 11) -> float:
    """Mean milliseconds of one critic update."""
    from srgan_wgan.losses.penalties import gradient_penalty
    from srgan_wgan.utils.precision import default_channels_last, resolve_amp

    device = torch.device("cpu")
    precision = resolve_amp("auto", device)
    cl = default_channels_last(device)
    fmt = torch.channels_last if cl else torch.contiguous_format
    D = D.to(memory_format=fmt)
    g = torch.Generator().manual_seed(0)
    real = (torch.rand(batch, 3, res, res, generator=g) * 2 - 1).contiguous(memory_format=fmt)
    fake = (torch.rand(batch, 3, res, res, generator=g) * 2 - 1).contiguous(memory_format=fmt)
    y = torch.randint(0, classes, (batch,), generator=g)
    opt = torch.optim.Adam(D.parameters(), 1e-4, betas=(0.0, 0.9))

    def step() -> None:
        with precision.autocast():
            loss = D(fake, y).float().mean() - D(real, y).float().mean()
        if penalty:
            def fn(x: torch.Tensor) -> torch.Tensor:
                with precision.autocast():
                    return D(x, y)
            loss = loss + 10 * gradient_penalty(fn, real, fake, generator=g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    t0 = time.perf_counter()
    for _ in range(repeat):
        step()
    return (time.perf_counter() - t0) / repeat * 1000


def run(resolutions: list[int], repeat: int) -> dict[str, Any]:
    rows = []
    for res in resolutions:
        torch.manual_seed(0)
        for name, D in critics(res, 11).items():
            params = sum(p.numel() for p in D.parameters())
            plain, gp = time_step(D, res, False, repeat), time_step(D, res, True, repeat)
            rows.append({"critic": name, "resolution": res, "trained_params": params, "step_ms": round(plain),
                         "gp_step_ms": round(gp), "lazy4_step_ms": round((3 * plain + gp) / 4)})
            print(f"{res} px {name}: {plain:.0f} ms, with GP {gp:.0f} ms ({params / 1e6:.2f} M trained)", flush=True)
    return {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(), "batch": 16,
            "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resolution", type=int, action="append")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/critic_speed.json"))
    args = ap.parse_args()
    result = run(args.resolution or [64, 128], args.repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
