"""The run folder round trip shared by every application: ``experiment.json`` written when a run is built and
read back to export release weights from ``resume.pt`` (no data, no trainer), from the library or the CLI.

``experiment.json`` is ``{"version", "kind", "experiment": dataclasses.asdict(experiment), ...extra}``; the
experiment dataclass is rebuilt with :func:`srgan_wgan.utils.config_io.from_dict` (nested configs, tuples, unknown
keys refused). Face-SR run folders of earlier versions stored the experiment itself at the top level; they load too.

Fine-tuning starts from a release folder instead: :func:`read_release` reads what every application's fine-tune
builder needs from it (the generator file, its config and metadata, the critic's config).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from torch import nn

from srgan_wgan.errors import UserError, WeightsError
from srgan_wgan.archs import drop_retired_fields
from srgan_wgan.io.atomic import atomic_write
from srgan_wgan.io.weights import read_weights_metadata
from srgan_wgan.training.checkpoint import RESUME_FILE, export_release_state, load_resume_state
from srgan_wgan.utils.config_io import from_dict
from srgan_wgan.utils.distributed import is_main_process
from srgan_wgan.version import __version__

EXPERIMENT_FILE = "experiment.json"
E = TypeVar("E")
ModelBuilder = Callable[[Any, dict[str, Any]], tuple[nn.Module, nn.Module | None, dict[str, Any]]]
"""``(experiment, extra) -> (generator, critic or None, release metadata)``, freshly built (weights come later)."""


def save_experiment(run_dir: str | Path, experiment: Any, **extra: Any) -> Path:
    """Write ``run_dir/experiment.json`` atomically (rank 0 only under torchrun); ``extra`` must be JSON."""
    path = Path(run_dir) / EXPERIMENT_FILE
    if not is_main_process():
        return path
    payload = {"version": __version__, "kind": type(experiment).__name__, "experiment": asdict(experiment), **extra}
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=1, default=list))
    return path


def load_experiment(run_dir: str | Path, cls: type[E], command: str) -> tuple[E, dict[str, Any]]:
    """The experiment of a run folder and the extra fields saved with it.

    Raises:
        UserError: when the folder holds no ``experiment.json`` (named with the ``command`` that makes one).
    """
    path = Path(run_dir) / EXPERIMENT_FILE
    if not path.is_file():
        raise UserError(f"{path}: not found (is {run_dir} a `{command}` run folder?)")
    info = json.loads(path.read_text())
    if "experiment" not in info:  # face-SR run folders before version 0.2 held the experiment itself
        info = {"experiment": info}
    raw = info.pop("experiment")
    info.pop("version", None), info.pop("kind", None)
    return from_dict(cls, raw, str(path)), info


def export_run_folder(run_dir: str | Path, out_dir: str | Path, cls: type, command: str, build: ModelBuilder,
                      checkpoint: str | Path | None = None) -> int:
    """Release weights (EMA generator, raw generator, critic) from a run's ``resume.pt`` (or another checkpoint of
    the run) into ``out_dir``, rebuilding the models from ``experiment.json`` with ``build``. Returns the step."""
    exp, extra = load_experiment(run_dir, cls, command)
    ckpt = Path(checkpoint) if checkpoint is not None else Path(run_dir) / RESUME_FILE
    if not ckpt.is_file():
        raise UserError(f"{ckpt}: no checkpoint")
    G, D, meta = build(exp, extra)
    return export_release_state(load_resume_state(ckpt), G, D, meta, out_dir)


GENERATOR_FILE = "generator.safetensors"
CRITIC_FILE = "critic.safetensors"


@dataclass(frozen=True)
class ReleaseInfo:
    """What a fine-tune builder reads from a release (see :func:`read_release`)."""

    g_file: Path
    """The generator's ``.safetensors`` file."""
    config: dict[str, Any]
    """The generator's architecture config."""
    extra: dict[str, Any]
    """The generator's release metadata (scale, stage, class names, ...)."""
    critic_config: dict[str, Any]
    """The config of the ``critic.safetensors`` beside the generator (retired fields dropped); empty when absent."""


def release_generator_file(source: str | Path) -> Path:
    """The generator file of a release: ``source/generator.safetensors`` for a folder, else ``source`` itself
    (not checked to exist)."""
    source = Path(source)
    return source / GENERATOR_FILE if source.is_dir() else source


def read_release(g_file_or_folder: str | Path, arch: str, what: str) -> ReleaseInfo:
    """Read a release's generator header (checked to hold architecture ``arch``) and its critic's config.

    Args:
        g_file_or_folder: a generator ``.safetensors`` file, or the release folder holding ``generator.safetensors``.
        arch: the registered architecture name the generator must have (e.g. ``"SRResNet"``).
        what: how the error names the expected model (e.g. ``"face SR generator"``).

    Raises:
        UserError: when the generator holds another architecture ("... holds a X, not a <what>").
        WeightsError: a missing or unreadable file, or a critic saved with an option this version no longer has.
    """
    g_file = release_generator_file(g_file_or_folder)
    meta = read_weights_metadata(g_file)
    if meta["arch"] != arch:
        raise UserError(f"{g_file}: holds a {meta['arch']}, not a {what}")
    c_file = g_file.parent / CRITIC_FILE
    critic: dict[str, Any] = {}
    if c_file.is_file():
        c_meta = read_weights_metadata(c_file)
        try:
            critic = drop_retired_fields(c_meta["arch"], c_meta["config"])
        except WeightsError as exc:
            raise WeightsError(f"{c_file}: {exc}") from exc
    return ReleaseInfo(g_file=g_file, config=meta["config"], extra=meta["extra"], critic_config=critic)
