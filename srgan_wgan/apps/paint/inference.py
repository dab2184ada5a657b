"""Painting generation from a release: :class:`PaintGenerator` (styles, truncation, seeds, dtype, device, onnxruntime)."""

from __future__ import annotations

from pathlib import Path

import torch

from srgan_wgan.apps.paint.data import normalize_style
from srgan_wgan.errors import UserError
from srgan_wgan.utils.device import resolve_device

PAINT_MODELS: tuple[str, ...] = ("wikiart-64",)


DEFAULT_PAINT_MODEL = "wikiart-64"


def truncated_normal(shape: tuple[int, ...], generator: torch.Generator, truncation: float | None) -> torch.Tensor:
    """Standard normal samples; with ``truncation`` T, values with ``|z| > T`` are redrawn (BigGAN's trick)."""
    z = torch.randn(shape, generator=generator)
    if truncation is None:
        return z
    if truncation <= 0:
        raise UserError(f"--truncation must be > 0, got {truncation}")
    for _ in range(100):
        bad = z.abs() > truncation
        if not bad.any():
            break
        z[bad] = torch.randn(int(bad.sum()), generator=generator)
    return z.clamp(-truncation, truncation)


class PaintGenerator:
    """Generate paintings of a style from released weights (``paint generate`` / ``styles`` / ``interpolate``).

    Each sample ``i`` of a call seeded with ``seed`` draws its latent from its own generator
    (:func:`~srgan_wgan.utils.seed.sample_seed`), so an image depends only on ``(seed, i, style)``, never on ``n``
    or the batch size: bit-exactly in fp32; in bf16 the kernels oneDNN picks depend on the batch shape, so another
    batch size agrees within bf16 rounding (at most 2/255 in the tests) and the same call repeats bit-exactly.

    The generator runs under bf16 autocast where the device computes bf16 natively (CUDA, CPUs with AMX /
    AVX512-BF16), in fp32 elsewhere or with ``fp32=True``.
    """

    def __init__(self, model: str | Path = DEFAULT_PAINT_MODEL, device: str = "auto", fp32: bool = False,
                 backend: str = "torch") -> None:
        from srgan_wgan.io.hub import resolve_weights
        from srgan_wgan.io.weights import load_pretrained

        if backend not in ("torch", "onnx"):
            raise UserError(f"--backend must be torch or onnx, got {backend!r}")
        self.path = resolve_weights(model, PAINT_MODELS)
        if self.path.suffix == ".onnx" and backend != "onnx":
            raise UserError(f"{self.path}: an ONNX file needs --backend onnx")
        self.backend = backend
        self.device = resolve_device(device) if backend == "torch" else torch.device("cpu")
        if backend == "onnx":  # onnxruntime on CPU, fp32 (srgan_wgan.io.onnx)
            from srgan_wgan.io.onnx import resolve_onnx

            self.G = resolve_onnx(self.path, "CondGenerator")
            fp32 = True
        else:
            self.G = load_pretrained(self.path, expected_arch="CondGenerator", device=self.device)
        extra = self.G.weights_metadata["extra"]
        self.styles: list[str] = list(extra.get("class_names") or [str(i) for i in range(self.G.config.num_classes)])
        self.counts: dict[str, int] = dict(extra.get("class_counts") or {})
        self.unconditional = bool(extra.get("unconditional", False))
        from srgan_wgan.utils.precision import inference_precision

        self.precision = inference_precision(self.device, fp32)

    def style_index(self, style: str) -> int:
        """Index of ``style`` (normalised match); :class:`UserError` listing the valid styles otherwise."""
        key = normalize_style(style)
        for i, s in enumerate(self.styles):
            if normalize_style(s) == key:
                return i
        raise UserError(f"unknown style {style!r}; this model has: {', '.join(self.styles)}")

    def latents(self, n: int, seed: int, truncation: float | None = None, start: int = 0) -> torch.Tensor:
        from srgan_wgan.utils.seed import sample_seed

        if n < 1:
            raise UserError(f"-n must be at least 1, got {n}")
        zs = [truncated_normal((self.G.z_dim,), torch.Generator().manual_seed(sample_seed(seed, i)), truncation)
              for i in range(start, start + n)]
        return torch.stack(zs)

    def noise(self, n: int, seed: int, start: int = 0) -> list[torch.Tensor]:
        """The generator's per-pixel noise maps for samples ``start..start+n`` (each from its own seed, stream
        ``"noise"``); an empty list for a generator without noise inputs."""
        from srgan_wgan.utils.seed import sample_seed

        if not self.G.noise_shapes():
            return []
        per_sample = [self.G.draw_noise(1, torch.Generator().manual_seed(sample_seed(seed, i, "noise")))
                      for i in range(start, start + n)]
        return [torch.cat(maps) for maps in zip(*per_sample)]

    @torch.no_grad()
    def generate(self, style: str, n: int = 16, seed: int = 0, truncation: float | None = None,
                 batch_size: int = 64) -> torch.Tensor:
        """``(n, 3, r, r)`` images in ``[0, 1]``."""
        y = self.style_index(style)
        z = self.latents(n, seed, truncation)
        noise = self.noise(n, seed)
        out = []
        for i in range(0, n, batch_size):
            zb = z[i : i + batch_size].to(self.device)
            nb = [m[i : i + batch_size].to(self.device) for m in noise] or None
            with self.precision.autocast():
                fake = self.G(zb, torch.full((zb.shape[0],), y, device=self.device), noise=nb)
            out.append(fake.float().clamp(-1, 1).cpu())
        return (torch.cat(out) + 1) / 2

    @torch.no_grad()
    def interpolate(self, style_a: str, style_b: str, steps: int = 8, seed: int = 0, rows: int = 4,
                    truncation: float | None = None) -> torch.Tensor:
        """``(rows, steps, 3, r, r)``: each row one latent, its style embedding moving linearly from a to b."""
        if steps < 2:
            raise UserError(f"--steps must be at least 2, got {steps}")
        ea, eb = (self.G.embed.weight[self.style_index(s)] for s in (style_a, style_b))
        t = torch.linspace(0, 1, steps, device=self.device)[:, None]
        emb = (1 - t) * ea + t * eb
        z = self.latents(rows, seed, truncation).to(self.device)
        noise = self.noise(rows, seed)
        frames = []
        for r in range(rows):  # a row keeps its latent and noise: only the style moves
            zr = z[r : r + 1].expand(steps, -1)
            nr = [m[r : r + 1].expand(steps, -1, -1, -1).to(self.device) for m in noise] or None
            with self.precision.autocast():
                fake = self.G(zr, torch.zeros(steps, dtype=torch.long, device=self.device), embedding=emb, noise=nr)
            frames.append(fake.float().clamp(-1, 1))
        return (torch.stack(frames).cpu() + 1) / 2
