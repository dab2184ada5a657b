"""Regenerate the golden values of the shipped models: ``python tests/golden/update.py`` (after retraining only).

For each model in ``weights/`` the output of its generator on a fixed seeded input is summarised (mean, std and
16 fixed pixels) and stored in ``tests/golden/<model>.json``; ``tests/test_golden.py`` compares against it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def fingerprint(weights: Path) -> dict:
    from srgan_wgan.io.weights import load_pretrained

    G = load_pretrained(weights)
    g = torch.Generator().manual_seed(1234)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: the summary must not depend on the machine's core count
    try:
        y = _forward(G, g)
    finally:
        torch.set_num_threads(threads)  # the caller's (pytest's) thread count is left as it was
    flat = y.flatten()
    idx = torch.linspace(0, flat.numel() - 1, 16).long()
    return {"mean": float(y.mean()), "std": float(y.std()), "pixels": flat[idx].tolist(), "shape": list(y.shape)}


def _forward(G: torch.nn.Module, g: torch.Generator) -> torch.Tensor:
    with torch.no_grad():
        if G.weights_metadata["arch"] in ("SRResNet", "CompactSR"):
            x = torch.rand(2, 3, 128 // G.config.scale, 128 // G.config.scale, generator=g)
            y = G(x)
        else:
            z = torch.randn(2, G.z_dim, generator=g)
            labels = torch.tensor([0, G.config.num_classes - 1])
            noise = G.draw_noise(2, g)  # seeded too (no noise inputs: nothing drawn)
            y = G(z, labels, noise=noise) if noise else G(z, labels)
    return y


def main() -> None:
    for f in sorted((ROOT / "weights").glob("*/generator.safetensors")):
        out = Path(__file__).parent / f"{f.parent.name}.json"
        out.write_text(json.dumps(fingerprint(f), indent=1) + "\n")
        print(f"{out}")


if __name__ == "__main__":
    main()
