"""``paint``: train class-conditional WGANs on folders of paintings (one sub-folder per style)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from srgan_wgan.errors import UserError
from srgan_wgan.losses.penalties import PENALTIES
from srgan_wgan.training import GANTrainConfig
from srgan_wgan.training.checkpoint import RESUME_FILE
from srgan_wgan_cli._common import TrainProgress, console, run_app, setup_logging

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
    run_dir: Annotated[Path, typer.Option("--run-dir", help="Run folder (checkpoints, logs, samples, export).")] = Path(
        "runs/paint"
    ),
    steps: Annotated[int, typer.Option(help="Generator steps.")] = 20000,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 64,
    resolution: Annotated[int, typer.Option(help="Training resolution (power of two).")] = 64,
    penalty: Annotated[str, typer.Option(help=f"Critic regulariser: {', '.join(PENALTIES)}.")] = "gp",
    penalty_weight: Annotated[
        float | None, typer.Option(help="Penalty weight (default: gp/lp 10, r1 5; none for clip).")
    ] = None,
    penalty_every: Annotated[int, typer.Option(help="Lazy regularisation: penalty every k critic steps.")] = 1,
    critic_norm: Annotated[str, typer.Option(help="Critic normalisation: none, layer, group, batch (clip only).")] = "none",
    n_critic: Annotated[int, typer.Option(help="Critic steps per generator step.")] = 5,
    base_channels: Annotated[int, typer.Option(help="Width of the first critic / last generator block.")] = 64,
    amp: Annotated[str, typer.Option(help="Mixed precision: auto (bf16 on CUDA, fp32 on CPU), bf16, fp16, off.")] = "auto",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed; one seed makes a CPU run bit-reproducible.")] = 0,
    sample_every: Annotated[int, typer.Option(help="Write a sample grid every N steps.")] = 500,
    checkpoint_every: Annotated[int, typer.Option(help="Write resume.pt every N steps.")] = 500,
    resume: Annotated[bool, typer.Option(help="Continue from the run folder's checkpoint.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
) -> None:
    """Train a style-conditional WGAN (WGAN-GP by default) on DATA/<style>/*.jpg."""
    from srgan_wgan.apps.paint import PaintExperiment

    setup_logging(verbose)
    cfg = GANTrainConfig(
        steps=steps, batch_size=batch_size, n_critic=n_critic, penalty=penalty, penalty_weight=penalty_weight,
        penalty_every=penalty_every, amp=amp, device=device, seed=seed, sample_every=sample_every,
        checkpoint_every=checkpoint_every,
    )
    exp = PaintExperiment(data=str(data), resolution=resolution, critic_norm=critic_norm, base_channels=base_channels,
                          train=cfg)
    classes = exp.validate()  # config and data checks: nothing has been written yet
    if (run_dir / RESUME_FILE).exists() and not resume:
        raise UserError(f"{run_dir} already holds a training run: pass --resume to continue it or choose another --run-dir")
    console.print(f"{len(classes)} styles, {sum(len(v) for v in classes.values())} images under {data}")
    trainer = exp.build(run_dir)
    with TrainProgress(cfg.steps, trainer.step, "paint train") as bar:
        trainer.callback = bar
        trainer.fit(resume=resume)
    out = trainer.export()
    console.print(f"release weights: {out}")


def main() -> None:
    """Console-script entry point."""
    run_app(app)


if __name__ == "__main__":
    main()
