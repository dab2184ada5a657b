"""The whole-photo branches of ``sr``: ``sr train --task photo``, ``sr finetune --from PHOTO_RELEASE`` and
``sr eval --task photo`` (the face commands stay in :mod:`srgan_wgan_cli.sr`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from srgan_wgan.errors import UserError
from srgan_wgan.training import GANTrainConfig
from srgan_wgan_cli._common import console, fit_with_early_stopping, fit_with_progress, refuse_existing_run

if TYPE_CHECKING:
    from srgan_wgan.data.degradations import DegradationConfig


def train_photo(data: Path, run_dir: Path, resume: bool, scale: int, stage: str, hr_size: int, arch: str,
                 num_feat: int, num_conv: int, num_blocks: int, patches: int, critic_channels: int | None,
                 critic_max_channels: int, critic_norm: str, weights: object, init_from: Path | None,
                 cache_dir: Path | None, pipeline: DegradationConfig | None, cfg: GANTrainConfig,
                 face_only: bool) -> None:
    """``sr train --task photo``: a whole-photo SR run."""
    from srgan_wgan.apps.photo_sr import PhotoExperiment

    if face_only:
        raise UserError("--degrade, --random-kernel, --crop-fraction and --extra-crop-fraction are face options; "
                        "--task photo takes --pipeline for degraded LR")
    exp = PhotoExperiment(data=str(data), scale=scale, stage=stage, hr_size=hr_size, arch=arch, num_feat=num_feat,
                          num_conv=num_conv, num_blocks=num_blocks, patches_per_photo=patches,
                          critic_channels=critic_channels or 64, critic_max_channels=critic_max_channels,
                          critic_norm=critic_norm, losses=weights,  # type: ignore[arg-type]
                          init_from=str(init_from) if init_from else None,
                          cache_dir=str(cache_dir) if cache_dir else None,
                          pipeline=pipeline, train=cfg)
    exp.validate()
    refuse_existing_run(run_dir, resume)
    train_photos, val_photos = exp.load_data()
    console.print(f"{len(train_photos.images)} training / {0 if val_photos is None else len(val_photos.images)} "
                  f"validation photos under {data}" + (f" ({len(train_photos.skipped)} skipped)"
                                                      if train_photos.skipped else ""))
    trainer = exp.build(run_dir, data=(train_photos, val_photos))
    fit_with_progress(trainer, cfg.steps, f"sr train photo x{scale} {stage}", resume)
    console.print(f"release weights: {trainer.export()}")


def finetune_photo(source: str, data: Path, steps: int, run_dir: Path, stage: str | None, batch_size: int,
                   eval_every: int, patience: int, lr_recipe: str | None, amp: str, device: str, seed: int,
                   resume: bool) -> None:
    """``sr finetune --from PHOTO_RELEASE``: continue a photo SR model on the user's photos, keeping the weights
    with the best validation LPIPS (mean over the LR recipes the model was trained on)."""
    from srgan_wgan.apps.photo_sr import centre_patches, photo_finetune_experiment, resolve_photo_model
    from srgan_wgan.training.sr_eval import validation_recipes

    path = resolve_photo_model(source)
    exp = photo_finetune_experiment(path.parent, str(data), steps, stage, lr_recipe, batch_size=batch_size, amp=amp,
                                    device=device, seed=seed, sample_every=eval_every, checkpoint_every=eval_every)
    exp.validate()
    refuse_existing_run(run_dir, resume)
    train_photos, val_photos = exp.load_data()
    if val_photos is None or not val_photos.images:
        raise UserError(f"{data}: too few photos to hold out a validation split (need about 10 or more)")
    console.print(f"fine-tuning {path} (photo x{exp.scale}, {exp.stage}) on {len(train_photos.images)} photos, "
                  f"validating on {len(val_photos.images)}")
    trainer = exp.build(run_dir, data=(train_photos, val_photos))
    fit_with_early_stopping(trainer, centre_patches(val_photos, exp.hr_size), exp.scale, run_dir / "best", eval_every,
                            patience, validation_recipes(exp), f"sr finetune photo x{exp.scale}", resume)


def eval_photo(data: Path, model: str, device: str, fp32: bool, limit: int | None, json_out: Path | None,
               split: str = "all", val_fraction: float = 0.05, degradations: tuple[str, ...] | None = None) -> None:
    """``sr eval --task photo``: means over the folder, model and bicubic."""
    from rich.table import Table

    from srgan_wgan.apps.photo_sr import resolve_photo_model
    from srgan_wgan.apps.photo_sr.evaluate import evaluate_photo_folder
    from srgan_wgan.training.sr_eval import parse_degradation

    for recipe in degradations or ():
        parse_degradation(recipe)  # every typo is a one-line error before anything is scored
    weights = resolve_photo_model(model)
    recipes = degradations or (None,)  # None: given LR where the folder has pairs, else the training recipe
    net = weights
    if len(recipes) > 1:  # load once and score every recipe on the same module
        from srgan_wgan.io.weights import load_pretrained
        from srgan_wgan.utils.device import resolve_device

        net = load_pretrained(weights, device=resolve_device(device))
    results = []
    for recipe in recipes:
        out = evaluate_photo_folder(data, net, device, fp32, limit=limit, split=split, val_fraction=val_fraction,
                                    degradation=recipe)
        m = out["mean"]
        made = "clean antialiased bicubic" if out["degradation"] == "clean" else out["degradation"]
        lr = "given LR" if out["given_lr"] else f"LR made by {made}"
        part = "" if split == "all" else f" ({split} split)"
        table = Table(title=f"x{out['scale']} on {out['images']} images from {data}{part} ({lr}, border "
                            f"{out['scale']} shaved, {out['precision']})")
        for col in ("method", "PSNR Y", "SSIM Y", "LPIPS-alex"):
            table.add_column(col)
        for name, label in (("model", str(weights)), ("bicubic", "bicubic (PIL)")):
            table.add_row(label, f"{m[name + '_psnr_y']:.2f}", f"{m[name + '_ssim_y']:.4f}",
                          f"{m[name + '_lpips']:.4f}")
        console.print(table)
        results.append(out)
    if json_out:
        # one recipe: its result; several: {"degradations": {recipe: result}} as the face path writes them
        doc = results[0] if len(results) == 1 else {"degradations": {r["degradation"]: r for r in results}}
        json_out.write_text(json.dumps(doc, indent=1))
