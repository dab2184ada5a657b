"""What every command shares: one-line errors (exit 2), rich logging and the training progress bar."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from srgan_wgan.errors import UserError
from srgan_wgan.utils.distributed import is_main_process

# Off a terminal (logs, CI, pipes) rich would wrap at 80 columns and cut table cells (model paths, style names):
# use a wide fixed width there; $COLUMNS still wins when set. Under torchrun only rank 0 prints.
console = Console(stderr=True, width=None if sys.stderr.isatty() or "COLUMNS" in os.environ else 160,
                  quiet=not is_main_process())
EXIT_USER_ERROR = 2
F = TypeVar("F", bound=Callable[..., Any])


def setup_logging(verbose: bool = False) -> None:
    """Route the library's ``srgan_wgan`` logger through rich (warnings by default, info with ``-v``)."""
    logger = logging.getLogger("srgan_wgan")
    logger.handlers.clear()
    logger.addHandler(RichHandler(console=console, show_path=False, show_time=False))
    level = logging.INFO if verbose else logging.WARNING
    logger.setLevel(level if is_main_process() else logging.ERROR)  # torchrun: the other ranks say only errors
    logger.propagate = False


def fail(message: str, code: int = EXIT_USER_ERROR) -> typer.Exit:
    """Print ``error: message`` on one line and return the exit to raise."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def run_app(app: typer.Typer) -> None:
    """Run a Typer app, turning :class:`UserError` (and Ctrl-C) into one line instead of a traceback."""
    debug = "--debug" in sys.argv
    if debug:
        sys.argv.remove("--debug")
    try:
        rv = app(standalone_mode=False)
        if isinstance(rv, int) and rv:  # click returns typer.Exit codes instead of raising them here
            raise SystemExit(rv)
    except UserError as exc:
        if debug:
            raise
        raise SystemExit(fail(str(exc)).exit_code) from None
    except KeyboardInterrupt:
        console.print("interrupted")
        raise SystemExit(130) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except Exception as exc:  # click usage errors (typer vendors click, so match by duck type)
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        if type(exc).__name__ == "Abort":
            raise SystemExit(1) from None
        raise


# Options that every training command shares (same name, help and meaning); defaults stay at each command.
CRITIC_PANEL = "Critic and penalty"
EXPERIMENTAL_PANEL = "Experimental (no shipped recipe uses these)"


def _penalty_weights() -> str:
    from srgan_wgan.losses.penalties import PENALTY_REGISTRY

    return ", ".join(f"{s.name} {s.default_weight:g}" for s in PENALTY_REGISTRY.values() if s.fn is not None)


def _critic_options() -> dict[str, Any]:
    """The critic and penalty options of ``sr train`` and ``paint train``, declared once (help read from the
    penalty registry and the critic norms)."""
    from srgan_wgan.archs import CRITIC_NORMS
    from srgan_wgan.losses.penalties import penalty_help

    panel = {"rich_help_panel": CRITIC_PANEL}
    return {
        "penalty": Annotated[str, typer.Option(help=f"Critic regulariser: {penalty_help()}.", **panel)],
        "penalty_weight": Annotated[float | None, typer.Option(
            help=f"Penalty weight (default: the penalty's own: {_penalty_weights()}).", show_default=False, **panel)],
        "penalty_every": Annotated[int, typer.Option(
            help="Lazy regularisation: apply the penalty every N critic steps (scaled by N).", **panel)],
        "n_critic": Annotated[int, typer.Option(help="Critic steps per generator step.", **panel)],
        "critic_norm": Annotated[str, typer.Option(
            help=f"Critic normalisation: {', '.join(CRITIC_NORMS)} (batch only with --penalty clip: BatchNorm couples "
                 "the samples that a per-sample penalty needs apart).", **panel)],
        "critic_channels": Annotated[int | None, typer.Option(
            help="Critic width at full resolution, doubling per level (paint default: --base-channels).", **panel)],
        "critic_max_channels": Annotated[int, typer.Option(help="Cap on the critic's width.", **panel)],
    }


_CRITIC = _critic_options()
PenaltyOpt = _CRITIC["penalty"]
PenaltyWeightOpt = _CRITIC["penalty_weight"]
PenaltyEveryOpt = _CRITIC["penalty_every"]
NCriticOpt = _CRITIC["n_critic"]
CriticNormOpt = _CRITIC["critic_norm"]
CriticChannelsOpt = _CRITIC["critic_channels"]
CriticMaxChannelsOpt = _CRITIC["critic_max_channels"]
CRITIC_OPTIONS: tuple[str, ...] = tuple(_CRITIC)
"""The option names every training command declares through these shared types (tests check it)."""

DeterministicOpt = Annotated[bool, typer.Option(help="Deterministic CUDA kernels (cuDNN/cuBLAS, no TF32): "
                                                     "repeatable GPU runs, slower.")]
SampleEveryOpt = Annotated[int, typer.Option(help="Write a sample grid every N steps.")]
CheckpointEveryOpt = Annotated[int, typer.Option(help="Write resume.pt every N steps.")]
ResumeOpt = Annotated[bool, typer.Option(help="Continue from the run folder's checkpoint.")]
DeviceOpt = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")]
AmpOpt = Annotated[str, typer.Option(help="Mixed precision: auto (bf16 on CUDA and on CPUs with AMX / "
                                          "AVX512-BF16, fp32 on other CPUs), bf16, fp16 (CUDA only), off.")]
Fp32Opt = Annotated[bool, typer.Option("--fp32", help="Run the network in fp32 (default: bf16 where the CPU or GPU "
                                                     "computes it natively).")]
BackendOpt = Annotated[str, typer.Option(help="torch, or onnx: onnxruntime on CPU (fp32; a release is exported to "
                                                "ONNX once and cached; `pip install \"srgan-wgan[onnx]\"`).")]
OnnxOutOpt = Annotated[Path | None, typer.Option("--onnx", help="Write the generator as ONNX to this file (dynamic "
                                                                "batch and, for SR models, height and width).")]


def export_onnx_file(weights: Path, out: Path, force: bool, arch: str) -> None:
    """``sr export --onnx`` / ``paint export --onnx``: one release's generator (of ``arch``) to ``out``."""
    from srgan_wgan.io.images import refuse_overwrite
    from srgan_wgan.io.onnx import INSTALL_HINT, export_onnx
    from srgan_wgan.io.weights import load_pretrained

    model = load_pretrained(weights, expected_arch=arch)

    refuse_overwrite(out, force)
    if not out.parent.is_dir():
        raise UserError(f"{out}: output folder {out.parent} does not exist")
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise UserError(INSTALL_HINT.replace("onnxruntime", "onnx")) from None
    export_onnx(model, out)
    console.print(f"wrote {out} (ONNX, from {weights})")


