"""``sr``: face super-resolution (train, fine-tune, evaluate)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from srgan_wgan.errors import UserError
from srgan_wgan.training import GANTrainConfig
from srgan_wgan.version import __version__
from srgan_wgan_cli._common import (
    AmpOpt,
    BackendOpt,
    CheckpointEveryOpt,
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
    fit_with_early_stopping,
    fit_with_progress,
    refuse_existing_run,
    run_app,
    setup_logging,
)

app = typer.Typer(
    name="sr",
    help="Super-resolution of faces and whole photos with conditional Wasserstein GANs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Face super-resolution."""


@app.command()
def version() -> None:
    """Print the package version."""
    console.print(f"srgan-wgan {__version__}", highlight=False)


@app.command()
def train(
    data: Annotated[Path, typer.Option("--data", help="Folder of face images (searched recursively).")],
    config: ConfigOpt = None,
    scale: Annotated[int, typer.Option(help="Upscaling factor: 4 (32->128) or 8 (16->128); 1 trains blind face "
                                            "restoration at --hr-size (face-restore).")] = 8,
    stage: Annotated[str, typer.Option(help="fidelity (L1 only) or gan (L1 + VGG + LPIPS + critic).")] = "fidelity",
    init_from: Annotated[
        Path | None, typer.Option(help="Start from released weights (folder with generator/critic.safetensors).")
    ] = None,
    run_dir: Annotated[Path, typer.Option(help="Run folder (checkpoints, logs, samples, export).")] = Path("runs/sr"),
    steps: Annotated[int, typer.Option(help="Generator steps.")] = 20000,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 16,
    hr_size: Annotated[int, typer.Option(help="HR crop size.")] = 128,
    crop_fraction: Annotated[float, typer.Option(help="Centre crop (fraction of the shorter side) before resizing.")] = 1.0,
    extra_crop_fraction: Annotated[list[float] | None, typer.Option(
        help="Also train on every face framed with this centre-crop fraction (repeatable; e.g. 0.8 and 0.64 "
             "add tighter framings, so the model sees faces at several scales).")] = None,
    num_feat: Annotated[int, typer.Option(help="Generator width.")] = 64,
    num_blocks: Annotated[int, typer.Option(help="Generator residual blocks.")] = 12,
    lr: Annotated[float, typer.Option(help="Generator learning rate.")] = 2e-4,
    lr_critic: Annotated[float, typer.Option(help="Critic learning rate (gan stage).")] = 1e-4,
    lr_schedule: Annotated[str, typer.Option(help="constant, or cosine decay from --lr-decay-start to --steps.")] = "constant",
    lr_decay_start: Annotated[int, typer.Option(help="Step where the cosine decay starts.")] = 0,
    l1: Annotated[float, typer.Option(help="L1 loss weight.")] = 1.0,
    perceptual: Annotated[float, typer.Option(help="VGG16 perceptual loss weight (gan stage).")] = 0.1,
    lpips: Annotated[float, typer.Option(help="LPIPS-vgg loss weight (gan stage).")] = 0.1,
    adv: Annotated[float, typer.Option(help="Adversarial loss weight (gan stage).")] = 0.005,
    penalty: PenaltyOpt = "gp",
    penalty_weight: PenaltyWeightOpt = None,
    n_critic: NCriticOpt = 1,
    critic_norm: CriticNormOpt = "none",
    critic_channels: CriticChannelsOpt = 64,
    critic_max_channels: CriticMaxChannelsOpt = 512,
    penalty_every: PenaltyEveryOpt = 1,
    amp: AmpOpt = "auto",
    device: DeviceOpt = "auto",
    seed: TrainSeedOpt = 0,
    deterministic: DeterministicOpt = False,
    cache_dir: Annotated[Path | None, typer.Option(help="Cache decoded HR crops here.")] = None,
    degrade: Annotated[bool, typer.Option(help="Light random blur/noise/JPEG on the LR side.")] = False,
    pipeline: Annotated[bool, typer.Option(help="The full random degradation pipeline on the LR side (Real-ESRGAN / "
                                                "GFPGAN: blur, a random resizer and factor, noise, JPEG, a second "
                                                "pass); always on with --scale 1.")] = False,
    pipeline_preset: Annotated[str, typer.Option(help="With --pipeline: realesrgan (Real-ESRGAN's ranges) or light "
                                                      "(blur sigma <= 1.5, extra downscale <= 2x, JPEG 40-95).")
                               ] = "realesrgan",
    clean_fraction: Annotated[float, typer.Option(help="With --pipeline: this share of the samples gets clean LR "
                                                       "(a random resizer only), so that the model keeps its "
                                                       "fidelity on clean input as well.")] = 0.0,
    random_kernel: Annotated[bool, typer.Option(help="Clean LR made by a resizer drawn at random per face (PIL, "
                                                     "OpenCV, torch: bicubic, bilinear, area, Lanczos), so that a "
                                                     "fixed-scale model works on LR from any of them.")] = False,
    task: Annotated[str, typer.Option(help="face (face SR, or restoration with --scale 1), or photo (whole-photo "
                                           "SR on random patches of a folder of photos).")] = "face",
    arch: Annotated[str, typer.Option(help="Photo network (--task photo): compact (SRVGG-compact, convolutions at "
                                           "LR size) or srresnet.")] = "compact",
    num_conv: Annotated[int, typer.Option(help="Body convolutions of the compact photo network.")] = 16,
    patches_per_photo: Annotated[int, typer.Option(help="Random patches per photo per epoch (--task photo).")] = 16,
    sample_every: SampleEveryOpt = 500,
    checkpoint_every: CheckpointEveryOpt = 500,
    resume: ResumeOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Train an SR generator (faces or whole photos): the fidelity stage (L1), then the GAN stage from it
    (--init-from)."""
    from srgan_wgan.apps.face_sr import SRExperiment, SRLossWeights
    from srgan_wgan.data.degradations import DegradationConfig
    from srgan_wgan.data.faces import Degradations

    setup_logging(verbose)
    gan = stage == "gan"
    cfg = GANTrainConfig(
        steps=steps, batch_size=batch_size, n_critic=n_critic if gan else 0, penalty=penalty,
        penalty_weight=penalty_weight, penalty_every=penalty_every, adv_weight=adv, lr_g=lr, lr_d=lr_critic,
        lr_schedule=lr_schedule, lr_decay_start=lr_decay_start, betas=(0.0, 0.9) if gan else (0.9, 0.99),
        ema_decay=0.999, amp=amp, device=device, seed=seed, deterministic=deterministic,
        sample_every=sample_every, checkpoint_every=checkpoint_every,
    )
    weights = SRLossWeights(l1=l1, perceptual=perceptual if gan else 0.0, lpips=lpips if gan else 0.0)
    if task not in ("face", "photo"):
        raise UserError(f"--task must be face or photo, got {task!r}")
    use_pipeline = pipeline or scale == 1
    if clean_fraction and not use_pipeline:
        raise UserError("--clean-fraction goes with --pipeline (or --scale 1)")
    if not 0.0 <= clean_fraction <= 1.0:
        raise UserError(f"--clean-fraction must be in [0, 1], got {clean_fraction}")
    from dataclasses import replace

    from srgan_wgan.data.degradations import PIPELINE_PRESETS

    if pipeline_preset not in PIPELINE_PRESETS:
        raise UserError(f"unknown --pipeline-preset {pipeline_preset!r}; choose from {', '.join(PIPELINE_PRESETS)}")
    if pipeline_preset != "realesrgan" and not use_pipeline:
        raise UserError("--pipeline-preset goes with --pipeline (or --scale 1)")
    pipe = replace(PIPELINE_PRESETS[pipeline_preset](), clean_prob=clean_fraction) if use_pipeline else None
    if task == "photo":
        from srgan_wgan_cli._photo import train_photo

        train_photo(data, run_dir, resume, scale, stage, hr_size, arch, num_feat, num_conv, num_blocks,
                     patches_per_photo, critic_channels, critic_max_channels, critic_norm, weights, init_from,
                     cache_dir, pipe, cfg, face_only=bool(degrade or random_kernel or extra_crop_fraction
                                                               or crop_fraction != 1.0))
        return
    exp = SRExperiment(data=str(data), scale=scale, stage=stage, hr_size=hr_size, crop_fraction=crop_fraction,
                       extra_crop_fractions=tuple(extra_crop_fraction or ()), num_feat=num_feat,
                       num_blocks=num_blocks, critic_channels=critic_channels,
                       critic_max_channels=critic_max_channels, critic_norm=critic_norm, losses=weights,
                       init_from=str(init_from) if init_from else None,
                       cache_dir=str(cache_dir) if cache_dir else None,
                       degradations=Degradations() if degrade else None,
                       pipeline=(pipe if pipe is not None else
                                 DegradationConfig.random_kernel() if random_kernel else None), train=cfg)
    if random_kernel and use_pipeline:
        raise UserError("--random-kernel is for fixed-scale models without --pipeline (the pipeline draws its "
                        "resizers at random already)")
    exp.validate()
    if gan and init_from is None and not resume:
        console.print("note: the gan stage usually starts from a fidelity model (--init-from)")
    refuse_existing_run(run_dir, resume)
    train_crops, val_crops = exp.load_data()
    framings = 1 + len(exp.extra_crop_fractions)
    console.print(f"{train_crops.images.shape[0] // framings} training"
                  + (f" (x {framings} framings)" if framings > 1 else "")
                  + f" / {0 if val_crops is None else val_crops.images.shape[0]} validation faces under {data}")
    trainer = exp.build(run_dir, data=(train_crops, val_crops))
    fit_with_progress(trainer, cfg.steps, f"sr train x{scale} {stage}", resume)
    out = trainer.export()
    console.print(f"release weights: {out}")


@app.command()
def finetune(
    source: Annotated[str, typer.Option("--from", help="Model name (face-x4, face-x8, face-restore-fidelity, "
                                                       "photo-x4, ...) or weights folder.")],
    data: Annotated[Path, typer.Option("--data", help="Your face images, or photos for a photo model (searched "
                                                      "recursively; 10 % held out).")],
    steps: Annotated[int, typer.Option(help="Maximum generator steps.")] = 2000,
    run_dir: Annotated[Path, typer.Option(help="Run folder; the best weights go to RUN_DIR/best.")] = Path(
        "runs/sr-finetune"),
    stage: Annotated[str | None, typer.Option(help="gan or fidelity (default: the source model's stage).")] = None,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 16,
    eval_every: Annotated[int, typer.Option(help="Validation LPIPS every N steps.")] = 200,
    patience: Annotated[int, typer.Option(help="Stop after N evaluations without improvement.")] = 5,
    lr_recipe: Annotated[str | None, typer.Option(help="How the LR is made: clean, random-kernel or pipeline "
                                                       "(default: what the source weights were trained on).",
                                                  show_default=False)] = None,
    amp: AmpOpt = "auto",
    device: DeviceOpt = "auto",
    seed: TrainSeedOpt = 0,
    resume: ResumeOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Fine-tune shipped SR weights (generator and critic) on your faces or photos, with early stopping on LPIPS."""
    from srgan_wgan.apps.face_sr import finetune_experiment
    from srgan_wgan.apps.face_sr.inference import resolve_model_path
    from srgan_wgan.apps.photo_sr import is_photo_release
    from srgan_wgan.training.sr_eval import validation_recipes

    setup_logging(verbose)
    if source.startswith("photo-") or (Path(source).exists() and is_photo_release(source)):
        from srgan_wgan_cli._photo import finetune_photo

        finetune_photo(source, data, steps, run_dir, stage, batch_size, eval_every, patience, lr_recipe, amp, device,
                       seed, resume)
        return
    path = resolve_model_path(source)
    exp = finetune_experiment(path.parent, str(data), steps, stage, lr_recipe, batch_size=batch_size, amp=amp,
                              device=device, seed=seed, sample_every=eval_every, checkpoint_every=eval_every)
    exp.validate()
    refuse_existing_run(run_dir, resume)
    train_crops, val_crops = exp.load_data()
    if val_crops is None:
        raise UserError(f"{data}: too few images to hold out a validation split (need about 10 or more)")
    console.print(f"fine-tuning {path} (x{exp.scale}, {exp.stage}) on {train_crops.images.shape[0]} faces, "
                  f"validating on {val_crops.images.shape[0]}")
    trainer = exp.build(run_dir, data=(train_crops, val_crops))
    fit_with_early_stopping(trainer, val_crops, exp.scale, run_dir / "best", eval_every, patience,
                            validation_recipes(exp), f"sr finetune x{exp.scale}", resume)


@app.command()
def export(
    run_dir: Annotated[Path | None, typer.Option(help="Run folder with resume.pt and experiment.json.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder for the release weights.")] = None,
    onnx: OnnxOutOpt = None,
    model: Annotated[str | None, typer.Option(help="With --onnx: a shipped model name (face-x4, ...) or release "
                                                   "path to convert, instead of --run-dir.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing weights.")] = False,
) -> None:
    """Write release weights (EMA generator, raw generator, critic) from a run's latest checkpoint; with --onnx also
    (or, with --model, only) the generator as ONNX."""
    from srgan_wgan.apps.face_sr import export_run
    from srgan_wgan.apps.face_sr.inference import resolve_model_path
    from srgan_wgan.io.images import refuse_overwrite

    if (run_dir is None) == (model is None):
        raise UserError("give --run-dir (export a training run) or --model with --onnx (convert a release)")
    if model is not None:
        if onnx is None or out is not None:
            raise UserError("--model converts a release to ONNX: give --onnx FILE (and no --out)")
        export_onnx_file(resolve_model_path(model), onnx, force, "SRResNet")
        return
    if out is None:
        raise UserError("--run-dir needs --out FOLDER for the release weights")
    refuse_overwrite(out / "generator.safetensors", force)
    kind = _run_kind(run_dir)
    if kind == "PhotoExperiment":
        from srgan_wgan.apps.photo_sr import export_photo_run

        step = export_photo_run(run_dir, out)
    else:
        step = export_run(run_dir, out)
    console.print(f"exported step {step} of {run_dir} to {out}")
    if onnx is not None:
        from srgan_wgan.io.weights import read_weights_metadata

        arch = read_weights_metadata(out / "generator.safetensors")["arch"]
        export_onnx_file(out / "generator.safetensors", onnx, force, arch)


def _run_kind(run_dir: Path) -> str | None:
    """The experiment class a run folder's ``experiment.json`` names (None when absent or unreadable)."""
    try:
        return json.loads((run_dir / "experiment.json").read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        return None


@app.command("eval")
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="Folder of face images (searched recursively).")],
    model: Annotated[str, typer.Option(help="Model name (face-x8-fidelity, ...) or weights file/folder.")],
    crop_fraction: Annotated[float, typer.Option(help="Centre crop fraction before resizing to --hr-size "
                                                      "(LFW 250x250: 0.512 = the centre 128x128).")] = 1.0,
    hr_size: Annotated[int | None, typer.Option(help="HR size the metrics are computed at (default: the size "
                                                     "the model was trained at).", show_default=False)] = None,
    degradation: Annotated[list[str] | None, typer.Option(
        help="LR recipe, repeatable: clean (kornia antialiased bicubic), pil-bicubic, opencv-area, realistic[:SEED] "
             "(random blur, resizer, noise, JPEG; seed 0 by default). --task photo: by default the given LR of "
             "HR/ + LR/ folders; a recipe makes every LR from the HR.", show_default="clean; photo: given LR")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the metrics here as JSON.")] = None,
    device: DeviceOpt = "auto",
    limit: Annotated[int | None, typer.Option(help="Evaluate only the first N images.")] = None,
    split: Annotated[str, typer.Option(help="all, or val / train: the file-hash split `sr train` makes of a "
                                            "training folder (tune on val, report on a test folder).")] = "all",
    val_fraction: Annotated[float, typer.Option(help="Validation fraction of that split (sr train: 0.05, "
                                                     "sr finetune: 0.1).")] = 0.05,
    cache_dir: Annotated[Path | None, typer.Option(help="Cache decoded HR crops here.")] = None,
    identity: Annotated[bool | None, typer.Option("--identity/--no-identity", show_default=False,
                                                  help="Face-identity distance (dlib embedding; needs the "
                                                       "default dependencies dlib-bin and face-recognition-models). Default: when installed.")] = None,
    fp32: Fp32Opt = False,
    task: Annotated[str, typer.Option(help="face, or photo: whole images (HR/ + LR/ pairs such as Set5/Set14 "
                                           "are scored on their given LR), border shaved by the scale.")] = "face",
) -> None:
    """PSNR (RGB, Y), SSIM (Y), LPIPS-alex and (optionally) face-identity distance of a model and of bicubic."""
    from rich.table import Table

    from srgan_wgan.apps.face_sr.evaluate import RESTORE_FACTOR, evaluate_folder

    setup_logging()
    if task not in ("face", "photo"):
        raise UserError(f"--task must be face or photo, got {task!r}")
    if task == "photo":
        from srgan_wgan_cli._photo import eval_photo

        eval_photo(data, model, device, fp32, limit, json_out, split, val_fraction,
                   tuple(degradation) if degradation else None)
        return
    out = evaluate_folder(data, model, crop_fraction, hr_size, device, limit, split, val_fraction, cache_dir,
                          identity, fp32, tuple(degradation or ("clean",)))
    scale, with_id = out["scale"], "identity_dist" in out["model"]
    what = f"x{scale}" if scale > 1 else "restoration"
    table = Table(title=f"{what} on {out['images']} faces from {data} ({out['hr_size']}px HR, border "
                        f"{scale if scale > 1 else RESTORE_FACTOR} shaved)")
    cols = ["LR recipe", "method", "PSNR RGB", "PSNR Y", "SSIM Y", "LPIPS-alex", "colour dE"] + (
        ["ID dist", "ID match"] if with_id else [])
    for col in cols:
        table.add_column(col)
    for spec, res in out["degradations"].items():
        for name in ("model", "bicubic"):
            r = res[name]
            label = out["model_path"] if name == "model" else ("bicubic" if scale > 1 else "input (no model)")
            row = [spec, label, f"{r['psnr_rgb']:.2f}", f"{r['psnr_y']:.2f}", f"{r['ssim_y']:.4f}",
                   f"{r['lpips_alex']:.4f}", f"{r['colour_de']:.2f}"]
            if with_id:
                row += [f"{r['identity_dist']:.4f}", f"{100 * r['identity_match']:.1f} %"]
            table.add_row(*row)
    console.print(table)
    if out["identity"]:
        console.print(out["identity"])
    if json_out:
        json_out.write_text(json.dumps({k: v for k, v in out.items() if k != "images"}, indent=1))


