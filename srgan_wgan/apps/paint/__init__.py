"""Style-conditioned painting generation: a class-conditional WGAN over an ImageFolder of styles.

A thin layer over the shared core: :class:`~srgan_wgan.archs.CondGenerator`, a projection
:class:`~srgan_wgan.archs.ConvCritic` and :class:`~srgan_wgan.training.GANTrainer`.
``data`` (style folders, splits), ``experiment`` (training runs, fine-tuning), ``inference`` (:class:`PaintGenerator`)
and ``evaluate`` (``paint eval``).
"""

from srgan_wgan.apps.paint.data import (
    EVAL_SPLITS,
    UNCONDITIONAL_STYLE,
    VAL_SALT,
    PaintingDataset,
    eval_split,
    match_style_folders,
    normalize_style,
    split_classes,
)
from srgan_wgan.apps.paint.evaluate import evaluate_paint_models
from srgan_wgan.apps.paint.experiment import (
    RUN_INFO_FILE,
    PaintExperiment,
    PaintTask,
    export_paint_run,
    finetune_paint_experiment,
    load_release_for_finetune,
    save_run_info,
)
from srgan_wgan.apps.paint.inference import DEFAULT_PAINT_MODEL, PAINT_MODELS, PaintGenerator, truncated_normal

__all__ = [
    "DEFAULT_PAINT_MODEL", "EVAL_SPLITS", "PAINT_MODELS", "RUN_INFO_FILE", "UNCONDITIONAL_STYLE", "VAL_SALT",
    "PaintExperiment", "PaintGenerator", "PaintTask", "PaintingDataset", "eval_split", "evaluate_paint_models",
    "export_paint_run", "finetune_paint_experiment", "load_release_for_finetune", "match_style_folders",
    "normalize_style", "save_run_info", "split_classes", "truncated_normal",
]
