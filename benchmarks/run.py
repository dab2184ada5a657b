"""Training and inference speed: the peers' plain baseline, our default, and each option alone, from one run.

    python -m benchmarks.run --device cpu                  # everything (about 15 min on the 2-core CPU)
    python -m benchmarks.run --device cuda                 # the same command on a GPU
    python -m benchmarks.run --device cpu --smoke          # seconds, tiny models: what CI runs to keep this working
    python -m benchmarks.run --table benchmarks/results/cpu.json   # re-print the README table from a saved run

Columns (variants). ``baseline`` = the way the peers train and infer: fp32, contiguous (NCHW) tensors, non-fused
Adam, the gradient penalty on every critic step, torch's default thread count. ``default`` = what ``sr train`` /
``paint train`` / ``sr upscale`` / ``paint generate`` do on this device (``--amp auto``: bf16 autocast where the
device computes bf16 natively; channels_last). Then each option alone on top of the baseline: bf16 autocast,
channels_last, lazy penalty (every 4th critic step, scaled by 4), one CPU thread; on CUDA also fused Adam and a
compiled generator. Inference adds onnxruntime (CPU) when it is installed.

Rows. Training, with synthetic data so that decoding is not timed, ms per generator step (critic steps included):
* face SR fidelity step: the shipped x4 fidelity recipe (SRResNet 64 x 12, L1, Adam, batch 16, 32 -> 128);
* face SR GAN step: the shipped x4 GAN recipe at batch 16 (L1 + VGG16 perceptual + LPIPS-vgg + WGAN with the
  LR-conditioned 32 -> 128-channel critic and its gradient penalty, n_critic 1);
* paint step: the shipped wikiart-64 stage-1 recipe (CondGenerator 128 -> 32, critic 16 -> 256, n_critic 2, WGAN-GP,
  DiffAugment translation + cutout, batch 16, 64 px).
Inference: ``sr upscale --aligned`` of a 128x128 face crop with the shipped face-x4 (output megapixels per second);
``sr upscale`` of a whole 1024x1024 photo (face detection, faces through face-x4, the rest Lanczos) and the same
photo entirely through the network (``--aligned``, 256-px tiles: the cost of a whole-photo model); ``paint generate``
with the shipped wikiart-64 (paintings per second).

The VGG16 / AlexNet backbones are the genuine ImageNet ones when found (``$SRGAN_WGAN_BACKBONES`` or ../shared);
otherwise random weights of the same shapes are used and the JSON says so (``meta.backbones``): the cost is the same.
Ratios are to the baseline of the same row, measured in the same run. Writes JSON to ``--out`` (default
``benchmarks/results/<device>[_smoke].json``) with the CPU model and its flags, and prints the markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import platform
import resource
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from srgan_wgan.version import __version__

REPO = Path(__file__).resolve().parents[1]
BF16_PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}  # dense bf16 tensor-core peaks


# ---- machine facts --------------------------------------------------------------------------------------------
def cpu_info() -> dict[str, Any]:
    """CPU model name, core count and the flags that decide bf16 speed (Linux /proc/cpuinfo; best effort)."""
    model, flags = platform.processor() or "cpu", set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("cpu", "", platform.processor()):
                model = line.split(":", 1)[1].strip()
            if line.startswith(("flags", "Features")) and not flags:
                flags = set(line.split(":", 1)[1].split())
    import os

    from srgan_wgan.utils.precision import cpu_bf16_support

    wanted = ("amx_bf16", "amx_tile", "amx_int8", "avx512_bf16", "avx512f", "avx2", "fma")
    return {"model": model, "cores": os.cpu_count(), "flags": [f for f in wanted if f in flags],
            "native_bf16": cpu_bf16_support()[1], "torch_cpu_capability": torch.backends.cpu.get_cpu_capability()}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_mem_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


_BACKBONES = {"status": "genuine ImageNet"}
_RANDOM: dict[str, torch.nn.Sequential] = {}


@contextlib.contextmanager
def _backbones_or_random() -> Iterator[None]:
    """The real ImageNet backbones when they can be found, else random weights of the same shape (same cost)."""
    import torchvision

    import srgan_wgan.losses.perceptual as perceptual
    from srgan_wgan.errors import WeightsError

    real = perceptual.load_backbone_features

    def load(name: str) -> torch.nn.Sequential:
        try:
            return real(name)
        except WeightsError:
            _BACKBONES["status"] = "random weights (the ImageNet backbones were not found; timings are unaffected)"
            if name not in _RANDOM:  # built once: a random VGG16's classifier alone takes seconds to initialise
                build = {"vgg16": torchvision.models.vgg16, "alexnet": torchvision.models.alexnet}[name]
                with torch.random.fork_rng():
                    torch.manual_seed(0)
                    _RANDOM[name] = build(weights=None).features.eval().requires_grad_(False)
            return copy.deepcopy(_RANDOM[name])

    perceptual.load_backbone_features = load
    try:
        yield
    finally:
        perceptual.load_backbone_features = real


# ---- variants -------------------------------------------------------------------------------------------------
def train_variants(device: torch.device, penalty: bool) -> dict[str, dict[str, Any]]:
    """Engine options of each column (``threads`` is applied around the run)."""
    base = {"amp": "off", "channels_last": False, "fused_optimizer": False, "compile_generator": False,
            "penalty_every": 1, "threads": None}
    variants = {"baseline": base,
                "default": {**base, "amp": "auto", "channels_last": None, "fused_optimizer": None},
                "bf16 autocast": {**base, "amp": "bf16"},
                "channels_last": {**base, "channels_last": True}}
    if penalty:
        variants["lazy penalty k=4"] = {**base, "penalty_every": 4}
    if device.type == "cuda":
        variants["fused Adam"] = {**base, "fused_optimizer": True}
        variants["compile G"] = {**base, "compile_generator": True}
    else:
        variants["1 thread"] = {**base, "threads": 1}
    return variants


def _time_steps(trainer: Any, device: torch.device, steps: int, warmup: int) -> float:
    batches = trainer._batches()
    for _ in range(warmup):
        trainer.train_step(batches)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        trainer.train_step(batches)
    _sync(device)
    return (time.perf_counter() - t0) / steps


def _sr_trainer(stage: str, opts: dict[str, Any], device: torch.device, batch: int, smoke: bool, tmp: Path) -> Any:
    from srgan_wgan.apps.face_sr import SRExperiment, SRLossWeights
    from srgan_wgan.data.faces import FaceCrops
    from srgan_wgan.training import GANTrainConfig

    hr = 64 if smoke else 128
    n = max(batch * 4, 32)
    g = torch.Generator().manual_seed(0)
    crops = FaceCrops(torch.randint(0, 256, (n, 3, hr, hr), generator=g, dtype=torch.uint8), [str(i) for i in range(n)])
    gan = stage == "gan"
    cfg = GANTrainConfig(steps=10**6, batch_size=batch, n_critic=1 if gan else 0, adv_weight=0.005,
                         lr_g=1e-4 if gan else 2e-4, lr_d=1e-4, betas=(0.0, 0.9) if gan else (0.9, 0.99),
                         ema_decay=0.999, device=str(device), log_every=10**6, sample_every=10**6,
                         checkpoint_every=10**6, **opts)
    exp = SRExperiment(data="-", scale=4, stage=stage, hr_size=hr, train=cfg,
                       num_feat=16 if smoke else 64, num_blocks=1 if smoke else 12,
                       critic_channels=8 if smoke else 32, critic_max_channels=32 if smoke else 128,
                       losses=SRLossWeights(1.0, 0.1 if gan else 0.0, 0.1 if gan else 0.0))
    return exp.build(tmp, data=(crops, None), tensorboard=False)


def _paint_trainer(opts: dict[str, Any], device: torch.device, batch: int, smoke: bool, tmp: Path) -> Any:
    from PIL import Image

    from srgan_wgan.apps.paint import PaintExperiment
    from srgan_wgan.data.folders import DecodedFolder
    from srgan_wgan.training import GANTrainConfig

    res, styles = (32 if smoke else 64), 11
    data = tmp.parent / "paint_folder"
    for k in range(styles):  # the experiment checks a style folder exists; the timed images are synthetic
        (data / f"style{k:02d}").mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8)).save(data / f"style{k:02d}" / "x.png")
    n = styles * 8
    g = torch.Generator().manual_seed(0)
    folder = DecodedFolder(torch.randint(0, 256, (n, 3, res, res), generator=g, dtype=torch.uint8),
                           torch.arange(n) % styles, [f"style{k:02d}" for k in range(styles)],
                           [f"{i}.png" for i in range(n)])
    cfg = GANTrainConfig(steps=10**6, batch_size=batch, n_critic=2, lr_g=1e-4, lr_d=1e-4, ema_decay=0.999,
                         diffaug="translation,cutout", device=str(device), log_every=10**6, sample_every=10**6,
                         checkpoint_every=10**6, **opts)
    exp = PaintExperiment(data=str(data), resolution=res, base_channels=8 if smoke else 32,
                          critic_channels=8 if smoke else 16, critic_max_channels=32 if smoke else 256, train=cfg)
    return exp.build(tmp, folder=folder, tensorboard=False)


def bench_train(device: torch.device, steps: int, warmup: int, batch: int, smoke: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    tmp = Path("/tmp/srgan_bench")
    builders: dict[str, tuple[Callable[..., Any], bool]] = {
        "face SR fidelity step": (lambda o, t: _sr_trainer("fidelity", o, device, batch, smoke, t), False),
        "face SR GAN step": (lambda o, t: _sr_trainer("gan", o, device, batch, smoke, t), True),
        "paint step": (lambda o, t: _paint_trainer(o, device, batch, smoke, t), True),
    }
    for row, (build, penalty) in builders.items():
        base_ms = None
        for name, opts in train_variants(device, penalty).items():
            engine = {k: v for k, v in opts.items() if k != "threads"}
            with _threads(opts["threads"]):
                trainer = build(engine, tmp / f"{row}_{name}".replace(" ", "_"))
                n = steps * (3 if "fidelity" in row and not smoke else 1)  # the short step needs more repeats
                dt = _time_steps(trainer, device, n, warmup)
            base_ms = base_ms or dt * 1000
            r = {"row": row, "variant": name, "options": opts, "precision": trainer.precision.name,
                 "channels_last": trainer.channels_last, "ms_per_step": dt * 1000, "images_per_s": batch / dt,
                 "speedup_vs_baseline": base_ms / (dt * 1000), "peak_mem_mb": _peak_mem_mb(device)}
            rows.append(r)
            print(f"{row:22s} {name:18s} {r['ms_per_step']:9.1f} ms/step  x{r['speedup_vs_baseline']:.2f}", flush=True)
            del trainer
    return rows


# ---- inference ------------------------------------------------------------------------------------------------
def _sr_model(smoke: bool) -> str | Path:
    """The shipped face-x4 (in the repository), or in smoke runs a tiny random model of the same class."""
    if not smoke:
        return "face-x4"
    from srgan_wgan.archs import SRResNet
    from srgan_wgan.io.weights import save_pretrained

    path = Path("/tmp/srgan_bench_weights/sr")
    torch.manual_seed(0)
    save_pretrained(SRResNet(scale=4, num_feat=16, num_blocks=1), path / "generator.safetensors",
                    {"scale": 4, "hr_size": 128})
    return path


def _paint_model(smoke: bool) -> str | Path:
    if not smoke:
        return "wikiart-64"
    from srgan_wgan.archs import CondGenerator
    from srgan_wgan.io.weights import save_pretrained

    path = Path("/tmp/srgan_bench_weights/paint")
    torch.manual_seed(0)
    G = CondGenerator(num_classes=11, z_dim=128, embed_dim=64, resolution=64, base_channels=64, min_channels=16)
    save_pretrained(G, path / "generator.safetensors", {"class_names": [f"s{i}" for i in range(11)]})
    return path


def infer_variants(device: torch.device) -> dict[str, dict[str, Any]]:
    base = {"fp32": True, "channels_last": False, "threads": None, "backend": "torch"}
    variants = {"baseline": base, "default": {**base, "fp32": False, "channels_last": True},
                "bf16 autocast": {**base, "fp32": False}, "channels_last": {**base, "channels_last": True}}
    if device.type == "cpu":
        variants["1 thread"] = {**base, "threads": 1}
    with contextlib.suppress(ImportError):
        import onnxruntime  # noqa: F401

        variants["onnxruntime"] = {**base, "backend": "onnx"}
    return variants


def _set_layout(module: torch.nn.Module, channels_last: bool) -> None:
    module.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def _upscaler(model: str | Path, device: torch.device, opts: dict[str, Any], tile: int) -> Any:
    from srgan_wgan.apps.face_sr.inference import FaceUpscaler

    kw = {"backend": "onnx"} if opts["backend"] == "onnx" else {}
    up = FaceUpscaler(model, device=str(device), fp32=opts["fp32"], tile=tile, **kw)
    if opts["backend"] == "torch":  # the layout is a benchmark column, not a user option
        up.channels_last = opts["channels_last"]
        _set_layout(up.G, opts["channels_last"])
    return up


def _painter(model: str | Path, device: torch.device, opts: dict[str, Any]) -> Any:
    from srgan_wgan.apps.paint import PaintGenerator

    kw = {"backend": "onnx"} if opts["backend"] == "onnx" else {}
    gen = PaintGenerator(model, str(device), fp32=opts["fp32"], **kw)
    if opts["backend"] == "torch":
        _set_layout(gen.G, opts["channels_last"])
    return gen


def _timed(fn: Callable[[], Any], device: torch.device, reps: int) -> float:
    fn()  # warm-up (oneDNN primitive creation, ORT session)
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        fn()
    _sync(device)
    return (time.perf_counter() - t0) / reps


def _photo(size: int) -> Any:
    """A real photo with a face (scikit-image's astronaut) resized to ``size`` x ``size``."""
    from PIL import Image
    from skimage import data as skdata

    from srgan_wgan.io.images import ImageData

    im = Image.fromarray(skdata.astronaut()).resize((size, size), Image.Resampling.LANCZOS)
    return ImageData(np.asarray(im, np.float32) / 255)


def bench_infer(device: torch.device, smoke: bool) -> list[dict[str, Any]]:
    from srgan_wgan.io.images import ImageData

    sr, paint = _sr_model(smoke), _paint_model(smoke)
    crop = ImageData(np.random.default_rng(0).random((32 if smoke else 128,) * 2 + (3,), dtype=np.float32))
    photo = _photo(64 if smoke else 1024)
    n_paint = 16 if smoke else 256
    rows: list[dict[str, Any]] = []

    def add(row: str, name: str, opts: dict[str, Any], dt: float, unit: str, amount: float, **extra: Any) -> None:
        base = next((r for r in rows if r["row"] == row and r["variant"] == "baseline"), None)
        r = {"row": row, "variant": name, "options": opts, "s_per_item": dt, unit: amount / dt,
             "speedup_vs_baseline": (base["s_per_item"] / dt) if base else 1.0, "peak_mem_mb": _peak_mem_mb(device),
             **extra}
        rows.append(r)
        print(f"{row:34s} {name:16s} {dt:8.3f} s  {amount / dt:8.2f} {unit}  x{r['speedup_vs_baseline']:.2f}",
              flush=True)

    for name, opts in infer_variants(device).items():
        with _threads(opts["threads"]):
            up = _upscaler(sr, device, opts, tile=256)
            mp = crop.rgb.shape[0] * crop.rgb.shape[1] * up.scale**2 / 1e6
            add("sr upscale --aligned (128 px face)", name, opts,
                _timed(lambda: up.upscale(crop, aligned=True), device, 3 if smoke else 10), "output_mp_per_s", mp)
    for name, opts in infer_variants(device).items():
        if name not in ("baseline", "default", "onnxruntime"):
            continue
        with _threads(opts["threads"]):
            up = _upscaler(sr, device, opts, tile=256)
            _, report = up.upscale(photo)
            mp = photo.rgb.shape[0] * photo.rgb.shape[1] * up.scale**2 / 1e6
            add(f"sr upscale, {photo.rgb.shape[0]} px photo", name, opts,
                _timed(lambda: up.upscale(photo), device, 1), "output_mp_per_s", mp,
                faces_found=report.faces_found, faces_enhanced=report.faces_enhanced)
            add(f"{photo.rgb.shape[0]} px photo through the network", name, opts,
                _timed(lambda: up.upscale(photo, aligned=True), device, 1), "output_mp_per_s", mp)
    for name, opts in infer_variants(device).items():
        with _threads(opts["threads"]):
            gen = _painter(paint, device, opts)
            style = gen.styles[0]
            add("paint generate (64 px)", name, opts,
                _timed(lambda: gen.generate(style, n=n_paint), device, 1 if not smoke else 2), "paintings_per_s",
                n_paint)
    return rows


# ---- report ---------------------------------------------------------------------------------------------------
def markdown_table(result: dict[str, Any]) -> str:
    """The README table: one line per row, one column per variant (time and ratio to the baseline)."""
    rows = result["rows"]
    variants: list[str] = []
    for r in rows:
        if r["variant"] not in variants:
            variants.append(r["variant"])
    lines = ["| work | " + " | ".join(variants) + " |", "|---" * (len(variants) + 1) + "|"]
    for name in dict.fromkeys(r["row"] for r in rows):
        cells = []
        for v in variants:
            r = next((x for x in rows if x["row"] == name and x["variant"] == v), None)
            if r is None:
                cells.append("")
            elif "ms_per_step" in r:
                cells.append(f"{r['ms_per_step']:,.0f} ms (x{r['speedup_vs_baseline']:.1f})")
            else:
                unit = "paintings/s" if "paintings_per_s" in r else "MP/s"
                val = r.get("paintings_per_s", r.get("output_mp_per_s"))
                cells.append(f"{val:,.2f} {unit} (x{r['speedup_vs_baseline']:.1f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    m = result["meta"]
    dev = m["device"] if isinstance(m["device"], str) else m["device"]["model"]
    lines.append("")
    lines.append(f"{dev}, {m['threads']} threads, torch {m['torch']}, srgan-wgan {m['version']}; "
                 f"backbones: {m['backbones']}{' (smoke sizes)' if m['smoke'] else ''}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", choices=["all", "train", "infer"], default="all")
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=None, help="timed steps per training variant")
    p.add_argument("--warmup", type=int, default=None)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--smoke", action="store_true", help="tiny models and sizes (CI)")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--table", type=Path, default=None, help="print the markdown table of a saved result and exit")
    args = p.parse_args(argv)
    if args.table is not None:
        result = json.loads(args.table.read_text())
        print(markdown_table(result))
        return result
    device = torch.device(args.device)
    if args.smoke:
        steps, warmup, batch = args.steps or 1, args.warmup or 1, min(args.batch, 2)
    else:
        steps, warmup, batch = args.steps or (3 if device.type == "cpu" else 30), args.warmup or 2, args.batch
    rows: list[dict[str, Any]] = []
    with _backbones_or_random():
        if args.suite in ("all", "train"):
            rows += bench_train(device, steps, warmup, batch, args.smoke)
        if args.suite in ("all", "infer"):
            rows += bench_infer(device, args.smoke)
    info: Any = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_info()
    meta = {"version": __version__, "torch": torch.__version__, "device": info, "threads": torch.get_num_threads(),
            "smoke": args.smoke, "batch": batch, "steps": steps, "backbones": _BACKBONES["status"],
            "command": "python -m benchmarks.run " + " ".join(argv if argv is not None else __import__("sys").argv[1:])}
    if device.type == "cuda":
        meta["bf16_peak_tflops"] = next((v for k, v in BF16_PEAK_TFLOPS.items() if k in info), None)
    result = {"meta": meta, "rows": rows}
    out = args.out or REPO / "benchmarks" / "results" / f"{device.type}{'_smoke' if args.smoke else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(markdown_table(result))
    return result


if __name__ == "__main__":
    main()