@app.command()
def upscale(
    inputs: Annotated[list[Path], typer.Argument(help="Image files or folders.", show_default=False)],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output file (one input) or folder; "
                                                "default: next to each input with a _x<scale> suffix.")] = None,
    scale: Annotated[int | None, typer.Option(help="4 or 8 (picks face-x4 / face-x8 unless --model is given).")] = None,
    model: Annotated[str | None, typer.Option(help="Model name (face-x4, face-x8, face-x4-fidelity, ...) or path.")] = None,
    aligned: Annotated[bool, typer.Option(help="Inputs are face crops: super-resolve the whole image.")] = False,
    tile: Annotated[int, typer.Option(help="LR tile size for --aligned inputs (0 = no tiling).")] = 256,
    device: DeviceOpt = "auto",
    fp32: Fp32Opt = False,
    backend: BackendOpt = "torch",
    force: Annotated[bool, typer.Option(help="Overwrite existing outputs.")] = False,
    max_pixels: Annotated[int, typer.Option(help="Refuse inputs with more pixels (decompression-bomb guard).")] = 64_000_000,
    report_path: Annotated[Path | None, typer.Option("--report", help="Write a JSON report: every face's box, "
                                                     "landmarks, size and action (restored, or skipped and why).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every face and what was done with it.")] = False,
    background: Annotated[str | None, typer.Option(help="What upscales the photo under the faces: photo-x4 (the GAN "
                                                 "model for real photos), photo-x4-fidelity (the benchmark model), "
                                                 "lanczos, or a photo SR release folder (sr train --task photo). "
                                                 "Default: photo-x4.", show_default=False)
                          ] = None,
    faces: Annotated[str | None, typer.Option(help="The model that restores a photo's faces (a name or path, as "
                                                   "--model), or off: the background alone, no face detection.",
                                              show_default=False)] = None,
) -> None:
    """Upscale photos: faces are detected, aligned, restored and pasted back; the rest is upscaled by the photo-x4
    network (or --background)."""
    from rich.markup import escape

    from srgan_wgan.data.folders import IMAGE_EXTENSIONS, scan_images
    from srgan_wgan.apps.face_sr.inference import FaceUpscaler, UpscaleReport
    from srgan_wgan.inference.background import upscale_photo
    from srgan_wgan.io.images import read_image, write_image

    setup_logging(verbose)
    if faces is not None and faces != "off":
        if model is not None and model != faces:
            raise UserError(f"--faces {faces} and --model {model} name two face models: give one")
        model = faces
    if faces == "off" and aligned:
        raise UserError("--faces off is for photos; --aligned inputs are faces that go through the face model")
    if faces == "off" and model is not None:
        raise UserError("--faces off uses no face model: drop --model")
    if scale is None and model is None and faces != "off":
        scale = 4
    files: list[tuple[Path, Path | None]] = []  # (input, folder root if it came from a folder)
    for item in inputs:
        if item.is_dir():
            found = scan_images(item)
            if not found:
                raise UserError(f"{item}: no images found in this folder")
            files += [(f, item) for f in found]
        elif item.exists():
            files.append((item, None))
        else:
            raise UserError(f"{item}: no such file or folder")
    single = len(files) == 1 and files[0][1] is None
    if output is not None and not single and output.suffix.lower() in IMAGE_EXTENSIONS and not output.is_dir():
        raise UserError(f"-o {output}: several inputs need an output folder, not a file")
    if aligned and background not in (None, "lanczos"):
        raise UserError("--background is for photos; --aligned inputs go through the face model whole")
    background = "lanczos" if aligned else background or "photo-x4"
    bg = None
    if background != "lanczos":
        from srgan_wgan.apps.photo_sr import PhotoUpscaler

        bg = PhotoUpscaler(background, device=device, fp32=fp32)
    up = None if faces == "off" else FaceUpscaler(model=model, scale=scale, device=device, fp32=fp32, tile=tile,
                                                    backend=backend, background=bg)
    out_scale = up.scale if up is not None else scale or (bg.scale if bg is not None else 4)
    failed = 0
    reports: list[dict[str, object]] = []
    for path, root in files:
        if single and output is not None and not output.is_dir():
            dst = output
        else:
            name = f"{path.stem}_x{out_scale}{path.suffix}"
            if output is None:
                dst = path.with_name(name)
            else:
                rel = path.parent.relative_to(root) if root is not None else Path()
                dst = output / rel / name
                dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            image = read_image(path, max_pixels=max_pixels)
            if up is None:  # --faces off: the background alone, no face model loaded
                result = upscale_photo(image, out_scale, bg, integer=True)
                report = UpscaleReport(scale=out_scale, model=background, faces_off=True)
            else:
                result, report = up.upscale(image, aligned=aligned, integer=True)
            write_image(dst, result, force=force)
        except UserError as exc:
            failed += 1
            msg = str(exc)
            console.print(f"[bold red]error:[/] {escape(msg if str(path) in msg else f'{path}: {msg}')}", highlight=False,
                          soft_wrap=True)
            continue
        console.print(f"{path} -> {dst}: {report.summary()}", highlight=False, soft_wrap=True)
        if verbose:
            for i, fa in enumerate(report.faces, 1):
                why = f" ({fa.reason})" if fa.reason else ""
                console.print(f"  face {i}: box {list(fa.face.box)}, {fa.face_px} px, {fa.action}{why}", highlight=False,
                              soft_wrap=True)
        reports.append({"input": str(path), "output": str(dst), **report.as_dict()})
    if report_path is not None:
        from srgan_wgan.io.atomic import atomic_write

        report_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(report_path) as tmp:
            tmp.write_text(json.dumps({"files": reports}, indent=1) + "\n")
    if failed:
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    run_app(app)


if __name__ == "__main__":
    main()
