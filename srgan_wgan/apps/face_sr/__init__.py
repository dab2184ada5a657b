"""Face super-resolution and blind face restoration over the shared core.

``experiment`` (training runs, the SR / restoration task, fine-tuning), ``evaluate`` (metrics against bicubic,
early stopping) and ``inference`` (:class:`FaceUpscaler`: tiling, faces in photos, alpha, 16-bit).
"""

from srgan_wgan.apps.face_sr.evaluate import EarlyStopping, evaluate_sr
from srgan_wgan.apps.face_sr.experiment import (
    STAGES,
    SRExperiment,
    SRLossWeights,
    SRTask,
    export_run,
    finetune_experiment,
    init_models,
)
from srgan_wgan.apps.face_sr.inference import (
    BACKENDS,
    DEFAULT_MODEL,
    FACE_MODELS,
    FaceUpscaler,
    UpscaleReport,
    resolve_model_path,
    upscale_background,
)

__all__ = [
    "BACKENDS", "DEFAULT_MODEL", "FACE_MODELS", "STAGES", "EarlyStopping", "FaceUpscaler", "SRExperiment",
    "SRLossWeights", "SRTask", "UpscaleReport", "evaluate_sr", "export_run", "finetune_experiment", "init_models",
    "resolve_model_path", "upscale_background",
]
