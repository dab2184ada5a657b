"""``paint``: train class-conditional WGANs on folders of paintings (one sub-folder per style)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from srgan_wgan.errors import UserError
from srgan_wgan.io.images import (
    ImageData,
    encode_gif,
    image_grid,
    refuse_overwrite,
    resize_rgb,
    to_rgb,
    write_image,
    write_output,
)
from srgan_wgan.training import GANTrainConfig
from srgan_wgan_cli._common import (
    AmpOpt,
    BackendOpt,
    CheckpointEveryOpt,
    CRITIC_PANEL,
    EXPERIMENTAL_PANEL,
    ConfigOpt,
    CriticChannelsOpt,
    CriticMaxChannelsOpt,
    CriticNormOpt,
    DeterministicOpt,
    DeviceOpt,
    Fp32Opt,
    NCriticOpt,
    OnnxOutOpt,
    PenaltyEveryOpt,
    PenaltyOpt,
    PenaltyWeightOpt,
    ResumeOpt,
    SampleEveryOpt,
    TrainSeedOpt,
    VerboseOpt,
    console,
    export_onnx_file,
    fit_with_progress,
    refuse_existing_run,
    run_app,
    setup_logging,
)

DiffAugOpt = Annotated[str, typer.Option(
    help="DiffAugment policy for the critic's inputs, e.g. color,translation,cutout (small datasets); '' = off.")]

CropScaleOpt = Annotated[float, typer.Option(
    help="Random resized crops covering this fraction..1 of each painting's area (1 = no crop).",
    rich_help_panel=EXPERIMENTAL_PANEL)]

AuxClassOpt = Annotated[float, typer.Option(
    help="AC-GAN term: the critic also classifies real paintings by style and the generator's paintings must be "
         "recognised as their style, with this weight (0 = projection conditioning only).")]

AuxBackboneOpt = Annotated[str, typer.Option(
    help="Body of the AC-GAN style classifier: none (a small conv net trained from scratch) or alexnet (a linear "
         "head on frozen ImageNet AlexNet features; needs the AlexNet weights file).")]

CriticArchOpt = Annotated[str, typer.Option(
    help="conv (a conv critic trained from scratch) or projected (small heads over frozen ImageNet features at "
         "several scales, Projected GAN / vision-aided GAN: learns faster from few paintings; needs the backbone "
         "weights file).", rich_help_panel=CRITIC_PANEL)]

CriticBackboneOpt = Annotated[str, typer.Option(
    help="The projected critic's frozen backbone: vgg16 or alexnet.", rich_help_panel=CRITIC_PANEL)]

ModeSeekingOpt = Annotated[float, typer.Option(
    help="Mode-seeking term (MSGAN): the generator is pushed, with this weight, to draw different paintings from "
         "different latents of the same style (against mode collapse; 0 = off).")]

MbstdOpt = Annotated[int | None, typer.Option(
    help="Minibatch standard deviation in the critic with this group size (ProGAN/StyleGAN; 4 is usual): the critic "
         "sees how much the paintings of a group differ, against mode collapse (0 = off; default: off for paint "
         "train, as in the source critic for paint finetune).", show_default=False)]

MbstdByStyleOpt = Annotated[bool, typer.Option(
    help="Batches of same-style groups of --mbstd-group paintings, so the critic's minibatch stddev measures the "
         "spread within a style (catches intra-style mode collapse).")
]
NoiseOpt = Annotated[bool | None, typer.Option(
    "--noise/--no-noise", show_default=False,
    help="Per-pixel noise inputs in the generator (StyleGAN): learned per-channel strengths, zero at the start, "
         "give it a source of varied texture and detail beside the latent (default: off for paint train; as in the "
         "source generator for paint finetune, which can add them).")]

SleOpt = Annotated[bool | None, typer.Option(
    "--sle/--no-sle", show_default=False,
    help="Skip-layer excitation in the generator (FastGAN): the 4x4 and 8x8 maps gate the channels of the 64 and "
         "128 px maps, so the layout reaches the fine layers directly (64 px or more; default: off for paint train, "
         "as in the source generator for paint finetune, which can add it: its gates start at 1).")]

app = typer.Typer(
    name="paint",
    help="Style-conditioned painting generation with class-conditional Wasserstein GANs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Style-conditioned painting generation."""