def load_recipe(ctx: typer.Context, value: Path | None) -> Path | None:
    """``--config FILE``: a TOML recipe whose keys are the command's own options (``scale = 4``,
    ``extra-crop-fraction = [0.8, 0.64]``) become its defaults, so flags given on the command line win. An optional
    ``[recipe]`` table (name, description, notes) is for people and is not read."""
    import tomllib

    if value is None or ctx.resilient_parsing:
        return value
    try:
        table = tomllib.loads(Path(value).read_text())
    except FileNotFoundError:
        raise UserError(f"--config {value}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"--config {value}: not a valid TOML file ({exc})") from None
    meta = table.pop("recipe", {})
    options = {p.name: p for p in ctx.command.params if p.name and p.name != "config"}
    misplaced = sorted(k for k in meta if k.replace("-", "_") in options)
    if misplaced:
        raise UserError(f"--config {value}: {', '.join(misplaced)} sit(s) inside the [recipe] table: put the options "
                        "before it (a TOML table runs to the next one)")
    settings = {k.replace("-", "_"): v for k, v in table.items()}
    unknown = sorted(k for k in settings if k not in options)
    if unknown:
        raise UserError(f"--config {value}: {', '.join(unknown)} is not an option of `{ctx.command_path}` "
                        "(keys are the command's options, e.g. scale = 4)")
    ctx.default_map = {**(ctx.default_map or {}), **settings}
    return value


ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", callback=load_recipe, is_eager=True,
    help="A recipe file (TOML; keys are this command's options, e.g. configs/face-x4.toml); flags given here "
         "override it.")]
TrainSeedOpt = Annotated[int, typer.Option(help="Seed; one seed makes a CPU run bit-reproducible.")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Log details.")]


def refuse_existing_run(run_dir: Path, resume: bool) -> None:
    """Never train over an existing run by accident: it is continued only with ``--resume``."""
    from srgan_wgan.training.checkpoint import RESUME_FILE

    if (run_dir / RESUME_FILE).exists() and not resume:
        raise UserError(f"{run_dir} already holds a training run: pass --resume to continue it or choose another --run-dir")


def fit_with_progress(trainer: Any, total: int, label: str, resume: bool) -> None:
    """Run ``trainer.fit`` under a :class:`TrainProgress` bar."""
    with TrainProgress(total, trainer.step, label) as bar:
        trainer.callback = bar
        trainer.fit(resume=resume)


def fit_with_early_stopping(trainer: Any, val: Any, scale: int, out_dir: Path, every: int, patience: int,
                            degradations: tuple[str, ...], label: str, resume: bool) -> None:
    """``sr finetune``: run ``trainer.fit`` under a progress bar, scoring validation LPIPS every ``every`` steps
    (:class:`~srgan_wgan.training.sr_eval.EarlyStopping`) and keeping the best weights in ``out_dir``."""
    from srgan_wgan.training.sr_eval import EarlyStopping

    with TrainProgress(trainer.config.steps, trainer.step, label) as bar:
        stopper = EarlyStopping(trainer, val, scale, out_dir, every=every, patience=patience, inner=bar,
                                degradations=degradations)
        console.print(f"validation LPIPS-alex before fine-tuning: {stopper.score():.4f}")
        trainer.callback = stopper
        trainer.fit(resume=resume)
    console.print(f"best validation LPIPS-alex {stopper.best:.4f}; weights: {out_dir}")


class TrainProgress:
    """A rich progress bar for :class:`~srgan_wgan.training.GANTrainer` (it/s, ETA, critic loss)."""

    def __init__(self, total: int, start: int = 0, description: str = "training") -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[loss]}"),
            console=console,
            transient=False,
        )
        self.task = self.progress.add_task(description, total=total, completed=start, rate="", loss="")

    def __enter__(self) -> TrainProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, step: int, total: int, metrics: dict[str, float]) -> None:
        speed = self.progress.tasks[0].speed
        loss = metrics.get("critic/loss_penalised")
        text = f"critic loss / W est. (penalised) {loss:+.3f}" if loss is not None else ""
        if loss is None and "gen/total" in metrics:
            text = f"G loss {metrics['gen/total']:.4f}"
        self.progress.update(
            self.task, completed=step, rate=f"{speed:.2f} it/s" if speed else "", loss=text
        )