@app.command()
def train(
    data: Annotated[Path, typer.Option("--data", help="Folder with one sub-folder of images per style.")],
    config: ConfigOpt = None,
    run_dir: Annotated[Path, typer.Option("--run-dir", help="Run folder (checkpoints, logs, samples, export).")] = Path(
        "runs/paint"
    ),
    steps: Annotated[int, typer.Option(help="Generator steps.")] = 20000,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 64,
    resolution: Annotated[int, typer.Option(help="Training resolution (power of two).")] = 64,
    holdout: Annotated[float, typer.Option(help="Fraction per style held out for `paint eval` (never trained on).")] = 0.1,
    penalty: PenaltyOpt = "gp",
    penalty_weight: PenaltyWeightOpt = None,
    penalty_every: PenaltyEveryOpt = 1,
    critic_norm: CriticNormOpt = "none",
    n_critic: NCriticOpt = 5,
    base_channels: Annotated[int, typer.Option(help="Width of the first critic / last generator block.")] = 64,
    critic_channels: CriticChannelsOpt = None,
    critic_max_channels: CriticMaxChannelsOpt = 512,
    diffaug: DiffAugOpt = "",
    critic_arch: CriticArchOpt = "conv",
    critic_backbone: CriticBackboneOpt = "vgg16",
    crop_scale: CropScaleOpt = 1.0,
    aux_class_weight: AuxClassOpt = 0.0,
    aux_backbone: AuxBackboneOpt = "none",
    mode_seeking: ModeSeekingOpt = 0.0,
    mbstd_group: MbstdOpt = None,
    mbstd_by_style: MbstdByStyleOpt = False,
    noise: NoiseOpt = None,
    sle: SleOpt = None,
    lr_g: Annotated[float | None, typer.Option(help="Generator learning rate (default 1e-4).")] = None,
    lr_d: Annotated[float | None, typer.Option(help="Critic learning rate (default 1e-4).")] = None,
    unconditional: Annotated[bool, typer.Option(
        help="Ignore the styles (one class): the baseline `paint eval` compares a conditional model with.")
    ] = False,
    amp: AmpOpt = "auto",
    device: DeviceOpt = "auto",
    seed: TrainSeedOpt = 0,
    deterministic: DeterministicOpt = False,
    sample_every: SampleEveryOpt = 500,
    checkpoint_every: CheckpointEveryOpt = 500,
    resume: ResumeOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Train a style-conditional WGAN (WGAN-GP by default) on DATA/<style>/*.jpg."""
    from srgan_wgan.apps.paint import PaintExperiment

    setup_logging(verbose)
    cfg = GANTrainConfig(
        steps=steps, batch_size=batch_size, n_critic=n_critic, penalty=penalty, penalty_weight=penalty_weight,
        penalty_every=penalty_every, amp=amp, device=device, seed=seed, deterministic=deterministic,
        sample_every=sample_every, checkpoint_every=checkpoint_every, diffaug=diffaug, lr_g=lr_g, lr_d=lr_d,
    )
    exp = PaintExperiment(data=str(data), resolution=resolution, critic_norm=critic_norm, base_channels=base_channels,
                          critic_channels=critic_channels, critic_max_channels=critic_max_channels,
                          unconditional=unconditional, crop_scale=crop_scale, holdout=holdout,
                          aux_backbone=aux_backbone, mbstd_group=mbstd_group or 0, noise=bool(noise), sle=bool(sle),
                          mbstd_by_style=mbstd_by_style, aux_class_weight=aux_class_weight,
                          mode_seeking_weight=mode_seeking, critic_arch=critic_arch, critic_backbone=critic_backbone,
                          train=cfg)
    classes = exp.validate()  # config and data checks: nothing has been written yet
    refuse_existing_run(run_dir, resume)
    console.print(f"{len(classes)} styles, {sum(len(v) for v in classes.values())} images under {data}")
    trainer = exp.build(run_dir)
    fit_with_progress(trainer, cfg.steps, "paint train", resume)
    out = trainer.export()
    console.print(f"release weights: {out}")


@app.command()
def generate(
    style: Annotated[str, typer.Option(help="Style name (case and separators ignored: ukiyo-e = Ukiyo_e).")],
    n: Annotated[int, typer.Option("-n", help="Number of paintings.")] = 16,
    seed: Annotated[int, typer.Option(help="Seed; image i depends only on (seed, i, style).")] = 0,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Grid image to write.")] = None,
    out_dir: Annotated[Path | None, typer.Option(help="Write each painting to this folder instead.")] = None,
    truncation: Annotated[float | None, typer.Option(help="Truncation T (< 1: more typical, less varied).")] = None,
    model: Annotated[str, typer.Option(help="Model name or weights path.")] = "wikiart-64",
    size: Annotated[int | None, typer.Option(help="Upscale each painting to this size (64, 128, 256; Lanczos).")] = None,
    nrow: Annotated[int, typer.Option(help="Paintings per grid row.")] = 8,
    device: DeviceOpt = "auto",
    fp32: Fp32Opt = False,
    backend: BackendOpt = "torch",
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Draw new paintings of a style."""
    from srgan_wgan.apps.paint import PaintGenerator

    setup_logging()
    if n < 1:
        raise UserError(f"-n must be at least 1, got {n}")
    if size is not None and size not in (64, 128, 256):
        raise UserError(f"--size must be 64, 128 or 256, got {size}")
    if output is not None and out_dir is not None:
        raise UserError("give either -o (a grid) or --out-dir (one file per painting), not both")
    gen = PaintGenerator(model, device, fp32=fp32, backend=backend)
    name = gen.styles[gen.style_index(style)]
    images = gen.generate(style, n=n, seed=seed, truncation=truncation)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [out_dir / f"{name}_seed{seed}_{i:04d}.png" for i in range(n)]
        for p in paths:  # check them all before writing any
            refuse_overwrite(p, force)
        for p, img in zip(paths, images):
            rgb = to_rgb(img)
            write_image(p, ImageData(resize_rgb(rgb, size) if size and size != rgb.shape[1] else rgb), force=True)
        console.print(f"{n} {name} paintings -> {out_dir}")
    else:
        dst = output or Path(f"{name}_seed{seed}.png")
        write_image(dst, ImageData(image_grid(images, nrow, size=size)), force)
        console.print(f"{n} {name} paintings -> {dst}")


@app.command()
def styles(
    model: Annotated[str, typer.Option(help="Model name or weights path.")] = "wikiart-64",
) -> None:
    """List a model's styles with the number of training paintings of each."""
    from rich.table import Table

    from srgan_wgan.apps.paint import PaintGenerator

    gen = PaintGenerator(model, "cpu")
    table = Table(title=f"styles of {gen.path}")
    table.add_column("style")
    table.add_column("training paintings", justify="right")
    for s in gen.styles:
        table.add_row(s, str(gen.counts.get(s, "?")))
    console.print(table)


@app.command()
def interpolate(
    from_style: Annotated[str, typer.Option("--from", help="Start style.")],
    to_style: Annotated[str, typer.Option("--to", help="End style.")],
    steps: Annotated[int, typer.Option(help="Frames from one style to the other.")] = 8,
    rows: Annotated[int, typer.Option(help="Latents (grid rows).")] = 4,
    seed: Annotated[int, typer.Option(help="Seed of the latents.")] = 0,
    output: Annotated[Path, typer.Option("--output", "-o", help="Grid (.png/.jpg) or animation (.gif).")] = Path(
        "interpolation.png"),
    model: Annotated[str, typer.Option(help="Model name or weights path.")] = "wikiart-64",
    size: Annotated[int | None, typer.Option(help="Upscale each frame to this size.")] = None,
    device: DeviceOpt = "auto",
    fp32: Fp32Opt = False,
    backend: BackendOpt = "torch",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Interpolate the style embedding between two styles (rows = latents): a grid or a GIF."""
    from srgan_wgan.apps.paint import PaintGenerator

    gen = PaintGenerator(model, device, fp32=fp32, backend=backend)
    frames = gen.interpolate(from_style, to_style, steps=steps, seed=seed, rows=rows)
    if output.suffix.lower() == ".gif":
        refuse_overwrite(output, force)
        pics = [image_grid(frames[:, t], rows, size=size) for t in range(steps)]
        write_output(output, encode_gif(pics + pics[-2:0:-1]))  # there and back
    else:
        write_image(output, ImageData(image_grid(frames.flatten(0, 1), steps, size=size)), force)
    console.print(f"{from_style} -> {to_style}: {output}")


@app.command()
def finetune(
    source: Annotated[str, typer.Option("--from", help="Model name or weights folder to start from.")],
    data: Annotated[Path, typer.Option("--data", help="Folder with one sub-folder per style (new or existing).")],
    steps: Annotated[int, typer.Option(help="Generator steps.")] = 2000,
    run_dir: Annotated[Path, typer.Option(help="Run folder.")] = Path("runs/paint-finetune"),
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 64,
    amp: AmpOpt = "auto",
    device: DeviceOpt = "auto",
    seed: TrainSeedOpt = 0,
    diffaug: DiffAugOpt = "",
    crop_scale: CropScaleOpt = 1.0,
    aux_class_weight: AuxClassOpt = 0.0,
    aux_backbone: AuxBackboneOpt = "none",
    mode_seeking: ModeSeekingOpt = 0.0,
    mbstd_group: MbstdOpt = None,
    mbstd_by_style: MbstdByStyleOpt = False,
    noise: NoiseOpt = None,
    sle: SleOpt = None,
    n_critic: NCriticOpt = 5,
    lr_g: Annotated[float, typer.Option(help="Generator learning rate.")] = 5e-5,
    lr_d: Annotated[float, typer.Option(help="Critic learning rate.")] = 5e-5,
    sample_every: SampleEveryOpt = 500,
    checkpoint_every: CheckpointEveryOpt = 500,
    resume: ResumeOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Adapt a painting model to your styles: known styles keep what they learned, new ones start from the mean."""
    from srgan_wgan.apps.paint import finetune_paint_experiment

    setup_logging(verbose)
    exp = finetune_paint_experiment(source, str(data), steps, batch_size=batch_size, amp=amp, device=device,
                                    seed=seed, sample_every=sample_every, checkpoint_every=checkpoint_every,
                                    diffaug=diffaug, crop_scale=crop_scale, aux_class_weight=aux_class_weight,
                                    aux_backbone=aux_backbone, mbstd_group=mbstd_group, noise=noise, sle=sle,
                                    mbstd_by_style=mbstd_by_style, mode_seeking_weight=mode_seeking, n_critic=n_critic,
                                    lr_g=lr_g, lr_d=lr_d)
    classes = exp.validate()
    refuse_existing_run(run_dir, resume)
    console.print(f"fine-tuning {exp.init_from} on {len(classes)} styles under {data}")
    trainer = exp.build(run_dir)
    fit_with_progress(trainer, steps, "paint finetune", resume)
    console.print(f"release weights: {trainer.export()}")


@app.command()
def export(
    run_dir: Annotated[Path | None, typer.Option(help="Run folder of `paint train` / `paint finetune`.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder for the release weights.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        help="A checkpoint file of the run (default: its latest, RUN_DIR/resume.pt).")] = None,
    onnx: OnnxOutOpt = None,
    model: Annotated[str | None, typer.Option(help="With --onnx: a shipped model name (wikiart-64) or release path "
                                                   "to convert, instead of --run-dir.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing weights.")] = False,
) -> None:
    """Write release weights (EMA generator, raw generator, critic) from a run's checkpoint; with --onnx also (or,
    with --model, only) the generator as ONNX."""
    from srgan_wgan.apps.paint import PAINT_MODELS, export_paint_run
    from srgan_wgan.io.hub import resolve_weights
    from srgan_wgan.io.images import refuse_overwrite

    if (run_dir is None) == (model is None):
        raise UserError("give --run-dir (export a training run) or --model with --onnx (convert a release)")
    if model is not None:
        if onnx is None or out is not None:
            raise UserError("--model converts a release to ONNX: give --onnx FILE (and no --out)")
        export_onnx_file(resolve_weights(model, PAINT_MODELS), onnx, force, "CondGenerator")
        return
    if out is None:
        raise UserError("--run-dir needs --out FOLDER for the release weights")
    refuse_overwrite(out / "generator.safetensors", force)
    step = export_paint_run(run_dir, out, checkpoint)
    console.print(f"exported step {step} of {run_dir} to {out}")
    if onnx is not None:
        export_onnx_file(out / "generator.safetensors", onnx, force, "CondGenerator")


@app.command("eval")
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="Folder with one sub-folder per style (same as for training).")],
    model: Annotated[list[str] | None, typer.Option(
        help="Model name or weights path; repeat to compare several on the same real paintings.")] = None,
    n_per_style: Annotated[int, typer.Option(help="Generated paintings per style.")] = 100,
    holdout: Annotated[float, typer.Option(help="Held-out fraction per style (as in training).")] = 0.1,
    split: Annotated[str, typer.Option(
        help="test: the held-out paintings (report); val: a part of the training split (choose checkpoints).")
    ] = "test",
    probe_per_style: Annotated[int | None, typer.Option(
        help="Fit the style probe on at most this many paintings per style (faster; for quick --split val checks).")
    ] = None,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Write all metrics here as JSON (a list when several models are given).")] = None,
    device: DeviceOpt = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the generated samples.")] = 0,
    fp32: Fp32Opt = False,
) -> None:
    """FID/KID vs held-out paintings, style accuracy (generated vs real) and LPIPS diversity, per style."""
    import json

    from rich.table import Table

    from srgan_wgan.apps.paint import DEFAULT_PAINT_MODEL, evaluate_paint_models

    setup_logging()
    if n_per_style < 2:
        raise UserError(f"--n-per-style must be at least 2, got {n_per_style}")
    if probe_per_style is not None and probe_per_style < 1:
        raise UserError(f"--probe-per-style must be at least 1, got {probe_per_style}")
    models = list(model or [DEFAULT_PAINT_MODEL])
    results = evaluate_paint_models(models, data, n_per_style=n_per_style, holdout=holdout, device=device,
                                    seed=seed, split=split, probe_per_style=probe_per_style, fp32=fp32)

    def fmt(v: object, p: int = 3) -> str:
        return "-" if v is None else f"{v:.{p}f}" if isinstance(v, float) else str(v)

    for r in results:
        table = Table(title=f"{r['model']} on {r['heldout_real']} {'held-out' if split == 'test' else 'validation'} "
                      f"paintings ({r['resolution']} px)"
                      + ("" if r["fid_available"] else " - FID/KID skipped: Inception not installed"))
        for col in ("style", "real", "FID", "KID", "style acc gen", "style acc real", "LPIPS div gen",
                    "LPIPS div real"):
            table.add_column(col)
        for name, row in [*r["per_style"].items(), ("overall", {**r["overall"], "real_heldout": r["heldout_real"]})]:
            table.add_row(name, str(row["real_heldout"]), fmt(row.get("fid"), 1), fmt(row.get("kid"), 4),
                          fmt(row.get("style_acc_generated")), fmt(row.get("style_acc_real")),
                          fmt(row.get("lpips_div_generated")), fmt(row.get("lpips_div_real")))
        console.print(table)
        o = r["overall"]
        console.print(f"all styles mixed: LPIPS diversity generated {fmt(o['lpips_div_generated_mixed'])}, "
                      f"real {fmt(o['lpips_div_real_mixed'])}"
                      + (" (unconditional model: no per-style figures)" if r["unconditional"] else ""), soft_wrap=True)
        console.print(f"real-vs-real floor (training vs these paintings): FID {fmt(o['fid_real_floor'], 1)}, "
                      f"KID {fmt(o['kid_real_floor'], 4)}; precision {fmt(o['precision'])}, recall "
                      f"{fmt(o['recall'])}; nearest training painting (median LPIPS): generated "
                      f"{fmt(o['nn_lpips_generated'])}, held-out real {fmt(o['nn_lpips_test'])}", soft_wrap=True)
    if json_out:
        json_out.write_text(json.dumps(results[0] if len(results) == 1 else results, indent=1))


def main() -> None:
    """Console-script entry point."""
    run_app(app)


if __name__ == "__main__":
    main()
